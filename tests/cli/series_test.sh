#!/bin/sh
# series_test.sh CLRNN: many series in one table (issue 16, item 1) from the
# command line: train --series prints and logs per-series figures whose
# pooled RMSE is the test RMSE; eval and predict rebuild the same dataset
# from the model file (per-series scaling included: predict's test rows
# score train's test RMSE); predict writes the series id; refusals are one
# line naming the flag.
set -u
clrnn=$1
. "$(dirname "$0")/lib.sh" # $dir, fail, refused

# Four series of 30 rows, ids of text and a number, each from 2021-01-01,
# each at its own level (per-series scaling has something to do).
awk 'BEGIN { print "date,id,x,y"; split("north 17 south west", id, " ");
  for (s = 1; s <= 4; s++) for (i = 0; i < 30; i++)
    printf "2021-%02d-%02d,%s,%.4f,%.4f\n", 1 + int(i / 28), 1 + i % 28, id[s],
      sin(i * 0.7 + s), 20 * s + 3 * sin(i * 0.7 + s - 0.7) + (i % 4) * 0.1 }' >"$dir/long.csv"
common="--features x,y --target y --horizon 1 --seq-len 4 --series id --epochs 4 --batch 8 --device cpu"

"$clrnn" train --data "$dir/long.csv" $common --scale per-series --save "$dir/m.clrnn" \
  --log "$dir/log.csv" --log-json "$dir/log.json" >"$dir/train.txt" || fail train
grep -q "^data: 4 series in column 'id' (30 to 30 rows), split within each series, each series' own scaler" \
  "$dir/train.txt" || { cat "$dir/train.txt"; fail "the data summary names the series"; }
test_rmse=$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/train.txt")
pooled=$(sed -n 's/^test by series: 4 of 4 series tested; over all: RMSE \([0-9.]*\),.*/\1/p' "$dir/train.txt")
[ -n "$test_rmse" ] && [ "$pooled" = "$test_rmse" ] ||
  { cat "$dir/train.txt"; fail "per-series pooled RMSE '$pooled' vs test RMSE '$test_rmse'"; }
[ "$(grep -Ec '^  (north|17|south|west) ' "$dir/train.txt")" -eq 4 ] || fail "a row per series"
echo "train --series: 4 series printed, pooled RMSE $pooled = test RMSE OK"

# --log FILE: FILE_series.csv, a row per series; --log-json: a line per series.
[ "$(sed -n 1p "$dir/log_series.csv")" = "series,split,n_scored,rmse,mae,naive_rmse,naive_mae" ] &&
  [ "$(grep -c ',test,' "$dir/log_series.csv")" -eq 4 ] || fail "log_series.csv"
[ "$(grep -c '"series": ' "$dir/log.json")" -eq 4 ] && grep -q '"series": "17", "split": "test"' "$dir/log.json" ||
  fail "--log-json per-series lines"
[ "$(wc -l <"$dir/log.csv")" -eq 5 ] || fail "--log keeps one line an epoch"
echo "--log: log_series.csv and --log-json hold the 4 series OK"

# eval from the model file alone: the same dataset, the same test RMSE.
"$clrnn" eval --model "$dir/m.clrnn" >"$dir/eval.txt" || fail eval
eval_rmse=$(sed -n 's/^test split: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/eval.txt")
[ "$eval_rmse" = "$test_rmse" ] || fail "eval RMSE $eval_rmse vs train $test_rmse"
echo "eval --model: test RMSE $eval_rmse as train's OK"

# predict: a row per window (4 series x (30 - 4)), the id column; each
# series' last 5 rows (30 - 21 train - 4 validate) are its test rows and
# score train's test RMSE, with each series' scaler as in training.
"$clrnn" predict --model "$dir/m.clrnn" --out "$dir/p.csv" >/dev/null || fail predict
[ "$(sed -n 1p "$dir/p.csv")" = "date,id,y+1,y+1_pred" ] || fail "predict header: $(sed -n 1p "$dir/p.csv")"
[ "$(grep -c ',17,' "$dir/p.csv")" -eq 26 ] && [ "$(wc -l <"$dir/p.csv")" -eq 105 ] || fail "predict rows"
predict_rmse=$(awk -F, 'NR > 1 { n[$2]++; row[$2, n[$2]] = $3 - $4 }
  END { for (s in n) for (i = n[s] - 4; i <= n[s]; i++) { sq += row[s, i] ^ 2; c++ }
        printf "%.4f", sqrt(sq / c) }' "$dir/p.csv")
[ "$predict_rmse" = "$test_rmse" ] || fail "predict's test rows RMSE $predict_rmse vs train $test_rmse"
echo "predict: the id column; the test rows score train's RMSE $predict_rmse OK"

# forecast: a row per series, from its own last window and scaler: the
# same figure as forecasting a table that holds that series alone.
"$clrnn" forecast --model "$dir/m.clrnn" --out "$dir/f.csv" >/dev/null || fail forecast
[ "$(sed -n 1p "$dir/f.csv")" = "date,id,target,horizon,forecast" ] && [ "$(wc -l <"$dir/f.csv")" -eq 5 ] ||
  fail "forecast rows: $(cat "$dir/f.csv")"
for id in north south; do
  awk -F, -v id=$id 'NR == 1 || $2 == id' "$dir/long.csv" >"$dir/$id.csv"
  "$clrnn" forecast --model "$dir/m.clrnn" --data "$dir/$id.csv" --out "$dir/f_$id.csv" >/dev/null ||
    fail "forecast --data $id.csv"
  [ "$(grep ",$id," "$dir/f.csv")" = "$(sed -n 2p "$dir/f_$id.csv")" ] ||
    fail "forecast of $id: '$(grep ",$id," "$dir/f.csv")' alone '$(sed -n 2p "$dir/f_$id.csv")'"
done
echo "forecast: each series from its own last window, as that series alone: $(grep ',north,' "$dir/f.csv") OK"

# Whole series held out: 2 train, 1 validates, 1 tests.
"$clrnn" train --data "$dir/long.csv" $common --split-by series --train-fraction 0.5 \
  --val-fraction 0.25 --save "$dir/s.clrnn" >"$dir/by.txt" || fail "--split-by series"
grep -q "^test by series: 1 of 4 series tested" "$dir/by.txt" && grep -q "^  west " "$dir/by.txt" ||
  { cat "$dir/by.txt"; fail "--split-by series tests the last series"; }
"$clrnn" eval --model "$dir/s.clrnn" >"$dir/eval2.txt" || fail "eval by series"
[ "$(sed -n 's/^test split: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/eval2.txt")" = \
  "$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/by.txt")" ] || fail "eval of a model split by series"
echo "--split-by series: the last series tests; eval agrees OK"

# Refusals, one line naming the flags.
refused "unknown series column" "no column named 'station'" \
  "$clrnn" train --data "$dir/long.csv" $common --series station
refused "--split-by series without --series" "--split-by series needs a --series" \
  "$clrnn" train --data "$dir/long.csv" --features x,y --target y --horizon 1 --split-by series --device cpu
refused "--scale per-series with --split-by series" "--scale per-series fits each series.*scale globally" \
  "$clrnn" train --data "$dir/long.csv" $common --split-by series --scale per-series
{ cat "$dir/long.csv"; sed -n 2,10p "$dir/long.csv"; } >"$dir/again.csv"
refused "an id that reappears" "again.csv:122: series 'north' appears again after series 'west'" \
  "$clrnn" train --data "$dir/again.csv" $common
refused "an unknown --split-by" "--split-by 'region'" \
  "$clrnn" train --data "$dir/long.csv" $common --split-by region
