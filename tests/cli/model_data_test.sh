#!/bin/sh
# model_data_test.sh CLRNN DATA FIXTURES: the model file records its data
# (issue 12, items 2 and 7): eval, predict and forecast need only --model;
# --data overrides it; a split other than the model's is refused; predict
# and forecast do without the target column; version 1 files still work.
set -u
clrnn=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); data=$2; fixtures=$3
. "$(dirname "$0")/lib.sh" # $dir, fail, refused
# eval's RMSE: its split's line, not the baselines' lines after it.
rmse() { sed -n 's/^[a-z]* split: .*RMSE \([0-9.]*\),.*/\1/p' "$1"; }

# Train with a relative data path, from the folder that holds it.
mkdir "$dir/a"; cp "$data" "$dir/a/small.csv"
(cd "$dir/a" && "$clrnn" train --data small.csv --features a,b --target y --seq-len 5 \
  --epochs 3 --batch 8 --device cpu --quiet --save m.clrnn >train.txt) || fail train
want=$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/a/train.txt")

# eval with only --model, from another folder: the recorded absolute path.
(cd "$dir" && "$clrnn" eval --model a/m.clrnn >eval.txt) || fail "eval --model"
grep -q "^data: .*a/small.csv (the model's)" "$dir/eval.txt" || fail "eval names the data"
[ -n "$want" ] && [ "$(rmse "$dir/eval.txt")" = "$want" ] ||
  fail "eval --model: RMSE $(rmse "$dir/eval.txt"), train's test RMSE $want"
echo "eval --model alone: the recorded data and split, train's test RMSE $want OK"

# A split other than the model's is refused, or scored when asked, with a warning.
refused "eval --train-fraction 0.5" "train-fraction 0.5 is not the model's 0.7.*--allow-split-change" \
  "$clrnn" eval --model "$dir/a/m.clrnn" --train-fraction 0.5
refused "eval --missing drop" "missing drop is not the model's ffill" \
  "$clrnn" eval --model "$dir/a/m.clrnn" --missing drop
"$clrnn" eval --model "$dir/a/m.clrnn" --train-fraction 0.5 --allow-split-change \
  >"$dir/out.txt" 2>"$dir/err.txt" || fail "--allow-split-change"
grep -q "warning: .*trained on" "$dir/err.txt" && [ -n "$(rmse "$dir/out.txt")" ] ||
  fail "--allow-split-change: no warning or no score"
echo "eval --train-fraction 0.5 --allow-split-change: scored, with a warning OK"
# The model's file, shorter now: its test split would start among the training rows.
head -91 "$dir/a/small.csv" >"$dir/short.csv"; cp "$dir/a/small.csv" "$dir/a/full.csv"
cp "$dir/short.csv" "$dir/a/small.csv"
refused "the model's data cut short" "starts at row [0-9]+ .*among the 84 rows the model was trained on" \
  "$clrnn" eval --model "$dir/a/m.clrnn"
cp "$dir/a/full.csv" "$dir/a/small.csv"
# Another table may be split otherwise: none of its rows were trained on.
"$clrnn" eval --model "$dir/a/m.clrnn" --data "$dir/short.csv" --train-fraction 0.5 >/dev/null ||
  fail "--data another table with --train-fraction"
echo "eval --data another table --train-fraction 0.5: allowed OK"

# The data moved with the model: found beside the model file.
mv "$dir/a" "$dir/b"
(cd "$dir" && "$clrnn" eval --model b/m.clrnn >eval2.txt) || fail "eval after the move"
[ "$(rmse "$dir/eval2.txt")" = "$want" ] || fail "eval after the move: $(rmse "$dir/eval2.txt")"
echo "data moved with the model: found from the model's folder OK"
mv "$dir/b/small.csv" "$dir/elsewhere.csv"
refused "the recorded data gone" "the data 'small.csv' that .*m.clrnn' was trained on is not found.*give --data" \
  "$clrnn" eval --model "$dir/b/m.clrnn"
"$clrnn" eval --model "$dir/b/m.clrnn" --data "$dir/elsewhere.csv" >"$dir/eval3.txt" || fail "--data"
[ "$(rmse "$dir/eval3.txt")" = "$want" ] || fail "--data overrides: $(rmse "$dir/eval3.txt")"
echo "--data overrides the recorded path OK"
mv "$dir/elsewhere.csv" "$dir/b/small.csv"

# predict with only --model, and on a table without the target column.
m="$dir/b/m.clrnn"
"$clrnn" predict --model "$m" --out "$dir/p.csv" >/dev/null || fail "predict --model"
cut -d, -f1-3 "$dir/b/small.csv" >"$dir/no_y.csv"
"$clrnn" predict --model "$m" --data "$dir/no_y.csv" --out "$dir/p_no_y.csv" >/dev/null ||
  fail "predict without the target column"
head -1 "$dir/p_no_y.csv" | grep -q "^date,y,y_pred$" || fail "predict header"
[ "$(cut -d, -f2 "$dir/p_no_y.csv" | sed 1d | sort -u)" = "" ] || fail "truth not empty"
[ "$(cut -d, -f1,3 "$dir/p.csv")" = "$(cut -d, -f1,3 "$dir/p_no_y.csv")" ] ||
  fail "predictions without the target column differ"
echo "predict without the target column: empty truth, the same dates and predictions OK"
cut -d, -f2-4 "$dir/b/small.csv" >"$dir/no_dates.csv"
"$clrnn" predict --model "$m" --data "$dir/no_dates.csv" --out "$dir/p_rows.csv" >/dev/null ||
  fail "predict without dates"
head -2 "$dir/p_rows.csv" | tr '\n' ' ' | grep -q "^row,y,y_pred 4," || fail "rows without dates"
echo "predict without dates: row numbers under a 'row' header OK"

# forecast: the last window's prediction, for the row it predicts.
"$clrnn" forecast --model "$m" >"$dir/f.txt" || fail "forecast --model"
last=$(tail -1 "$dir/p.csv")
[ "$(sed -n 1p "$dir/f.txt")" = "date,target,horizon,forecast" ] || fail "forecast header"
[ "$(sed -n 2p "$dir/f.txt")" = "${last%%,*},y,0,${last##*,}" ] ||
  fail "forecast '$(sed -n 2p "$dir/f.txt")', predict's last row '$last'"
[ "$(wc -l <"$dir/f.txt")" -eq 2 ] || fail "forecast: one line an output"
"$clrnn" forecast --model "$m" --data "$dir/no_y.csv" --out "$dir/f.csv" >/dev/null ||
  fail "forecast without the target column"
cmp -s "$dir/f.csv" "$dir/f.txt" || fail "forecast --out without targets differs"
"$clrnn" forecast --model "$m" --data "$dir/no_dates.csv" | sed -n 2p | grep -q "^119,y,0," ||
  fail "forecast without dates: row R - 1"
echo "forecast: predict's last window, with or without targets and dates, to stdout or --out OK"
refused "forecast --out onto --data" "is the same file as --data" \
  "$clrnn" forecast --model "$m" --data "$dir/no_y.csv" --out "$dir/no_y.csv"
refused "forecast of a missing table" "cannot open '$dir/nothing.csv'" \
  "$clrnn" forecast --model "$m" --data "$dir/nothing.csv"
cut -d, -f1,2,4 "$dir/b/small.csv" >"$dir/no_b.csv"
refused "forecast of a table without a feature" "no column named 'b'" \
  "$clrnn" forecast --model "$m" --data "$dir/no_b.csv"

# A version 1 file made by the clrnn before: loads, predicts as it did.
v1=$fixtures/model_v1.clrnn
"$clrnn" predict --model "$v1" --data "$data" --out "$dir/p1.csv" >/dev/null || fail "v1 predict"
cmp -s "$dir/p1.csv" "$fixtures/model_v1_predict.csv" || fail "v1: predictions changed"
"$clrnn" eval --model "$v1" --data "$data" >"$dir/e1.txt" || fail "v1 eval"
[ -n "$(rmse "$dir/e1.txt")" ] || fail "v1 eval: no RMSE"
"$clrnn" forecast --model "$v1" --data "$data" | sed -n 2p |
  grep -q "^$(tail -1 "$fixtures/model_v1_predict.csv" | cut -d, -f1),y,0,$(tail -1 "$fixtures/model_v1_predict.csv" | cut -d, -f3)$" ||
  fail "v1 forecast"
echo "version 1 fixture: predict writes what the clrnn before wrote; eval and forecast run OK"

# Where clrnn has the forecast framing: a model of horizons 1 and 3,
# differenced. forecast writes one line an output, dated the last row's
# date plus the horizon in median steps; on the table cut 3 rows short, its
# forecasts are predict's levels for those rows on the whole table.
if "$clrnn" train --help | grep -q -- "--horizon"; then
  "$clrnn" train --data "$data" --features a,b --target y --seq-len 5 --horizon 1,3 --difference \
    --epochs 2 --batch 8 --device cpu --quiet --save "$dir/h.clrnn" >/dev/null || fail "train --horizon"
  "$clrnn" forecast --model "$dir/h.clrnn" >"$dir/fh.txt" || fail "forecast of two horizons"
  last=$(tail -1 "$data" | cut -d, -f1)
  d1=$(date -u -d "$last + 1 day" +%Y-%m-%d); d3=$(date -u -d "$last + 3 days" +%Y-%m-%d)
  [ "$(cut -d, -f1-3 "$dir/fh.txt" | tr '\n' ' ')" = "date,target,horizon $d1,y,1 $d3,y,3 " ] ||
    fail "forecast of two horizons: $(tr '\n' ' ' <"$dir/fh.txt")"
  head -n -3 "$data" >"$dir/cut.csv"
  "$clrnn" forecast --model "$dir/h.clrnn" --data "$dir/cut.csv" >"$dir/fc.txt" || fail "forecast cut"
  "$clrnn" predict --model "$dir/h.clrnn" --out "$dir/ph.csv" >/dev/null || fail "predict horizons"
  head -1 "$dir/ph.csv" | grep -q "^date,target,horizon,truth,prediction$" || fail "long header"
  for line in $(sed 1d "$dir/fc.txt"); do
    rest=${line#*,}; th=${rest%,*}; value=${line##*,}
    grep -q "^[^,]*,$th,[^,]*,$value$" "$dir/ph.csv" || fail "forecast $line is not predict's"
  done
  echo "forecast of horizons 1 and 3, differenced: dated $d1 and $d3; on the table cut short, predict's levels OK"
else
  echo "(skipped: this clrnn has no --horizon: the framing is not built)"
fi
