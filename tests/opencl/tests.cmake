# The OpenCL backend against the CPU reference. Labels:
#   parity    every tensor of a batch, and the parameters after 20 training
#             steps, on shapes that are not multiples of any work-group size
#   oclgrind  the kernels under Oclgrind's race and memory checks
# Outside CI a machine without an OpenCL device skips these (code 77); in
# CI (CI set) that is a failure.
set(OPENCL_EXPECT ${CMAKE_CURRENT_LIST_DIR}/opencl_expect.sh)

# clrnn_parity_grid(PREFIX LABEL RUNNER STEPS TIMEOUT FAMILIES ENTRIES...):
# for each "name|flags" entry, each kernel family of the list FAMILIES and
# each precision, the test PREFIX_<family>_<name>_<precision> running
# `RUNNER clrnn parity ...`.
function(clrnn_parity_grid prefix label runner steps timeout families)
  foreach(entry ${ARGN})
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 name)
    list(GET parts 1 flags)
    separate_arguments(flags UNIX_COMMAND "${flags}")
    foreach(family ${families})
      foreach(precision fp32 fp64)
        set(test ${prefix}_${family}_${name}_${precision})
        add_test(NAME ${test}
                 COMMAND ${runner} $<TARGET_FILE:clrnn> parity --device opencl --kernels ${family}
                         --precision ${precision} --steps ${steps} ${flags})
        set_tests_properties(${test} PROPERTIES LABELS ${label} SKIP_RETURN_CODE 77
                             TIMEOUT ${timeout})
      endforeach()
    endforeach()
  endforeach()
endfunction()

# The parity grid: B in {1,3,64,257}, T in {1,2,7,33}, n_in in {1,3,5},
# n_hidden in {1,4,17,64,129}, stacks of 1 to 3 layers: a covering subset,
# each shape in fp32 and fp64 and with each kernel family that runs it
# (KERNEL_FAMILIES below; group: a work-group per window; tile: a work-item
# per tile of windows, sizes built in; gpu: a work-group per tile of
# windows, weights in local memory), each with 20 training steps after the
# batch.
set(PARITY_GRID_STEPS 20)
set(PARITY_GRID
    "tiny|--layers 1:1:1 --batch 1 --seq-len 1"
    "small|--layers 3:4:1 --batch 3 --seq-len 2"
    "medium|--layers 5:17:2 --batch 64 --seq-len 7"
    "long|--layers 1:64:1 --batch 257 --seq-len 33"
    "wide|--layers 3:129:1 --batch 64 --seq-len 7"
    "two_layers|--layers 3:17:3,3:4:1 --batch 257 --seq-len 2"
    "three_layers|--layers 5:4:2,2:64:3,3:1:1 --batch 3 --seq-len 33"
    "wide_stack|--layers 1:129:4,4:17:1 --batch 1 --seq-len 7"
    "narrow_wide|--layers 3:1:2,2:129:5 --batch 64 --seq-len 1"
    "loss_last|--layers 3:17:2,2:4:1 --batch 64 --seq-len 7 --loss-on last"
    "adam_clip|--layers 5:64:2 --batch 257 --seq-len 7 --optimizer adam --lr 0.003 --clip-norm 0.05"
    "sgd_clip|--layers 3:4:1,1:17:1 --batch 3 --seq-len 33 --clip-norm 0.01 --momentum 0.5"
    # Rows of whole vectors (the tile family's JVEC code on a CPU): blocks
    # of 1, 2 and 4 vectors of 16 floats or 8 doubles, several blocks of
    # columns (256), gradient row blocks (of 6) of dW_i only, of dW_h
    # only, across both, and past the last row.
    "vector_rows|--layers 4:48:3,3:32:1 --batch 70 --seq-len 5"
    "vector_wide|--layers 7:256:1 --batch 33 --seq-len 4"
    # Missing targets (NaN: masked out of loss and dy), windows with none
    # observed among them: a cell a window, the lanes, the plain and the
    # vector-row forwards, the last step's loss, a stack.
    "masked_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --masked 0.5"
    "masked|--layers 5:17:2 --batch 64 --seq-len 7 --masked 0.3"
    "masked_lanes|--layers 3:4:3 --batch 257 --seq-len 2 --masked 0.6"
    "masked_last|--layers 3:17:2,2:4:1 --batch 64 --seq-len 7 --loss-on last --masked 0.5"
    "masked_vector_rows|--layers 4:48:3,3:32:1 --batch 70 --seq-len 5 --masked 0.3"
    # Carried hidden state (--stateful): random nonzero initial states, the
    # state carried to the next batch compared, each step from the last
    # one's (a quarter reset): B=1 T=1 H=1, the lanes forward with padding,
    # a stack of 3, the vector rows (gradient blocks of dW_h only and
    # across dW_i and dW_h).
    "state_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --stateful"
    "state_lanes|--layers 3:4:3 --batch 257 --seq-len 2 --stateful"
    "state_medium|--layers 5:17:2 --batch 64 --seq-len 7 --stateful"
    "state_three_layers|--layers 5:4:2,2:64:3,3:1:1 --batch 3 --seq-len 33 --stateful"
    "state_vector_rows|--layers 4:48:3,3:32:1 --batch 70 --seq-len 5 --stateful")
# The gpu family (slow on PoCL: a work-group's work-items run one after
# another) on the parity grid's awkward shapes less those that test other
# families' code or the shared optimizer: B=1, T=1 and a hidden unit (tiny,
# narrow_wide), non-multiples of everything (257 windows: 9 chunks in
# grad_gpu's groups, 33 steps, 129 and 256 units), stacks of 2 and 3
# layers, the last step's loss and masked targets; its streamed W_h below.
set(GPU_GRID_STEPS 20)
set(GPU_GRID
    "tiny|--layers 1:1:1 --batch 1 --seq-len 1"
    "small|--layers 3:4:1 --batch 3 --seq-len 2"
    "long|--layers 1:64:1 --batch 257 --seq-len 33"
    "wide|--layers 3:129:1 --batch 64 --seq-len 7"
    "two_layers|--layers 3:17:3,3:4:1 --batch 257 --seq-len 2"
    "three_layers|--layers 5:4:2,2:64:3,3:1:1 --batch 3 --seq-len 33"
    "narrow_wide|--layers 3:1:2,2:129:5 --batch 64 --seq-len 1"
    "vector_wide|--layers 7:256:1 --batch 33 --seq-len 4"
    "masked_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --masked 0.5"
    "masked|--layers 5:17:2 --batch 64 --seq-len 7 --masked 0.3"
    "masked_last|--layers 3:17:2,2:4:1 --batch 64 --seq-len 7 --loss-on last --masked 0.5"
    "state_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --stateful"
    "state_two_layers|--layers 3:17:3,3:4:1 --batch 257 --seq-len 2 --stateful"
    "state_three_layers|--layers 5:4:2,2:64:3,3:1:1 --batch 3 --seq-len 33 --stateful")
# The fused family runs one layer of at most 16 hidden units: B in
# {1,3,17,64,257} (tiles of 8 or 16 windows, chunks of 32, padding), T in
# {1,2,3,7,33}, n_hidden in {1,4,7,13,16}, both optimizers, clipping (which
# needs the finished gradient before the step), the last step's loss, the
# step taken inside the next batch's launch and in its own.
set(FUSED_GRID_STEPS 20)
set(FUSED_GRID
    "tiny|--layers 1:1:1 --batch 1 --seq-len 1"
    "small|--layers 3:4:1 --batch 3 --seq-len 2"
    "notebook|--layers 3:4:1 --batch 257 --seq-len 7"
    "widest|--layers 5:16:3 --batch 64 --seq-len 33 --loss-on last"
    "adam_clip|--layers 2:13:2 --batch 17 --seq-len 7 --optimizer adam --lr 0.003 --clip-norm 0.05"
    "sgd_clip|--layers 3:16:1 --batch 257 --seq-len 2 --clip-norm 0.01 --momentum 0.5"
    "adam|--layers 1:7:1 --batch 64 --seq-len 33 --optimizer adam --lr 0.003"
    # Too many chunks of too many parameters for rnn_fused to take the
    # step itself: fused_finish takes it (the other entries: rnn_fused).
    "own_step|--layers 3:16:1 --batch 257 --seq-len 3 --optimizer adam --lr 0.003"
    # Missing targets (NaN: masked), windows with none observed among them.
    "masked_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --masked 0.5"
    "masked|--layers 3:13:3 --batch 257 --seq-len 7 --masked 0.3"
    "masked_last|--layers 5:16:3 --batch 17 --seq-len 33 --loss-on last --masked 0.6"
    # Carried hidden state: B=1, padding in the last tile, the step taken
    # inside rnn_fused and with clipping in fused_finish.
    "state_tiny|--layers 1:1:1 --batch 1 --seq-len 1 --stateful"
    "state_notebook|--layers 3:4:1 --batch 257 --seq-len 7 --stateful"
    "state_adam_clip|--layers 2:13:2 --batch 17 --seq-len 7 --optimizer adam --lr 0.003 --clip-norm 0.05 --stateful")

# Determinism (bitwise equal runs), device choice, errors, optimizer state.
clrnn_add_test(test_opencl LABEL parity SOURCES opencl/test_opencl.c)
# The notebook's toy run on the device in fp64 matches its printed numbers.
clrnn_add_test(test_reproduce_opencl LABEL parity CLI SOURCES reproduce/test_reproduce.c
               ARGS opencl TIMEOUT 300)

# Every kernel under Oclgrind on small shapes (it interprets: slow): both
# families, the tile family's vector-lane forward (n_hidden <= 16), its
# plain one (17) and its vector-row one (24, 32: Oclgrind counts as a CPU
# with vectors of 8; 7 inputs: a gradient row block of dW_i only), one
# chunk of windows and two (33 windows).
set(OCLGRIND_CHECK ${CMAKE_CURRENT_LIST_DIR}/oclgrind_check.sh)
set(OCLGRIND_GRID_STEPS 2)
set(OCLGRIND_GRID
    "one_layer|--layers 3:5:2 --batch 3 --seq-len 4 --optimizer adam --clip-norm 0.1"
    "stack|--layers 2:3:2,2:7:1 --batch 5 --seq-len 3 --loss-on last"
    "single|--layers 1:1:1 --batch 1 --seq-len 1"
    "wider|--layers 2:17:2 --batch 2 --seq-len 3"
    "chunks|--layers 1:2:1 --batch 33 --seq-len 2"
    "vector_rows|--layers 7:24:2,2:32:1 --batch 6 --seq-len 3"
    "masked|--layers 3:5:2 --batch 3 --seq-len 4 --masked 0.4"
    "masked_wider|--layers 2:17:2 --batch 2 --seq-len 3 --masked 0.4 --loss-on last"
    "state_stack|--layers 2:3:2,2:7:1 --batch 5 --seq-len 3 --stateful"
    "state_wider|--layers 2:17:2 --batch 33 --seq-len 3 --stateful"
    "state_vector_rows|--layers 7:24:2,2:32:1 --batch 6 --seq-len 3 --stateful")
# The fused family: padding in the last tile, two chunks of windows (two
# work-items: the step taken inside rnn_fused must not race with the
# batch), and Adam with clipping (the step in fused_finish). Three steps:
# the third batch takes the second's step inside rnn_fused.
set(OCLGRIND_FUSED_GRID_STEPS 3)
set(OCLGRIND_FUSED_GRID
    "one_tile|--layers 2:5:2 --batch 3 --seq-len 3"
    "two_items|--layers 2:5:2 --batch 40 --seq-len 3"
    "chunks|--layers 1:3:1 --batch 35 --seq-len 2 --optimizer adam --clip-norm 0.1 --loss-on last"
    "masked|--layers 2:5:2 --batch 40 --seq-len 3 --masked 0.4"
    "state_two_items|--layers 2:5:2 --batch 40 --seq-len 3 --stateful")

# The kernel families (host/opencl/families.c), one line each: the family,
# the parity grid and the Oclgrind grid it runs (each grid with its
# _STEPS); every family also runs the resume tests below.
set(KERNEL_FAMILIES
    "group|PARITY_GRID|OCLGRIND_GRID"
    "tile|PARITY_GRID|OCLGRIND_GRID"
    "fused|FUSED_GRID|OCLGRIND_FUSED_GRID"
    "gpu|GPU_GRID|OCLGRIND_GRID")
foreach(entry ${KERNEL_FAMILIES})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 family)
  list(GET parts 1 parity_grid)
  list(GET parts 2 oclgrind_grid)
  clrnn_parity_grid(parity_opencl parity ${OPENCL_EXPECT} ${${parity_grid}_STEPS} 300 ${family}
                    ${${parity_grid}})
  clrnn_parity_grid(oclgrind oclgrind ${OCLGRIND_CHECK} ${${oclgrind_grid}_STEPS} 600 ${family}
                    ${${oclgrind_grid}})
  list(APPEND KERNEL_FAMILY_NAMES ${family})
endforeach()

# The tile family's weight-gradient tunables (rnn_tile.cl's grad_panel):
# the padded copies (GPACK) as the device derives them (rows of 256 units,
# 40 steps) and asked for on a stack, panels of one row block with them,
# and panels of two row blocks of 5 without them (a partial last block, a
# panel across dW_i and dW_h); under Oclgrind, the copies.
set(TILE_TUNING_GRID
    "vector_long|--layers 2:256:1 --batch 5 --seq-len 40"
    "vector_rows_pack|--layers 4:48:3,3:32:1 --batch 70 --seq-len 5 --tuning GPACK=1"
    "vector_wide_panels|--layers 7:256:1 --batch 33 --seq-len 4 --tuning 'GPACK=1 RP=1'"
    "vector_rows_panels|--layers 4:48:3,3:32:1 --batch 70 --seq-len 5 --stateful --tuning 'RP=2 RB=5'")
clrnn_parity_grid(parity_opencl_tuned parity ${OPENCL_EXPECT} ${PARITY_GRID_STEPS} 300 tile
                  ${TILE_TUNING_GRID})
set(OCLGRIND_TILE_TUNING_GRID
    "vector_rows_pack|--layers 7:24:2,2:32:1 --batch 6 --seq-len 3 --tuning 'GPACK=1 RP=2'"
    "state_vector_rows_pack|--layers 7:24:2,2:32:1 --batch 6 --seq-len 3 --stateful --tuning GPACK=1")
clrnn_parity_grid(oclgrind_tuned oclgrind ${OCLGRIND_CHECK} ${OCLGRIND_GRID_STEPS} 600 tile
                  ${OCLGRIND_TILE_TUNING_GRID})

# The commands around the backend: devices, parity and bench input checks,
# and a bench run small enough for a test (speed is never asserted).
clrnn_cli_test(help_devices 0 "usage: clrnn devices" devices --help)
clrnn_cli_test(help_parity 0 "usage: clrnn parity" parity --help)
clrnn_cli_test(help_bench 0 "usage: clrnn bench" bench --help)
clrnn_cli_test(parity_bad_device 2 "--device 'cpu': expected opencl or opencl:P.D" parity --device cpu)
clrnn_cli_test(parity_bad_layers 2 "--layers '3:0:1'" parity --layers 3:0:1)
clrnn_cli_test(parity_bad_precision 2 "--precision 'fp16': expected one of fp32, fp64" parity --precision fp16)
clrnn_cli_test(bench_bad_shape 2 "--shapes 'x=1:2/3': expected" bench --shapes x=1:2/3)
clrnn_cli_test(bench_unknown_option 2 "unknown option '--fast'" bench --fast)
add_test(NAME devices_lists_pocl
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "opencl:0\\.0 " $<TARGET_FILE:clrnn> devices)
set_tests_properties(devices_lists_pocl PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# A kernel family asked for that cannot run the model: bad input (exit 2),
# not a reason for --device auto to fall back to the CPU reference.
add_test(NAME train_fused_refuses_stack
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 2 "the fused kernels cannot run this model: it runs one layer"
                 $<TARGET_FILE:clrnn> train --kernels fused --layers 3:8:2,2:4:1 --epochs 1 --quiet)
set_tests_properties(train_fused_refuses_stack PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# Every launch has a local size the host chose, its private memory within
# bounds (runtime.h: CPU_GROUP_PRIVATE_MAX): left to itself PoCL ran the
# tile family's forward as one work-group of all windows, whose private
# arrays overflowed the worker thread's stack (SIGSEGV). The smallest run
# that crashed (fp64, 512 hidden units, 275 work-items of 32 KiB) and the
# one reported (256 units, a batch of 5000); each trains, or refuses in one
# line (exit 2), and never dies of a signal.
set(TRAINS_OR_REFUSES ${CMAKE_CURRENT_LIST_DIR}/trains_or_refuses.sh)
add_test(NAME train_tile_private_fits_fp64
         COMMAND ${OPENCL_EXPECT} ${TRAINS_OR_REFUSES} $<TARGET_FILE:clrnn> train --device opencl
                 --kernels tile --precision fp64 --hidden 512 --seq-len 1 --batch 1100
                 --train-fraction 0.1 --val-fraction 0.05 --epochs 1 --quiet)
add_test(NAME train_tile_private_fits_batch_5000
         COMMAND ${OPENCL_EXPECT} ${TRAINS_OR_REFUSES} $<TARGET_FILE:clrnn> train --device opencl
                 --kernels tile --hidden 256 --batch 5000 --epochs 1 --quiet)
set_tests_properties(train_tile_private_fits_fp64 train_tile_private_fits_batch_5000 PROPERTIES
                     LABELS parity SKIP_RETURN_CODE 77 TIMEOUT 120)
add_test(NAME bench_smoke
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "tiny: n_in 1, n_hidden 3" $<TARGET_FILE:clrnn> bench
                 --shapes tiny=1:3:1/2/5 --seconds 0.01 --warmup 1)
set_tests_properties(bench_smoke PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# bench --tuning 'A|B': the candidates timed in turns, a row each (the
# empty one the derived values); more than 8 refused in one line.
add_test(NAME bench_tuning_turns
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "tuning WB=2: the fastest of 5 runs, in turns"
                 $<TARGET_FILE:clrnn> bench --shapes tiny=2:32:1/3/9 --devices opencl
                 --precision fp32 --seconds 0.01 --kernels tile --tuning "|WB=2")
set_tests_properties(bench_tuning_turns PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
clrnn_cli_test(bench_tuning_too_many 2 "at most 8 candidates" bench --tuning "a|b|c|d|e|f|g|h|i")

# Carried hidden state on every family (tests/core/test_stateful.c): one
# stream of windows == one long window, stateful training of one
# whole-series window == full BPTT (both bitwise), the model file.
foreach(family ${KERNEL_FAMILY_NAMES})
  foreach(precision fp32 fp64)
    add_test(NAME test_stateful_opencl_${family}_${precision}
             COMMAND $<TARGET_FILE:test_stateful> opencl ${family} ${precision})
    set_tests_properties(test_stateful_opencl_${family}_${precision} PROPERTIES LABELS parity
                         SKIP_RETURN_CODE 77)
  endforeach()
endforeach()

# Resuming on the device: 2 epochs, save, resume to 4 == 4 epochs straight,
# byte for byte (fp32 parameters and optimizer state round-trip exactly
# through the model file's doubles).
foreach(family ${KERNEL_FAMILY_NAMES})
  add_test(NAME resume_sgd_opencl_${family}
           COMMAND ${OPENCL_EXPECT} ${RESUME} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl
                   --kernels ${family} --optimizer sgd --lr-schedule constant --clip-norm 0)
  add_test(NAME resume_adam_opencl_${family}
           COMMAND ${OPENCL_EXPECT} ${RESUME} $<TARGET_FILE:clrnn> ${FIX}/cli_small.csv opencl
                   --kernels ${family} --optimizer adam --warmup 3 --lr-schedule step
                   --clip-norm 0.5)
  set_tests_properties(resume_sgd_opencl_${family} resume_adam_opencl_${family} PROPERTIES
                       LABELS parity SKIP_RETURN_CODE 77)
endforeach()

# No OpenCL at all (the ICD loader pointed at an empty vendor folder): one
# clear line and exit code 2 where OpenCL is asked for, the CPU reference
# (and a line saying so) where the choice is automatic.
set(NO_ICD ${CMAKE_CURRENT_BINARY_DIR}/no-opencl-vendors)
file(MAKE_DIRECTORY ${NO_ICD})
function(clrnn_no_opencl_test name code regex)
  add_test(NAME no_opencl_${name}
           COMMAND ${CMAKE_COMMAND} -E env OCL_ICD_VENDORS=${NO_ICD}
                   ${EXPECT} ${code} ${regex} $<TARGET_FILE:clrnn> ${ARGN})
  set_tests_properties(no_opencl_${name} PROPERTIES LABELS cli)
endfunction()
clrnn_no_opencl_test(devices 2 "clrnn devices: no OpenCL platform is installed" devices)
clrnn_no_opencl_test(parity 2 "clrnn parity: no OpenCL platform is installed" parity)
clrnn_no_opencl_test(train_opencl 2 "clrnn train: no OpenCL platform is installed"
                     train --device opencl --epochs 1 --quiet)
clrnn_no_opencl_test(train_auto 0 "no OpenCL device .*using the CPU reference"
                     train --epochs 1 --hidden 2)

# No OpenCL library at all (CLRNN_OPENCL_LIBRARY names a missing file in
# place of libOpenCL.so.1, host/opencl/cl_api.h): the CPU reference still
# runs, and where OpenCL is asked for, one line and exit code 2. The binary
# loads the library at run time and must not link it.
function(clrnn_no_loader_test name code regex)
  add_test(NAME no_opencl_loader_${name}
           COMMAND ${CMAKE_COMMAND} -E env CLRNN_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1
                   ${EXPECT} ${code} ${regex} $<TARGET_FILE:clrnn> ${ARGN})
  set_tests_properties(no_opencl_loader_${name} PROPERTIES LABELS cli)
endfunction()
set(NO_LOADER "OpenCL is not installed \\(/nonexistent/libOpenCL\\.so\\.1 could not be loaded: ")
clrnn_no_loader_test(train_cpu 0 "test: [0-9]+ windows, loss .*RMSE"
                     train --device cpu --epochs 1 --hidden 2)
clrnn_no_loader_test(train_auto 0 "no OpenCL device \\(${NO_LOADER}.*using the CPU reference"
                     train --epochs 1 --hidden 2)
clrnn_no_loader_test(devices 2 "^clrnn devices: ${NO_LOADER}" devices)
clrnn_no_loader_test(train_opencl 2 "^clrnn train: ${NO_LOADER}"
                     train --device opencl --epochs 1 --quiet)
clrnn_no_loader_test(parity 2 "^clrnn parity: ${NO_LOADER}" parity)
add_test(NAME clrnn_does_not_link_opencl
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/not_linked.sh libOpenCL $<TARGET_FILE:clrnn>)
set_tests_properties(clrnn_does_not_link_opencl PROPERTIES LABELS cli)
# A layer too wide for the tile kernels' private memory: one line saying
# what fits, not "try a smaller --batch" (issue 11, item 12).
add_test(NAME opencl_tile_too_wide_says_what_fits
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 2 "the tile kernels fit layers of up to [0-9]+ hidden units here; or use --kernels group"
                 $<TARGET_FILE:clrnn> train --device opencl --kernels tile --hidden 11000 --epochs 1 --quiet)
set_tests_properties(opencl_tile_too_wide_says_what_fits PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# The device's arithmetic peak, measured by bench with chains of FMAs, and
# each shape's GFLOP/s as a share of it (issue 13, item 1).
add_test(NAME bench_measures_peak
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "fp32  peak [0-9.e+]+ GFLOP/s \\(FMA chains on [0-9]+-wide vectors"
                 $<TARGET_FILE:clrnn> bench --shapes tiny=1:3:1/2/5 --devices opencl --precision fp32
                 --seconds 0.01 --warmup 1)
set_tests_properties(bench_measures_peak PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# The OpenCL compiler's own output stays off stderr (kept for --verbose);
# "compiling kernels" said once, before a program's first build (issue 12).
clrnn_add_test(test_build_output LABEL "unit;opencl" SOURCES opencl/test_build_output.c)
# The gpu family with W_h streamed through local memory in tiles of rows:
# CLRNN_GPU_LOCAL_MEM caps the local memory it assumes (PoCL and Oclgrind
# have room for these weights) below each layer's W_h alone, so that every
# layer streams, in both precisions, on the parity grid's wide shapes, a
# stack with Adam and clipping, and under Oclgrind.
foreach(precision fp32 fp64)
  foreach(entry "wide|12000|--layers 3:129:1 --batch 64 --seq-len 7 --steps 20"
                "wide_stack|12000|--layers 1:129:4,4:17:1 --batch 1 --seq-len 7 --steps 20"
                "stack|4000|--layers 5:40:3,3:33:1 --batch 70 --seq-len 5 --steps 20 --optimizer adam --lr 0.003 --clip-norm 0.05")
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 name)
    list(GET parts 1 bytes)
    list(GET parts 2 flags)
    separate_arguments(flags UNIX_COMMAND "${flags}")
    add_test(NAME parity_opencl_gpu_streamed_${name}_${precision}
             COMMAND ${CMAKE_COMMAND} -E env CLRNN_GPU_LOCAL_MEM=${bytes} ${OPENCL_EXPECT}
                     $<TARGET_FILE:clrnn> parity --device opencl --kernels gpu
                     --precision ${precision} ${flags})
    set_tests_properties(parity_opencl_gpu_streamed_${name}_${precision} PROPERTIES
                         LABELS parity SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
  add_test(NAME oclgrind_gpu_streamed_${precision}
           COMMAND ${CMAKE_COMMAND} -E env CLRNN_GPU_LOCAL_MEM=1500 ${OCLGRIND_CHECK}
                   $<TARGET_FILE:clrnn> parity --device opencl --kernels gpu
                   --precision ${precision} --layers 3:20:2,2:9:1 --batch 9 --seq-len 3 --steps 2)
  set_tests_properties(oclgrind_gpu_streamed_${precision} PROPERTIES LABELS oclgrind
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
# `auto` takes the gpu family on a GPU device (Oclgrind reports one) and
# keeps the CPU choice on a CPU device (PoCL: fused for one small layer).
find_program(OCLGRIND_PROGRAM oclgrind)
if(OCLGRIND_PROGRAM)
  add_test(NAME oclgrind_auto_takes_gpu
           COMMAND ${EXPECT} 0 "Oclgrind Simulator \\(fp32, gpu kernels\\)" ${OCLGRIND_CHECK}
                   $<TARGET_FILE:clrnn> parity --device opencl --layers 2:3:1 --batch 2 --seq-len 2)
  set_tests_properties(oclgrind_auto_takes_gpu PROPERTIES LABELS oclgrind TIMEOUT 600)
  # The gpu family's global memory traffic (Oclgrind's counts, exact and
  # the same on every run) within 3x of what the activations alone move,
  # on the README's two shapes (scripts/traffic.sh).
  add_test(NAME oclgrind_gpu_traffic_within_3x
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/traffic.sh --families gpu --max-ratio 3
                   $<TARGET_FILE:clrnn>)
  set_tests_properties(oclgrind_gpu_traffic_within_3x PROPERTIES LABELS oclgrind TIMEOUT 600)
endif()
add_test(NAME opencl_auto_on_cpu_is_not_gpu
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "\\(fp32, fused kernels\\)" $<TARGET_FILE:clrnn>
                 parity --device opencl --layers 2:3:1 --batch 2 --seq-len 2)
set_tests_properties(opencl_auto_on_cpu_is_not_gpu PROPERTIES LABELS parity SKIP_RETURN_CODE 77)

# clrnn tune and the per-device tuning cache (XDG_CACHE_HOME in a temporary
# folder): read back, a candidate failing parity never stored, corrupt cache
# ignored, --no-tune-cache honoured, cached values within parity.
add_test(NAME tune_cache COMMAND ${CMAKE_CURRENT_LIST_DIR}/tune_test.sh $<TARGET_FILE:clrnn>)
set_tests_properties(tune_cache PROPERTIES LABELS cli SKIP_RETURN_CODE 77 TIMEOUT 600)
clrnn_add_test(test_tune_cache LABEL unit SOURCES opencl/test_tune_cache.c)
clrnn_add_test(test_launch_split LABEL unit SOURCES opencl/test_launch_split.c)
# clrnn tune over the gpu family's tunables (tune_gpu_test.sh).
add_test(NAME tune_gpu COMMAND ${CMAKE_CURRENT_LIST_DIR}/tune_gpu_test.sh $<TARGET_FILE:clrnn>)
set_tests_properties(tune_gpu PROPERTIES LABELS cli SKIP_RETURN_CODE 77 TIMEOUT 600)

# Model groups on each kernel family, fp32 and fp64: each model of a group
# bitwise as itself alone (core/test_group.c).
foreach(family group tile fused gpu)
  add_test(NAME test_group_${family} COMMAND test_group opencl ${family})
  set_tests_properties(test_group_${family} PROPERTIES LABELS parity SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()
# bench --models: groups of same-shape models, the CPU reference's and the
# device's, their rates in a models column (speed is never asserted).
add_test(NAME bench_models
         COMMAND ${OPENCL_EXPECT} ${EXPECT} 0 "fp32       3 " $<TARGET_FILE:clrnn> bench
                 --shapes tiny=1:3:1/2/5 --devices cpu,opencl --precision fp32 --models 1,3
                 --seconds 0.01 --warmup 1 --no-profile)
set_tests_properties(bench_models PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
# Model groups under Oclgrind, each family: a small group run, each model
# bitwise as alone (every family has the model as a grid dimension of its
# launches; tile, group and gpu also on a stack).
foreach(family group tile fused gpu)
  add_test(NAME oclgrind_group_${family}
           COMMAND ${OCLGRIND_CHECK} $<TARGET_FILE:test_group> opencl ${family} small)
  set_tests_properties(oclgrind_group_${family} PROPERTIES LABELS oclgrind SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()

# Input attributions (clrnn_backend_input_gradients, clrnn explain): each
# family's dx of every output against the CPU reference on awkward shapes
# in both precisions, and the call leaves what training uses bitwise as it
# was; the first shapes again under Oclgrind.
# Named opencl_* so that CI's sanitizer run takes them with the parity tests
# (there, on PoCL, the fused and gpu families' took 105 to 250 s).
clrnn_add_test(opencl_input_gradients LABEL parity SOURCES opencl/test_input_gradients.c
               ARGS group TIMEOUT 600)
foreach(family ${KERNEL_FAMILY_NAMES})
  if(NOT family STREQUAL "group")
    add_test(NAME opencl_input_gradients_${family}
             COMMAND $<TARGET_FILE:opencl_input_gradients> ${family})
    set_tests_properties(opencl_input_gradients_${family} PROPERTIES LABELS parity
                         SKIP_RETURN_CODE 77 TIMEOUT 600)
  endif()
  add_test(NAME oclgrind_input_gradients_${family}
           COMMAND ${OCLGRIND_CHECK} $<TARGET_FILE:opencl_input_gradients> ${family} small)
  set_tests_properties(oclgrind_input_gradients_${family} PROPERTIES LABELS oclgrind
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
