#!/bin/sh
# stateful_test.sh CLRNN: carried hidden state (issue 16, item 2) from the
# command line: train --stateful on two series saves a stateful model
# whose eval (from the model file alone) scores train's test RMSE, as eval
# warms up over each series the same way; predict and forecast run from
# it; a stateful model differs from the default one; the refusals (explain
# of a stateful model among them) are one line naming the flag.
set -u
clrnn=$1
. "$(dirname "$0")/lib.sh" # $dir, fail, refused

awk 'BEGIN { print "date,id,x,y"; split("north south", id, " ");
  for (s = 1; s <= 2; s++) for (i = 0; i < 80; i++)
    printf "2021-%02d-%02d,%s,%.4f,%.4f\n", 1 + int(i / 28), 1 + i % 28, id[s],
      sin(i * 0.7 + s), 20 * s + 3 * sin(i * 0.7 + s - 0.7) + (i % 4) * 0.1 }' >"$dir/long.csv"
common="--data $dir/long.csv --features x,y --target y --horizon 1 --seq-len 4 --series id --epochs 3 --batch 4 --device cpu"

"$clrnn" train $common --stateful --save "$dir/s.clrnn" >"$dir/train.txt" || fail "train --stateful"
test_rmse=$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/train.txt")
[ -n "$test_rmse" ] || { cat "$dir/train.txt"; fail "a test RMSE"; }
"$clrnn" eval --model "$dir/s.clrnn" >"$dir/eval.txt" || fail eval
eval_rmse=$(sed -n 's/^test split: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/eval.txt")
[ "$eval_rmse" = "$test_rmse" ] || { cat "$dir/eval.txt"; fail "eval RMSE $eval_rmse vs train $test_rmse"; }
echo "train --stateful, then eval from the model file: test RMSE $eval_rmse both OK"

"$clrnn" train $common --save "$dir/d.clrnn" >"$dir/default.txt" || fail "train"
default_rmse=$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/default.txt")
[ "$default_rmse" != "$test_rmse" ] || fail "stateful RMSE $test_rmse is the default's"
echo "the default model's test RMSE $default_rmse differs OK"

"$clrnn" predict --model "$dir/s.clrnn" --out "$dir/p.csv" >/dev/null || fail predict
[ "$(wc -l <"$dir/p.csv")" -gt 10 ] || fail "predictions written"
"$clrnn" forecast --model "$dir/s.clrnn" --out "$dir/f.csv" >/dev/null || fail forecast
grep -q north "$dir/f.csv" && grep -q south "$dir/f.csv" || { cat "$dir/f.csv"; fail "a forecast per series"; }
echo "predict and forecast of the stateful model OK"

# train --models (a sweep) trains stateful models too, each as train alone.
"$clrnn" train $common --stateful --models 2 --seed 5 --save-each "$dir/each" >/dev/null ||
  fail "train --stateful --models 2"
"$clrnn" train $common --stateful --seed 6 --save "$dir/s6.clrnn" >/dev/null || fail "train --seed 6"
cmp -s "$dir/each/model-1.clrnn" "$dir/s6.clrnn" || fail "--models 2's model 1 is not train --seed 6's"
"$clrnn" train $common --seed 6 --save "$dir/d6.clrnn" >/dev/null || fail "train --seed 6 (default)"
cmp -s "$dir/each/model-1.clrnn" "$dir/d6.clrnn" && fail "--models 2 --stateful trained without it"
echo "train --stateful --models 2: each model bitwise train --stateful alone OK"

if "$clrnn" explain --help >/dev/null 2>&1; then
  refused "explain of a stateful model" \
    "^clrnn explain: input gradients of a stateful backend \(--stateful\)" \
    "$clrnn" explain --model "$dir/s.clrnn" --out "$dir/e.csv"
fi
refused "too few windows for the streams" \
  "^clrnn train: --stateful: the training rows cut into [0-9]+ back-to-back windows of --seq-len 4, fewer than the 60 streams" \
  "$clrnn" train $common --stateful --batch 60
refused "--stateful on a model trained without it" \
  "^clrnn train: --stateful: '.*d.clrnn' was trained without it" \
  "$clrnn" train --resume "$dir/d.clrnn" --stateful --epochs 4 --device cpu
"$clrnn" train --resume "$dir/s.clrnn" --epochs 4 --device cpu --batch 4 --save "$dir/s2.clrnn" >/dev/null ||
  fail "a stateful model resumes stateful"
echo "stateful_test: OK"
