#!/usr/bin/env bash
# tune_test.sh CLRNN: clrnn tune and its per-device cache, on a tiny shape,
# with the cache folder (XDG_CACHE_HOME) in a temporary folder. No timing is
# asserted. Checks: tune writes a cache that a second run (bench --verbose)
# reads back; a candidate that fails its parity check (CLRNN_TUNE_FAULT) is
# never stored; every stored candidate passes `clrnn parity` (which reads
# the cache) in fp32 and fp64; --no-tune-cache is honoured; a corrupt cache
# is ignored with one warning line. Exit 77 (skip) without an OpenCL device
# outside CI.
set -u
clrnn=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
export XDG_CACHE_HOME=$dir/cache
fail() { echo "NOT OK: $*"; exit 1; }
shape=tiny=3:17:1/4/20 # no lanes, no explicit vectors: WB is searched
tune() { "$clrnn" tune --shapes "$shape" --kernels tile --seconds 0.005 --budget 5 "$@"; }

out=$(CLRNN_TUNE_FAULT=WB=2 tune --precision fp32,fp64 2>&1); code=$?
if [ $code -ne 0 ] && printf '%s' "$out" | grep -qE "no OpenCL platform|none has a usable device|cannot run"; then
  [ -n "${CI:-}" ] && fail "no OpenCL device, and CI is set"
  echo "no OpenCL device: skipped"; exit 77
fi
printf '%s\n' "$out"
[ $code -eq 0 ] || fail "clrnn tune exited $code"
cache=$(ls "$XDG_CACHE_HOME"/clrnn/tune-*.txt 2>/dev/null)
[ -n "$cache" ] && [ "$(printf '%s\n' "$cache" | wc -l)" -eq 1 ] || fail "no single cache file"
cat "$cache"
head -1 "$cache" | grep -qx "clrnn tuning cache 1" || fail "cache header"
for p in fp32 fp64; do
  grep -qP "^entry\ttile\t$p\t3:17:1/4/32\tLANES=\d+ WB=\d+ " "$cache" || fail "no tile $p entry"
done
# The faulty value was tried, rejected, and never stored.
printf '%s' "$out" | grep -q "WB=2 .*rejected: parity" || fail "WB=2 was not tried and rejected"
grep -q " WB=2 " "$cache" && fail "a candidate that failed parity was stored"
echo "a candidate that fails parity is rejected and not stored: OK"

# A second run reads the cache back: the values it reports are the stored ones.
stored=$(grep -P "^entry\ttile\tfp32\t" "$cache" | cut -f5)
bench() { "$clrnn" bench --shapes "$shape" --devices opencl --precision fp32 --kernels tile \
  --seconds 0.01 --warmup 0 --no-profile --verbose "$@"; }
said=$(bench 2>&1 >/dev/null) || fail "bench with the cache"
printf '%s\n' "$said"
printf '%s' "$said" | grep -qF "tuning: tile kernels (3:17:1/4/32 fp32): $stored, the tuning cache" ||
  fail "bench did not read the stored values back"
said=$(bench --no-tune-cache 2>&1 >/dev/null) || fail "bench --no-tune-cache"
printf '%s' "$said" | grep -q "device-derived defaults (tuning cache not read)" ||
  fail "--no-tune-cache not honoured: $said"
echo "the cache is read back, and --no-tune-cache ignores it: OK"

# The stored values hold the parity tolerances (parity reads the cache).
for p in fp32 fp64; do
  "$clrnn" parity --layers 3:17:1 --seq-len 4 --batch 20 --kernels tile --precision $p \
    --steps 2 --quiet || fail "parity with the cached $p values"
done

# A corrupt cache: ignored with one warning line; training still runs.
printf 'clrnn tuning cache 1\nplatform\tx\ngarbage\n' >"$cache"
said=$(bench 2>&1 >/dev/null) || fail "bench with a corrupt cache"
[ "$(printf '%s\n' "$said" | grep -c "warning: ignoring the tuning cache")" -eq 1 ] ||
  fail "expected one warning line: $said"
printf '%s' "$said" | grep -q "device-derived defaults" || fail "not the defaults: $said"
head -c 3000 /dev/urandom >"$cache"
"$clrnn" train --epochs 1 --quiet --kernels tile >/dev/null 2>"$dir/err" || fail "train, random cache"
[ "$(wc -l <"$dir/err")" -le 1 ] || fail "more than one line: $(cat "$dir/err")"
# ... and tune rewrites it.
tune --precision fp32 >/dev/null 2>&1 || fail "tune over a corrupt cache"
head -1 "$cache" | grep -qx "clrnn tuning cache 1" || fail "tune did not rewrite the cache"
echo "a corrupt cache is ignored with one warning line, and rewritten by tune: OK"
