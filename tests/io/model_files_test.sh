#!/bin/sh
# model_files_test.sh CLRNN DATA: save a model, then eval, predict and
# export it; a truncated or corrupted model file is refused with exit 2.
set -u
clrnn=$1; data=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
opts="--data $data --features a,b --target y --seq-len 5"
$clrnn train $opts --epochs 3 --batch 8 --device cpu --quiet --save "$dir/m.clrnn" >"$dir/train.txt" || fail train
rmse_train=$(sed -n 's/^test: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/train.txt")
$clrnn eval --model "$dir/m.clrnn" --data "$data" >"$dir/eval.txt" || fail eval
rmse_eval=$(sed -n 's/^test split: .*RMSE \([0-9.]*\),.*/\1/p' "$dir/eval.txt")
[ -n "$rmse_train" ] && [ "$rmse_train" = "$rmse_eval" ] || fail "eval RMSE '$rmse_eval' != train's test RMSE '$rmse_train'"
echo "eval on the test split reproduces train's test RMSE $rmse_eval OK"
$clrnn predict --model "$dir/m.clrnn" --data "$data" --out "$dir/p.csv" >/dev/null || fail predict
rows=$(($(wc -l <"$data") - 1)); lines=$(($(wc -l <"$dir/p.csv") - 1))
[ "$lines" -eq $((rows - 5 + 1)) ] || fail "predict wrote $lines rows for $rows rows and seq-len 5"
head -1 "$dir/p.csv" | grep -q "^date,y,y_pred$" || fail "predict header"
echo "predict: $lines rows (every row ending a full window) OK"
$clrnn export --model "$dir/m.clrnn" --out "$dir/w.npz" >/dev/null || fail export
[ -s "$dir/w.npz" ] || fail "empty npz"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  /usr/bin/python3 -c "
import numpy as np, sys
w = np.load(sys.argv[1])
assert w['layer0.W_i'].shape == (2, 16) and w['layer0.W_h'].shape == (16, 16)
assert w['layer0.W_o'].shape == (16, 1) and w['layer0.b_o'].shape == (1,) and w['layer0.b_i'].shape == (16,)
" "$dir/w.npz" || fail "numpy cannot read the npz"
  echo "export: numpy reads the npz with the shapes of docs/model.md OK"
fi
size=$(wc -c <"$dir/m.clrnn")
head -c $((size / 2)) "$dir/m.clrnn" >"$dir/trunc.clrnn"
$clrnn eval --model "$dir/trunc.clrnn" --data "$data" 2>"$dir/err.txt"; code=$?
[ $code -eq 2 ] && grep -q "trunc.clrnn" "$dir/err.txt" || fail "truncated file: exit $code"
cp "$dir/m.clrnn" "$dir/bad.clrnn"
printf '\377' | dd of="$dir/bad.clrnn" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
$clrnn eval --model "$dir/bad.clrnn" --data "$data" 2>"$dir/err.txt"; code=$?
[ $code -eq 2 ] && grep -qi "corrupt\|checksum" "$dir/err.txt" || fail "corrupted file: exit $code"
echo "truncated and corrupted model files are refused with exit 2 OK"
$clrnn eval --model "$dir/m.clrnn" --data "$dir/nonexistent.csv" 2>/dev/null; code=$?
[ $code -eq 2 ] || fail "missing data: exit $code"
printf ',a,y\n2020-01-01,1,2\n' >"$dir/other.csv"
$clrnn eval --model "$dir/m.clrnn" --data "$dir/other.csv" 2>"$dir/err.txt"; code=$?
[ $code -eq 2 ] && grep -q "no column named 'b'" "$dir/err.txt" || fail "features mismatch: exit $code"
echo "data without the model's features is refused OK"
