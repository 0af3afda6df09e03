#!/bin/sh
# explain_test.sh CLRNN DATA [opencl]: clrnn explain end to end (issue 16,
# item 3); with opencl also OpenCL's figures against the CPU reference's.
# A tiny model of 2 outputs (horizons 1 and 3) on 2 features with windows
# of 5 rows: the CSV has its header and exactly one row for each output,
# feature and lag 0..4, finite values, mean |gradient| not all 0 and at
# least |mean gradient|;
# the heat map has a cell for each; --split picks the windows eval counts;
# on OpenCL (fp64) the same figures as the CPU reference; the model file
# is left as it was; bad input is one line and exit code 2.
set -u
clrnn=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); data=$2; opencl=${3:-}
. "$(dirname "$0")/lib.sh" # $dir, fail, refused

"$clrnn" train --data "$data" --features a,b --target y --horizon 1,3 --seq-len 5 --epochs 3 \
  --batch 8 --device cpu --quiet --save "$dir/m.clrnn" >"$dir/train.txt" || fail train
cp "$dir/m.clrnn" "$dir/before.clrnn"

"$clrnn" explain --model "$dir/m.clrnn" --out "$dir/a.csv" --plot "$dir/a.svg" >"$dir/out.txt" ||
  { cat "$dir/out.txt"; fail "explain"; }
cat "$dir/out.txt"
[ "$(head -1 "$dir/a.csv")" = "output,feature,lag,mean_abs_grad,mean_grad,mean_grad_x_input" ] ||
  fail "header: $(head -1 "$dir/a.csv")"
[ "$(tail -n +2 "$dir/a.csv" | wc -l)" -eq 20 ] || fail "rows: $(tail -n +2 "$dir/a.csv" | wc -l), not 2 x 2 x 5"
for out in y+1 y+3; do
  for feature in a b; do
    for lag in 0 1 2 3 4; do
      [ "$(grep -c "^$out,$feature,$lag," "$dir/a.csv")" -eq 1 ] || fail "no single row $out,$feature,$lag"
    done
  done
done
awk -F, 'NR > 1 { if ($4 !~ /^[0-9.e+-]+$/ || $5 !~ /^-?[0-9.e+-]+$/ || $6 !~ /^-?[0-9.e+-]+$/) bad = 1
                   a = $5 < 0 ? -$5 : $5; if ($4 < 0 || a > $4 * (1 + 1e-9)) bad = 1; if ($4 > 0) some = 1 }
         END { exit bad || !some }' "$dir/a.csv" || fail "values not finite, negative or all 0"
echo "explain: header, one row per output x feature x lag, finite values OK"
grep -q "^explain: gradients of [0-9]* windows' predictions (test split)" "$dir/out.txt" || fail "summary line"
grep -q "^y+1: largest mean |gradient|: " "$dir/out.txt" || fail "largest per output"
[ "$(grep -c "<rect x=" "$dir/a.svg")" -eq 20 ] || fail "heat map: $(grep -c "<rect x=" "$dir/a.svg") cells, not 20"
grep -q "y+3 (largest |value|" "$dir/a.svg" || fail "heat map: a panel per output"
echo "explain --plot: a heat map cell per output x feature x lag OK"
cmp -s "$dir/m.clrnn" "$dir/before.clrnn" || fail "the model file changed"

# --split: the windows eval scores on that split.
"$clrnn" explain --model "$dir/m.clrnn" --split train --out "$dir/t.csv" >"$dir/t.txt" || fail "--split train"
"$clrnn" eval --model "$dir/m.clrnn" --split train >"$dir/e.txt" || fail "eval --split train"
n_explain=$(sed -n "s/^explain: gradients of \([0-9]*\) windows' predictions (train split).*/\1/p" "$dir/t.txt")
n_eval=$(sed -n 's/^train split: \([0-9]*\) windows.*/\1/p' "$dir/e.txt")
[ -n "$n_eval" ] && [ "$n_explain" = "$n_eval" ] || fail "--split train: $n_explain windows, eval $n_eval"
cmp -s "$dir/a.csv" "$dir/t.csv" && fail "--split train gave the test split's figures"
echo "explain --split train: eval's $n_eval windows OK"

# On OpenCL in fp64: the CPU reference's figures (where a device is; in
# CI a missing device fails).
if [ "$opencl" = opencl ] && ! "$clrnn" devices 2>/dev/null | grep -q "opencl:0\.0 "; then
  [ -n "${CI:-}" ] && fail "no OpenCL device (CI)"
  echo "no OpenCL device: skipped"; exit 77
fi
if [ "$opencl" = opencl ]; then
  "$clrnn" explain --model "$dir/m.clrnn" --device opencl --precision fp64 --batch 7 \
    --out "$dir/o.csv" >/dev/null || fail "explain --device opencl"
  paste -d, "$dir/a.csv" "$dir/o.csv" | awk -F, 'NR > 1 {
      for (c = 4; c <= 6; c++) { d = $c - $(c + 6); if (d < 0) d = -d; s = $c < 0 ? -$c : $c;
        if (d > 1e-9 * (s > 1e-3 ? s : 1e-3)) bad = 1 } }
      END { exit bad }' || fail "OpenCL fp64 figures differ from the CPU reference's"
  echo "explain --device opencl --precision fp64 --batch 7: the CPU reference's figures OK"
fi

# An ensemble file: the gradient of the mean prediction, the mean of the
# members' gradients (mean_grad is linear in them; mean |gradient| is not).
"$clrnn" sweep --data "$data" --features a,b --target y --seq-len 5 --epochs 2 --device cpu \
  --seed 1,2 --ensemble mean --save-each "$dir/each" --save "$dir/ens.txt" --quiet >/dev/null ||
  fail "sweep --ensemble mean"
for m in ens.txt each/model-0.clrnn each/model-1.clrnn; do
  "$clrnn" explain --model "$dir/$m" --out "$dir/$(basename "$m").csv" >/dev/null || fail "explain $m"
done
paste -d, "$dir/model-0.clrnn.csv" "$dir/model-1.clrnn.csv" "$dir/ens.txt.csv" | awk -F, 'NR > 1 {
    d = ($5 + $11) / 2 - $17; if (d < 0) d = -d; if (d > 1e-9) bad = 1; n++ }
    END { exit bad || n != 10 }' || fail "the ensemble's mean gradient is not its members' mean"
echo "explain of an ensemble: mean_grad the mean of its members' OK"

refused "no --out" "^clrnn explain: --out is required" "$clrnn" explain --model "$dir/m.clrnn"
refused "no --model" "^clrnn explain: --model is required" "$clrnn" explain --out "$dir/x.csv"
refused "a model that does not exist" "no-such\.clrnn" \
  "$clrnn" explain --model "$dir/no-such.clrnn" --out "$dir/x.csv"
refused "an unknown split" "--split 'validation': expected one of train, val, test, all" \
  "$clrnn" explain --model "$dir/m.clrnn" --split validation --out "$dir/x.csv"
refused "--plot over --out" "--plot '.*a.csv' is the same file as --out" \
  "$clrnn" explain --model "$dir/m.clrnn" --out "$dir/a.csv" --plot "$dir/a.csv"
refused "--out over the model" "--out '.*m.clrnn' is the same file as --model" \
  "$clrnn" explain --model "$dir/m.clrnn" --out "$dir/m.clrnn"
[ ! -e "$dir/x.csv" ] || fail "a refused run wrote its --out"
cmp -s "$dir/m.clrnn" "$dir/before.clrnn" || fail "the model file changed"
echo "all OK"
