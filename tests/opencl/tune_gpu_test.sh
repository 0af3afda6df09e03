#!/usr/bin/env bash
# tune_gpu_test.sh CLRNN: clrnn tune searches the gpu family's tunables
# (family_gpu.c) on a small shape, with the cache folder (XDG_CACHE_HOME)
# in a temporary folder. No timing is asserted. Checks: every tunable is
# listed; no candidate fails its parity check (each is a build of the
# kernels at other sizes); the winner is stored for fp32 and fp64, bench
# reads it back, and `clrnn parity` (which reads the cache) holds with it.
# Exit 77 (skip) without an OpenCL device outside CI.
set -u
clrnn=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
export XDG_CACHE_HOME=$dir/cache
fail() { echo "NOT OK: $*"; exit 1; }
shape=t=3:9:2/3/40
out=$("$clrnn" tune --shapes "$shape" --kernels gpu --precision fp32,fp64 --seconds 0.005 \
  --budget 5 --steps 2 --verbose 2>&1); code=$?
if [ $code -ne 0 ] && printf '%s' "$out" | grep -qE "no OpenCL platform|none has a usable device"; then
  [ -n "${CI:-}" ] && fail "no OpenCL device, and CI is set"
  echo "no OpenCL device: skipped"; exit 77
fi
printf '%s\n' "$out"
[ $code -eq 0 ] || fail "clrnn tune exited $code"
for t in RW RH NUW WTILES GLOCAL GPER GCW GTS; do
  printf '%s' "$out" | grep -qE "^    gpu +$t " || fail "tunable $t not listed"
done
printf '%s' "$out" | grep -q ": rejected" && fail "a candidate failed"
cache=$(ls "$XDG_CACHE_HOME"/clrnn/tune-*.txt 2>/dev/null)
[ -n "$cache" ] || fail "no cache file"
for p in fp32 fp64; do
  grep -qP "^entry\tgpu\t$p\t3:9:2/3/64\tRW=\d+ RH=\d+ NUW=\d+ WTILES=\d+ GLOCAL=\d+ GPER=\d+ GCW=\d+ GTS=\d+$" \
    "$cache" || fail "no gpu $p entry"
done
stored=$(grep -P "^entry\tgpu\tfp32\t" "$cache" | cut -f5)
said=$("$clrnn" bench --shapes "$shape" --devices opencl --precision fp32 --kernels gpu \
  --seconds 0.01 --warmup 0 --no-profile --verbose 2>&1 >/dev/null) || fail "bench with the cache"
printf '%s' "$said" | grep -qF "tuning: gpu kernels (3:9:2/3/64 fp32): $stored, the tuning cache" ||
  fail "bench did not read the stored values back: $said"
for p in fp32 fp64; do
  "$clrnn" parity --layers 3:9:2 --seq-len 3 --batch 40 --kernels gpu --precision $p \
    --steps 2 --quiet || fail "parity with the cached $p values"
done
echo "the gpu tunables searched, stored, read back and within parity: OK"
