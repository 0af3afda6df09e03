#!/bin/sh
# resume_test.sh CLRNN DATA DEVICE [extra train options...]
# Training 4 epochs straight and training 2, then resuming to 4, must give
# the same model file, byte for byte (parameters, optimizer state, step).
set -u
clrnn=$1; data=$2; device=$3; shift 3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
common="--data $data --features a,b --target y --seq-len 5 --batch 7 --device $device --quiet $*"
$clrnn train $common --epochs 4 --save "$dir/full.clrnn" >/dev/null || { echo "NOT OK: full run"; exit 1; }
$clrnn train $common --epochs 2 --save "$dir/part.clrnn" >/dev/null || { echo "NOT OK: part run"; exit 1; }
$clrnn train $common --epochs 4 --resume "$dir/part.clrnn" --save "$dir/resumed.clrnn" >/dev/null ||
  { echo "NOT OK: resumed run"; exit 1; }
if cmp "$dir/full.clrnn" "$dir/resumed.clrnn"; then
  echo "4 epochs straight == 2 epochs + resume to 4: $(wc -c <"$dir/full.clrnn") bytes identical ($device $*) OK"
else
  echo "NOT OK: the resumed model differs from the uninterrupted one"; exit 1
fi
if cmp -s "$dir/part.clrnn" "$dir/full.clrnn"; then echo "NOT OK: training changed nothing"; exit 1; fi
