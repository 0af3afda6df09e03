# The command-line tool: help, bad input (one line, exit code 2), small runs.
set(EXPECT ${CMAKE_CURRENT_LIST_DIR}/cli_expect.sh)
set(WEATHER ${PROJECT_SOURCE_DIR}/data/clean_weather.csv)
function(clrnn_cli_test name code regex)
  add_test(NAME cli_${name} COMMAND ${EXPECT} ${code} ${regex} $<TARGET_FILE:clrnn> ${ARGN})
  set_tests_properties(cli_${name} PROPERTIES LABELS cli)
endfunction()

clrnn_cli_test(help 0 "usage: clrnn <command>" --help)
clrnn_cli_test(no_command 2 "usage: clrnn <command>")
clrnn_cli_test(unknown_command 2 "unknown command 'fly'" fly)
foreach(sub train)
  clrnn_cli_test(help_${sub} 0 "usage: clrnn ${sub}" ${sub} --help)
endforeach()
clrnn_cli_test(help_reproduce 0 "usage: clrnn reproduce" reproduce --help)
clrnn_cli_test(reproduce_toy 0 "Loss 1: 641\\.42959744438" reproduce toy)
clrnn_cli_test(reproduce_toy_trace 0 "^epoch 0 loss [0-9.e+-]+ loss_per_step [0-9.e+-]+ dWi [0-9.e+-]+ dWh [0-9.e+-]+ dWo [0-9.e+-]+$"
               reproduce toy --trace --epochs 1)
clrnn_cli_test(reproduce_weather_one_epoch 0 "Epoch loss 0: 59\\.3653054895" reproduce weather --epochs 1 --data ${WEATHER})
clrnn_cli_test(reproduce_bad_run 2 "unknown run 'spam'" reproduce spam)
clrnn_cli_test(reproduce_bad_seq_len 2 "toy sequence has 10 values" reproduce toy --seq-len 10)
clrnn_cli_test(reproduce_unknown_option 2 "unknown option '--colour'" reproduce toy --colour)

# Bad input to train: one line naming what is wrong, exit code 2.
clrnn_cli_test(missing_file 2 "cannot open '/nonexistent/x.csv'" train --data /nonexistent/x.csv --device cpu)
clrnn_cli_test(unknown_column 2 "no column named 'nope'" train --features tmax,nope --device cpu)
clrnn_cli_test(unknown_target 2 "no column named 'snow'" train --target snow --device cpu)
clrnn_cli_test(non_numeric_cell 2 "cli_bad_cell.csv:3:3: .*'abc' is not a number"
               train --data ${FIX}/cli_bad_cell.csv --features a,b --target y --seq-len 1 --device cpu)
clrnn_cli_test(ragged_row 2 "cli_ragged.csv:3: row has 3 fields, the header has 4"
               train --data ${FIX}/cli_ragged.csv --features a,b --target y --device cpu)
clrnn_cli_test(fewer_rows_than_window 2 "fewer than one window"
               train --data ${FIX}/cli_small.csv --features a,b --target y --seq-len 100 --device cpu)
clrnn_cli_test(missing_error 2 "clean_weather.csv:4140:.*empty"
               train --missing error --device cpu)
clrnn_cli_test(seq_len_zero 2 "--seq-len '0': expected a whole number from 1" train --seq-len 0)
clrnn_cli_test(hidden_zero 2 "--hidden '0': expected a whole number from 1" train --hidden 0)
clrnn_cli_test(batch_zero 2 "--batch '0': expected a whole number from 1" train --batch 0)
clrnn_cli_test(epochs_zero 2 "--epochs '0': expected a whole number from 1" train --epochs 0)
clrnn_cli_test(layers_zero 2 "--layers '3:0:1'" train --layers 3:0:1)
clrnn_cli_test(layers_mismatch 2 "data has 3 features" train --layers 2:8:1 --device cpu)
clrnn_cli_test(bad_number 2 "--lr 'fast': expected a number" train --lr fast)
clrnn_cli_test(bad_choice 2 "--missing 'guess': expected one of ffill, drop, error" train --missing guess)
clrnn_cli_test(unknown_option 2 "unknown option '--colour'" train --colour red)
clrnn_cli_test(value_missing 2 "--epochs needs a value" train --epochs)
clrnn_cli_test(batch_too_large 2 "--batch 5000 is larger than the [0-9]+ training windows"
               train --data ${FIX}/cli_small.csv --features a,b --target y --batch 5000 --device cpu)
clrnn_cli_test(bad_device 2 "--device 'tpu'" train --device tpu --epochs 1)

# Small runs that must work.
clrnn_cli_test(train_small_cpu 0 "test: [0-9]+ windows, loss .*RMSE"
               train --data ${FIX}/cli_small.csv --features a,b --target y --epochs 3 --batch 4 --device cpu)
clrnn_cli_test(train_ffill_reported 0 "306 empty cells filled forward"
               train --device cpu --epochs 1 --hidden 2 --batch 256)
# Empty target cells are masked, never filled (issue 12).
clrnn_cli_test(train_masked_targets_reported 0 "11 empty target cells left out of the loss"
               train --device cpu --epochs 1 --hidden 2 --batch 256)
# The baselines after training: the naive forecast of tmax_tomorrow is its
# value a row back (today's tmax; the figures of the old "tomorrow = today"
# line) and the ridge on the same window; a model that does not beat one
# says so in a sentence.
# The defaults must make a model of the bundled weather data that beats
# every baseline it prints (issue 12, item 8; README, "Why these defaults").
clrnn_cli_test(train_default_beats_baselines 0 "^the model beats every baseline on RMSE$"
               train --device cpu --quiet)
clrnn_cli_test(train_naive_is_today 0
               "^naive baseline: 2018 scored cells, RMSE 4\\.9875, MAE 3\\.6174 \\(the target's last known value\\)$"
               train --device cpu --quiet --epochs 1 --hidden 2)
clrnn_cli_test(train_ridge_line 0
               "^ridge baseline: 2018 scored cells, RMSE [0-9.]+, MAE [0-9.]+ \\(on the window's 21 inputs, strength [0-9.e+-]+ picked on validation\\)$"
               train --device cpu --quiet --epochs 1 --hidden 2)
clrnn_cli_test(train_does_not_beat_says_so 0
               "^the model does not beat the naive forecast: RMSE [0-9.]+ against 4\\.9875$"
               train --device cpu --quiet --epochs 1 --hidden 1 --lr 1e-6)
clrnn_cli_test(train_seasonal_naive 0
               "^seasonal naive baseline: 2018 scored cells, RMSE [0-9.]+, MAE [0-9.]+ \\(the value 365 rows a season back\\)$"
               train --device cpu --quiet --epochs 1 --hidden 2 --season 365)
clrnn_cli_test(train_ridge_too_wide 0 "^ridge baseline: none: .*ridge_max_inputs"
               train --device cpu --quiet --epochs 1 --hidden 2 --seq-len 700 --lr 1e-4)

# Models on disk (save, resume, eval, predict, export) and reports.
foreach(sub eval predict export)
  clrnn_cli_test(help_${sub} 0 "usage: clrnn ${sub}" ${sub} --help)
endforeach()
function(clrnn_script_test name label)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS ${label} SKIP_RETURN_CODE 77)
endfunction()
set(RESUME ${PROJECT_SOURCE_DIR}/tests/io/resume_test.sh)
clrnn_script_test(resume_sgd_cpu cli ${RESUME} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv cpu
                  --optimizer sgd --lr-schedule constant --clip-norm 0)
clrnn_script_test(resume_adam_cpu cli ${RESUME} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv cpu
                  --optimizer adam --lr-schedule step --step-epochs 1 --warmup 3 --clip-norm 0.5)
clrnn_script_test(plot_svg cli ${CMAKE_CURRENT_LIST_DIR}/plot_test.sh $<TARGET_FILE:clrnn>
                  ${FIX}/cli_small.csv)
clrnn_script_test(model_files cli ${PROJECT_SOURCE_DIR}/tests/io/model_files_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv)
clrnn_script_test(progress_terminal_only cli ${CMAKE_CURRENT_LIST_DIR}/progress_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv)
clrnn_script_test(bad_input_one_line cli ${CMAKE_CURRENT_LIST_DIR}/bad_input_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv)
# Several targets: each baseline pooled, then each target's own figures
# (tmin a target, so not a feature: at horizon 0 the model would copy it).
clrnn_cli_test(train_baseline_per_target 0
               "^  tmin: 2020 scored cells, RMSE 3\\.6294, MAE 2\\.6698. the model: RMSE [0-9.]+, MAE [0-9.]+$"
               train --device cpu --quiet --epochs 1 --target tmax_tomorrow,tmin --features tmax,rain)
clrnn_cli_test(save_unwritable 2 "--save '/nonexistent/dir/m.clrnn': cannot write"
               train --device cpu --epochs 1 --save /nonexistent/dir/m.clrnn)
clrnn_cli_test(plot_unwritable 2 "--plot '/nonexistent/r.svg': cannot write"
               train --device cpu --epochs 1 --plot /nonexistent/r.svg)
clrnn_cli_test(eval_missing_model 2 "cannot open '/nonexistent.clrnn'" eval --model /nonexistent.clrnn)
clrnn_cli_test(eval_not_a_model 2 "not a clrnn model file" eval --model ${WEATHER})
clrnn_cli_test(train_nan_stops 2 "loss is .* at epoch 1: try a lower --lr or --clip-norm"
               train --device cpu --optimizer sgd --lr 90 --momentum 0.99 --clip-norm 0 --epochs 3 --quiet)

# The option tables and the parser: --help lists every option, the tables
# are well formed, each kind parses and bad input is refused; library
# messages come out in the command line's terms.
clrnn_add_test(test_cli_args LABEL "unit;cli" CLI SOURCES cli/test_cli_args.c)
# Faults around a --save run: file-size limits during the save and during
# logging, a full disk, kill -9 at random moments, Ctrl-C, outputs onto
# inputs, divergence (issue 11).
clrnn_script_test(faults_nothing_lost cli ${CMAKE_CURRENT_LIST_DIR}/fault_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv ${WEATHER})
set_tests_properties(faults_nothing_lost PROPERTIES TIMEOUT 300)
# One rule for every number (issue 11, item 14): decimal digits, sign,
# point and exponent; no spaces, hex, inf or nan, for reals as for counts.
clrnn_cli_test(number_with_space 2 "--lr ' 0.01': expected a number" train --lr " 0.01")
clrnn_cli_test(number_hex 2 "--lr '0x1p-4': expected a number" train --lr 0x1p-4)
clrnn_cli_test(number_inf 2 "--clip-norm 'inf': expected a number" train --clip-norm inf)
clrnn_cli_test(count_with_space 2 "--batch ' 8': expected a whole number" train --batch " 8")
if(NOT CLRNN_SANITIZE) # the sanitizers reserve terabytes of address space
  # --epochs 100000000 allocates nothing up front (issue 11, item 13): it
  # trains under a 256 MiB address-space limit until Ctrl-C.
  add_test(NAME train_many_epochs_small_memory
           COMMAND sh -c "ulimit -v 262144; timeout --preserve-status -s INT 2 \"$0\" train --epochs 100000000 --device cpu --hidden 2 --quiet; test $? -eq 130"
                   $<TARGET_FILE:clrnn>)
  set_tests_properties(train_many_epochs_small_memory PROPERTIES LABELS cli)
  # A model too large for the memory says so, not "try a smaller --batch"
  # (issue 11, item 12).
  add_test(NAME train_model_too_large_says_so
           COMMAND sh -c "ulimit -v 1500000; exec \"$0\" \"$@\"" ${EXPECT} 2
                   "the model's 64040001 parameters take 1954 MiB .*a smaller model"
                   $<TARGET_FILE:clrnn> train --hidden 8000 --device cpu --epochs 1 --quiet)
  set_tests_properties(train_model_too_large_says_so PROPERTIES LABELS cli)
endif()
# Outputs onto inputs are refused before any work (issue 11, item 9).
clrnn_cli_test(save_onto_data 2 "--save '.*clean_weather.csv' is the same file as --data"
               train --device cpu --epochs 1 --save ${WEATHER})
clrnn_cli_test(log_onto_save 2 "--save '.*' is the same file as --log"
               train --device cpu --epochs 1 --save ${CMAKE_CURRENT_BINARY_DIR}/same.clrnn
               --log ${CMAKE_CURRENT_BINARY_DIR}/same.clrnn)
clrnn_cli_test(predict_onto_data 2 "--out '.*cli_small.csv' is the same file as --data"
               predict --model ${FIX}/no-such.clrnn --data ${FIX}/cli_small.csv --out ${FIX}/cli_small.csv)
# A list too long says its limit (issue 11, item 12).
clrnn_cli_test(features_list_limit 2 "--features .*expected 1 to 64 comma-separated names"
               train --features a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,a1,b1,c1,d1,e1,f1,g1,h1,i1,j1,k1,l1,m1,n1,o1,p1,q1,r1,s1,t1,u1,v1,w1,x1,y1,z1,a2,b2,c2,d2,e2,f2,g2,h2,i2,j2,k2,l2,m2)

# The forecast framing (issue 12): horizons with metrics per output, dates
# on the split line and as features, differencing, rows scored whatever the
# window, and its refusals in one line.
clrnn_cli_test(train_horizons_per_output 0 "^test tmax\\+7: [0-9]+ cells, RMSE [0-9.]+, MAE"
               train --device cpu --epochs 1 --hidden 2 --batch 256 --features tmin,rain
               --target tmax --horizon 1,7)
clrnn_cli_test(train_horizon_outputs_listed 0 "^data: outputs tmax\\+1, tmax\\+7"
               train --device cpu --epochs 1 --hidden 2 --batch 256 --features tmax,rain
               --target tmax --horizon 1,7)
clrnn_cli_test(train_split_dates 0 "test rows 11482-13509 \\(2027 windows, predicting 2017-05-10 \\.\\. 2022-11-26\\)"
               train --device cpu --epochs 1 --hidden 2 --batch 256)
clrnn_cli_test(train_seq_len_scores_every_row 0 "^test: 2027 windows"
               train --device cpu --epochs 1 --hidden 2 --batch 256 --seq-len 31)
clrnn_cli_test(train_date_features 0 "^data: date features doy_sin,doy_cos,dow_sin,dow_cos"
               train --device cpu --epochs 1 --hidden 2 --batch 256 --date-features doy,dow)
clrnn_cli_test(train_difference 0 "^data: outputs tmax\\+1 \\(each learnt as its change"
               train --device cpu --epochs 1 --hidden 2 --batch 256 --features tmin,rain
               --target tmax --horizon 1 --difference)
clrnn_cli_test(train_range_warning 0 "^warning: test values outside the training range by more than 10% of it: input rain"
               train --device cpu --epochs 1 --hidden 2 --batch 256)
clrnn_cli_test(train_copies_input_refused 2 "target 'tmax' is also a feature at horizon 0: the model would copy its input \\(predict it --horizon >= 1 rows ahead\\)"
               train --features tmax --target tmax)
clrnn_cli_test(train_horizon_twice 2 "--horizon lists 1 twice" train --horizon 1,1)
clrnn_cli_test(train_horizon_bad 2 "--horizon 'x': expected a whole number" train --horizon x)
clrnn_cli_test(train_date_features_bad 2 "--date-features 'week': expected one of doy, dow, month, hour"
               train --date-features doy,week)
clrnn_cli_test(train_newest_first_refused 2 "cli_newest_first.csv:3: '2020-02-11' does not come after '2020-02-12' on the row before: rows must be in increasing date order"
               train --data ${FIX}/cli_newest_first.csv --features a,b --target y)
clrnn_cli_test(train_no_validation_row 2 "the validation split has no row \\(--val-fraction 1e-05 of 13509 rows\\)"
               train --val-fraction 0.00001)
clrnn_cli_test(train_window_too_long 2 "the training split has 84 rows, fewer than one window of seq_len 80 and --horizon up to 5 \\(85 rows\\)"
               train --data ${FIX}/cli_small.csv --features a,b --target y --seq-len 80 --horizon 5)
# The model file records its data (issue 12, items 2 and 7): eval, predict
# and forecast with only --model, --data overriding it, a changed split
# refused, tables without targets or dates, the version 1 fixture.
clrnn_cli_test(help_forecast 0 "usage: clrnn forecast" forecast --help)
clrnn_cli_test(forecast_needs_model 2 "clrnn forecast: --model is required" forecast)
clrnn_cli_test(forecast_not_a_model 2 "not a clrnn model file" forecast --model ${WEATHER})
clrnn_script_test(model_records_data cli ${CMAKE_CURRENT_LIST_DIR}/model_data_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv ${FIX})
# The OpenCL compiler: "compiling kernels" before a shape's first build only,
# its own output kept off stderr without --verbose (issue 12, item 9).
clrnn_script_test(compiler_output_kept_out cli ${CMAKE_CURRENT_LIST_DIR}/compiler_output_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv)
# The --plot report from its input: calendar ticks, a group an output,
# baselines, the kept epoch, thin lines at thousands of points (issue 12).
clrnn_add_test(test_cli_plot LABEL "unit;cli" CLI SOURCES cli/test_cli_plot.c)
# eval prints the baselines of its split too (issue 12, item 3).
add_test(NAME cli_eval_baselines
         COMMAND sh -c "\"$0\" train --device cpu --quiet --epochs 1 --hidden 2 --save \"$1\" >/dev/null && \"$0\" eval --model \"$1\" | grep '^ridge baseline: 2018 scored cells, RMSE 4\\.6331'"
                 $<TARGET_FILE:clrnn> ${CMAKE_CURRENT_BINARY_DIR}/eval_baselines.clrnn)
set_tests_properties(cli_eval_baselines PROPERTIES LABELS cli)

# clrnn sweep and train --models N (issue 14): lists and ranges, each bad
# value one line naming its flag; then the product, the table, --select
# best, --save-each bit for bit equal to train alone, a diverging model,
# the ensemble (sweep_test.sh), on the CPU reference and on OpenCL.
clrnn_cli_test(help_sweep 0 "models of one shape train as one group" sweep --help)
clrnn_cli_test(help_train_models 0 "--models N trains N of them" train --help)
clrnn_cli_test(sweep_bad_range 2 "^clrnn sweep: --seed '7-3': a range runs from low to high$" sweep --seed 7-3)
clrnn_cli_test(sweep_bad_range_end 2 "^clrnn sweep: --hidden '9x': expected a whole number from 1 to 65536$" sweep --hidden 4-9x)
clrnn_cli_test(sweep_bad_lr 2 "^clrnn sweep: --lr 'fast': expected a number from 1e-12 to 100$" sweep --lr 1e-3,fast)
clrnn_cli_test(sweep_bad_optimizer 2 "^clrnn sweep: --optimizer 'rms': expected one of sgd, adam$" sweep --optimizer sgd,rms)
clrnn_cli_test(sweep_empty_item 2 "^clrnn sweep: --momentum '0.5,,0.9': expected 1 to" sweep --momentum 0.5,,0.9)
clrnn_cli_test(sweep_bad_clip 2 "^clrnn sweep: --clip-norm '-1': expected a number" sweep --clip-norm off,-1)
clrnn_cli_test(sweep_train_flag_checked 2 "^clrnn sweep: --epochs '0': expected a whole number" sweep --epochs 0)
clrnn_cli_test(sweep_save_needs_choice 2 "^clrnn sweep: --save FILE needs --select best .* or --ensemble mean" sweep --save x.clrnn)
clrnn_cli_test(sweep_select_needs_save 2 "^clrnn sweep: --select best needs --save FILE$" sweep --select best)
clrnn_cli_test(sweep_plot_refused 2 "^clrnn sweep: --plot is clrnn train's only" sweep --plot x.svg)
clrnn_cli_test(sweep_hidden_and_layers 2 "^clrnn sweep: a --hidden list and --layers: give one$" sweep --hidden 4,8 --layers 3:4:1)
clrnn_cli_test(train_models_zero 2 "^clrnn train: --models '0': expected a whole number from 1 to 4096$" train --models 0)
clrnn_cli_test(train_models_seed_list 2 "^clrnn train: --models N takes one --seed S" train --models 2 --seed 0-3)
clrnn_cli_test(sweep_too_many 2 "^clrnn sweep: the lists make more than 4096 models$" sweep --seed 0-999 --hidden 1-5)
set(SWEEP ${CMAKE_CURRENT_LIST_DIR}/sweep_test.sh)
clrnn_script_test(sweep_cpu cli ${SWEEP} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv cpu)
clrnn_script_test(sweep_opencl cli ${SWEEP} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl)
clrnn_script_test(sweep_opencl_tile cli ${CMAKE_COMMAND} -E env SWEEP_ONLY_BITWISE=1 ${SWEEP}
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl --kernels tile)
clrnn_script_test(sweep_opencl_group cli ${CMAKE_COMMAND} -E env SWEEP_ONLY_BITWISE=1 ${SWEEP}
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl --kernels group)
clrnn_script_test(sweep_opencl_fp64 cli ${CMAKE_COMMAND} -E env SWEEP_ONLY_BITWISE=1 ${SWEEP}
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl --precision fp64)
# Every option of clrnn train is the sweep's too (the last one of its table).
clrnn_cli_test(help_sweep_train_options 0 "--verbose +also where the kernels' tunables came from" sweep --help)
# Many series in one table (issue 16, item 1): --series, --split-by, --scale.
clrnn_script_test(series cli ${CMAKE_CURRENT_LIST_DIR}/series_test.sh $<TARGET_FILE:clrnn>)
# --resume without --data trains on the data the model file records, to the
# same bits as the run it continues (a constant schedule: cosine spans
# --epochs).
add_test(NAME cli_resume_finds_recorded_data
         COMMAND sh -c "set -e; o='--features a,b --target y --device cpu --lr-schedule constant --quiet'; \"$0\" train --data \"$1\" $o --epochs 2 --save \"$2.a\" >/dev/null; \"$0\" train --resume \"$2.a\" --epochs 3 --lr-schedule constant --device cpu --save \"$2.b\" | grep -q 'cli_small.csv'; \"$0\" train --data \"$1\" $o --epochs 3 --save \"$2.c\" >/dev/null; cmp \"$2.b\" \"$2.c\""
                 $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv ${CMAKE_CURRENT_BINARY_DIR}/resume_recorded)
set_tests_properties(cli_resume_finds_recorded_data PROPERTIES LABELS cli)
# Carried hidden state: train --stateful, eval, predict and forecast of the
# model, the refusals (stateful_test.sh).
clrnn_script_test(stateful cli ${CMAKE_CURRENT_LIST_DIR}/stateful_test.sh $<TARGET_FILE:clrnn>)
clrnn_cli_test(help_train_stateful 0 "--stateful +carry the hidden state" train --help)
# clrnn explain (issue 16, item 3): input attributions end to end.
clrnn_cli_test(help_explain 0 "usage: clrnn explain" explain --help)
# The CPU reference alone (CI's sanitizer run checks it for leaks), then
# with OpenCL's figures against it too.
clrnn_script_test(explain cli ${CMAKE_CURRENT_LIST_DIR}/explain_test.sh $<TARGET_FILE:clrnn>
                  ${FIX}/cli_small.csv)
clrnn_script_test(explain_opencl cli ${CMAKE_CURRENT_LIST_DIR}/explain_test.sh
                  $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl)
