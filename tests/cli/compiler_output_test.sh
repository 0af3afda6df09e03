#!/bin/sh
# compiler_output_test.sh CLRNN DATA: on OpenCL the log says "compiling
# kernels for ..." before a shape's first build, and not on the next run of
# that shape; nothing of the compiler reaches stderr without --verbose
# (issue 12, item 9). Skips (77) without an OpenCL device, except in CI.
set -u
clrnn=$1; data=$2
fail() { echo "NOT OK: $*"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
export XDG_CACHE_HOME="$dir/cache"
run="$clrnn train --data $data --features a,b --target y --seq-len 3 --hidden 7 --batch 8 --epochs 1 --device opencl --precision fp64"
$run >"$dir/first.txt" 2>"$dir/first.err"; rc=$?
if [ $rc -ne 0 ] && grep -qi "no opencl\|OpenCL is not installed\|fp64" "$dir/first.err"; then
  cat "$dir/first.err"
  [ -n "${CI:-}" ] && fail "no OpenCL fp64 device in CI"
  echo "SKIP: no OpenCL device with fp64"; exit 77
fi
[ $rc -eq 0 ] || { cat "$dir/first.err"; fail "train on OpenCL"; }
[ "$(grep -c "^compiling kernels for layers 2:7:1, seq-len 3, fp64, .* (first run of this shape" "$dir/first.txt")" -eq 1 ] ||
  { cat "$dir/first.txt"; fail "the first run does not say once that it compiles kernels"; }
[ -s "$dir/first.err" ] && { cat "$dir/first.err"; fail "stderr of a run without --verbose is not empty"; }
grep -q "warnings\? generated" "$dir/first.txt" && fail "the compiler's summary on stdout"
echo "first run: 'compiling kernels for ...' once, stderr empty OK"
$run >"$dir/second.txt" 2>"$dir/second.err" || fail "second run"
grep -q "compiling kernels" "$dir/second.txt" && fail "the second run of the shape says it compiles"
[ -s "$dir/second.err" ] && fail "stderr of the second run is not empty"
echo "second run of the shape: no compiling message OK"
$run --verbose --quiet >"$dir/verbose.txt" 2>&1 || fail "--verbose"
grep -q "^test: " "$dir/verbose.txt" || fail "--verbose --quiet printed no test line"
echo "--verbose accepted OK"
