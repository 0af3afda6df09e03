#!/bin/sh
# progress_test.sh CLRNN DATA: the progress line is drawn on a terminal (a
# pseudo-terminal made by script(1)), wiped before each epoch's line, and
# absent with --quiet or when the output is not a terminal.
set -u
clrnn=$1; data=$2
fail() { echo "NOT OK: $*"; exit 1; }
command -v script >/dev/null || { echo "SKIP: script(1) not installed (bsdutils)"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
run="$clrnn train --data $data --features a,b --target y --seq-len 5 --batch 8 --epochs 3 --device cpu"
esc=$(printf '\033')
script -qec "$run" /dev/null >"$dir/tty.txt" </dev/null || fail "train on a terminal"
grep -q "${esc}\[Kepoch 1/3 \[.*\] batch 1/10" "$dir/tty.txt" || fail "no progress line on a terminal"
# Each epoch line, once everything up to the last wipe (CR ESC [K) on its
# line is removed, must be the epoch line alone: no half-drawn bar before it.
epochs=$(sed "s/.*\r${esc}\[K//" "$dir/tty.txt" | grep -c "^epoch  *[0-9]  train loss")
[ "$epochs" -eq 3 ] || { cat -v "$dir/tty.txt"; fail "$epochs of 3 epoch lines start clean"; }
echo "terminal: progress line drawn, wiped before each of the 3 epoch lines OK"
script -qec "$run --quiet" /dev/null >"$dir/quiet.txt" </dev/null || fail "train --quiet"
grep -q "${esc}\[K\|batch 1/" "$dir/quiet.txt" && fail "progress line with --quiet"
grep -q "^test: " "$dir/quiet.txt" || fail "--quiet printed no test line"
echo "terminal with --quiet: no progress line OK"
$run >"$dir/pipe.txt" 2>&1 || fail "train into a pipe"
grep -q "$(printf '\r')" "$dir/pipe.txt" && fail "carriage returns in piped output"
echo "not a terminal: no progress line OK"
