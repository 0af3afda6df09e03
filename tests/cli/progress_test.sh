#!/bin/sh
# progress_test.sh CLRNN DATA: the progress line is drawn on a terminal (a
# pseudo-terminal made by script(1)), wiped before each epoch's line, never
# wider than the terminal, and absent with --quiet or when the output is
# not a terminal or goes into a pipe.
set -u
clrnn=$1; data=$2
fail() { echo "NOT OK: $*"; exit 1; }
command -v script >/dev/null || { echo "SKIP: script(1) not installed (bsdutils)"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
run="$clrnn train --data $data --features a,b --target y --seq-len 5 --batch 8 --epochs 3 --device cpu"
esc=$(printf '\033')
script -qec "$run" /dev/null >"$dir/tty.txt" </dev/null || fail "train on a terminal"
grep -q "$(printf '\r')epoch 1/3 \[.*\] batch 1/10 .*${esc}\[K" "$dir/tty.txt" || fail "no progress line on a terminal"
# Each epoch line, once everything up to the last wipe (CR ESC [K) on its
# line is removed, must be the epoch line alone: no half-drawn bar before it.
epochs=$(sed "s/.*\r${esc}\[K//" "$dir/tty.txt" | grep -c "^epoch  *[0-9]  train loss")
[ "$epochs" -eq 3 ] || { cat -v "$dir/tty.txt"; fail "$epochs of 3 epoch lines start clean"; }
echo "terminal: progress line drawn, wiped before each of the 3 epoch lines OK"
# Narrow terminals: each drawing (from a carriage return to the next one or
# to the end of the line, escapes removed) stays within width - 1 columns,
# from the window size and, where the terminal has none, from $COLUMNS.
for cols in 40 24; do
  script -qec "stty cols $cols; $run" /dev/null >"$dir/narrow.txt" </dev/null || fail "train at $cols columns"
  longest=$(tr '\r' '\n' <"$dir/narrow.txt" | sed "s/${esc}\[K//g" | grep "^epoch [0-9]*/3" |
    awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
  [ "$longest" -gt 0 ] && [ "$longest" -lt "$cols" ] ||
    { cat -v "$dir/narrow.txt"; fail "progress line of $longest columns at $cols"; }
  echo "terminal of $cols columns: longest progress line $longest columns OK"
done
script -qec "stty cols 0; COLUMNS=30 $run" /dev/null >"$dir/columns.txt" </dev/null || fail "train, COLUMNS=30"
longest=$(tr '\r' '\n' <"$dir/columns.txt" | sed "s/${esc}\[K//g" | grep "^epoch [0-9]*/3" |
  awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$longest" -gt 0 ] && [ "$longest" -lt 30 ] || fail "progress line of $longest columns with COLUMNS=30"
echo "terminal without a size, COLUMNS=30: longest progress line $longest columns OK"
# stdout into a pipe (clrnn train | tee): its lines would come through the
# terminal later, across the line being drawn: none is drawn.
script -qec "$run | cat" /dev/null >"$dir/piped.txt" </dev/null || fail "train | cat"
grep -q "batch 1/" "$dir/piped.txt" && fail "progress line while stdout is a pipe"
echo "stdout into a pipe: no progress line OK"
script -qec "$run --quiet" /dev/null >"$dir/quiet.txt" </dev/null || fail "train --quiet"
grep -q "${esc}\[K\|batch 1/" "$dir/quiet.txt" && fail "progress line with --quiet"
grep -q "^test: " "$dir/quiet.txt" || fail "--quiet printed no test line"
echo "terminal with --quiet: no progress line OK"
$run >"$dir/pipe.txt" 2>&1 || fail "train into a pipe"
grep -q "$(printf '\r')" "$dir/pipe.txt" && fail "carriage returns in piped output"
echo "not a terminal: no progress line OK"
