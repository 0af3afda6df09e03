#!/bin/sh
# bad_input_test.sh CLRNN DATA: bad input to train, eval, predict and export
# stops with exactly one line on stderr, nothing on stdout, exit code 2, and
# leaves no file behind (every output flag points into an empty folder).
set -u
clrnn=$1; data=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
small="--data $data --features a,b --target y --seq-len 5 --device cpu"
$clrnn train $small --epochs 1 --batch 8 --quiet --save "$dir/model.clrnn" >/dev/null || fail "train a model"
mkdir "$dir/out"
outputs="--save $dir/out/m.clrnn --log $dir/out/m.csv --log-json $dir/out/m.json --plot $dir/out/r.svg"
n=0
expect_refusal() { # what, then the command line
  what=$1; shift
  "$@" >"$dir/stdout" 2>"$dir/stderr"; code=$?
  lines=$(wc -l <"$dir/stderr")
  [ $code -eq 2 ] || fail "$what: exit $code"
  [ "$lines" -eq 1 ] || { cat "$dir/stderr"; fail "$what: $lines lines on stderr"; }
  [ -s "$dir/stdout" ] && { cat "$dir/stdout"; fail "$what: wrote to stdout"; }
  [ -z "$(ls -A "$dir/out")" ] || fail "$what: left $(ls "$dir/out")"
  n=$((n + 1))
  echo "$what: $(cat "$dir/stderr")"
}
expect_refusal "unknown device" $clrnn train $small $outputs --device tpu
expect_refusal "layers that do not fit the data" $clrnn train $small $outputs --layers 3:8:1
expect_refusal "batch larger than the windows" $clrnn train $small $outputs --batch 5000
expect_refusal "unknown feature" $clrnn train $small $outputs --features a,nope
expect_refusal "seq-len 0" $clrnn train $small $outputs --seq-len 0
expect_refusal "lr out of range" $clrnn train $small $outputs --lr 1000
expect_refusal "a flag without its value" $clrnn train $small $outputs --epochs
expect_refusal "a stray argument" $clrnn train $small $outputs stray
expect_refusal "--save is a folder" $clrnn train $small $outputs --save "$dir/out"
expect_refusal "--log in a missing folder" $clrnn train $small $outputs --log "$dir/nope/m.csv"
expect_refusal "--resume of a missing file" $clrnn train $small $outputs --resume "$dir/nope.clrnn"
expect_refusal "--resume with another optimizer" $clrnn train $small $outputs --epochs 3 \
  --resume "$dir/model.clrnn" --optimizer sgd
expect_refusal "--resume with nothing left to do" $clrnn train $small $outputs --epochs 1 \
  --resume "$dir/model.clrnn"
expect_refusal "--resume with other columns" $clrnn train $small $outputs --epochs 3 \
  --resume "$dir/model.clrnn" --features b,a
head -c 100 "$dir/model.clrnn" >"$dir/short.clrnn"
expect_refusal "eval of a truncated model" $clrnn eval --model "$dir/short.clrnn" --data "$data"
expect_refusal "eval with a flag of predict" $clrnn eval --model "$dir/model.clrnn" --out "$dir/out/x"
expect_refusal "predict into a missing folder" $clrnn predict --model "$dir/model.clrnn" \
  --data "$data" --out "$dir/nope/p.csv"
printf ',a,y\n2020-01-01,1,2\n2020-01-02,3,4\n' >"$dir/other.csv"
expect_refusal "predict on data without the model's columns" $clrnn predict \
  --model "$dir/model.clrnn" --data "$dir/other.csv" --out "$dir/out/p.csv"
expect_refusal "export over a folder" $clrnn export --model "$dir/model.clrnn" --out "$dir/out"
expect_refusal "export of a CSV" $clrnn export --model "$data" --out "$dir/out/w.npz"
echo "$n kinds of bad input: one line each, exit 2, no file written OK"
