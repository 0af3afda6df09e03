#!/usr/bin/env bash
# The checks that need a GPU, as one script for a machine lent for a few
# minutes (an NVIDIA H200 here; any OpenCL GPU works). Writes everything to
# $OUT (default: gpu-check/), and a summary line per step to $OUT/summary.txt.
#
#   1. OpenCL: finds the NVIDIA ICD (libnvidia-opencl.so.1) and an ICD
#      loader (libOpenCL.so.1); where the machine has no vendors file, makes
#      one in $OUT/vendors and points OCL_ICD_VENDORS at it; where it has no
#      loader, uses one carried in .gpu/ (CLRNN_OPENCL_LIBRARY).
#   2. clrnn: the carried build/clrnn if it runs here, else a build from
#      source (cmake and cc needed).
#   3. clrnn devices; the parity grid's shapes on the GPU for the group,
#      tile and gpu families in fp32 and fp64 (every tensor against the CPU
#      reference), and the bitwise rerun check;
#   4. clrnn tune (fp32, a short budget), then clrnn bench on the suite's shapes and PyTorch (cuDNN) on the same
#      shapes, one table with the ratios (scripts/bench.sh style); then groups
#      of N = 1, 64 and 1024 same-shape models (bench --models, the fused
#      family, and the gpu family, both with the model as a grid
#      dimension) next to bench_torch.py --models (stacked weights, batched
#      products);
#   5. the environment: nvidia-smi, clinfo, lscpu, versions.
#
# On this machine (no GPU) the same script runs on PoCL, to test it:
#   CLRNN_GPU_CHECK_DEVICE=opencl bash scripts/gpu_check.sh
# Each step has its own time limit so that one hang cannot eat the lease,
# and the whole script a budget (CLRNN_GPU_CHECK_BUDGET seconds, 570 by
# default, under the device's 10 minutes a command): a step gets at most
# what is left of it, and once it is spent the steps left are skipped, each
# saying so in the summary.
set -uo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$root/gpu-check}
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
budget=${CLRNN_GPU_CHECK_BUDGET:-570}
cap() { # seconds: at most what is left of the budget (0 once it is spent)
  local left=$((budget - SECONDS))
  [ "$left" -lt 5 ] && left=0
  echo $(($1 < left ? $1 : left))
}
step() { # name seconds command...: runs with a limit, logs to $out/name.log
  local name=$1 limit; limit=$(cap "$2"); shift 2
  local t0=$SECONDS
  if [ "$limit" -eq 0 ]; then
    say "$name: skipped, the script's budget of $budget s is spent"
    return 124
  fi
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  say "$name: exit $rc in $((SECONDS - t0)) s"
  return $rc
}

# --- 5 first, it is cheap and says what the machine is
{
  date -u; uname -a; lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Flags' | cut -c1-200
  nvidia-smi 2>&1 | head -20
  ls -l /etc/OpenCL/vendors 2>&1
} >"$out/machine.txt" 2>&1

# --- 1. OpenCL: the NVIDIA ICD and a loader
find_lib() { # name: the first path of a shared library, from ldconfig or the usual folders
  ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n {print $NF; exit}'
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 \
           /usr/local/cuda/lib64 /usr/lib/nvidia; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return; }
  done
}
nvidia_icd=$(find_lib libnvidia-opencl.so.1 | head -1)
if [ -z "${OCL_ICD_VENDORS:-}" ] && ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 &&
   [ -n "$nvidia_icd" ]; then
  mkdir -p "$out/vendors"
  echo "$nvidia_icd" >"$out/vendors/nvidia.icd"
  export OCL_ICD_VENDORS=$out/vendors
fi
loader=$(find_lib libOpenCL.so.1 | head -1)
if [ -z "$loader" ] && [ -e "$root/.gpu/libOpenCL.so.1" ]; then
  export CLRNN_OPENCL_LIBRARY=$root/.gpu/libOpenCL.so.1
  loader=$CLRNN_OPENCL_LIBRARY
fi
say "opencl: NVIDIA ICD ${nvidia_icd:-none}, loader ${loader:-none}, OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-(system)}"

# --- 2. clrnn
clrnn=$root/build/clrnn
if ! "$clrnn" --version >/dev/null 2>&1; then
  say "clrnn: the carried binary does not run here; building"
  step build 300 bash -c "cd '$root' && cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF && cmake --build build-gpu -j \$(nproc) --target clrnn" ||
    { say "clrnn: build failed (see build.log)"; exit 1; }
  clrnn=$root/build-gpu/clrnn
fi
say "clrnn: $("$clrnn" --version)"

# --- 3. devices, parity, determinism
step devices 60 "$clrnn" devices
device=${CLRNN_GPU_CHECK_DEVICE:-}
if [ -z "$device" ]; then # the first GPU that clrnn devices lists, else the first device
  device=$(awk '/^ *opencl:[0-9]+\.[0-9]+ .*GPU/ {print $1; exit}' "$out/devices.log")
  [ -n "$device" ] || device=$(awk '/^ *opencl:[0-9]+\.[0-9]+ / {print $1; exit}' "$out/devices.log")
fi
[ -n "$device" ] || { say "parity: no OpenCL device (see devices.log)"; exit 1; }
say "device: $device"
parity_ok=0 parity_failed=0 parity_skipped=0
: >"$out/parity.log"
# Shapes of the parity grid (tests/opencl/tests.cmake): not multiples of any
# work-group size, 1 included, stacks, clipping, Adam.
shapes=(
  "--layers 1:1:1 --batch 1 --seq-len 1"
  "--layers 3:4:1 --batch 3 --seq-len 2"
  "--layers 5:17:2 --batch 64 --seq-len 7"
  "--layers 1:64:1 --batch 257 --seq-len 33"
  "--layers 3:129:1 --batch 64 --seq-len 7"
  "--layers 5:4:2,2:64:3,3:1:1 --batch 3 --seq-len 33"
  "--layers 5:64:2 --batch 257 --seq-len 7 --optimizer adam --lr 0.003 --clip-norm 0.05"
  "--layers 7:256:1 --batch 33 --seq-len 4"
)
for family in group tile gpu; do
  for precision in fp32 fp64; do
    for shape in "${shapes[@]}"; do
      [ "$(cap 120)" -eq 0 ] && { parity_skipped=$((parity_skipped + 1)); continue; }
      # shellcheck disable=SC2086
      if timeout "$(cap 120)" "$clrnn" parity --device "$device" --kernels $family --precision $precision \
           --steps 20 $shape >>"$out/parity.log" 2>&1; then
        parity_ok=$((parity_ok + 1))
      else
        parity_failed=$((parity_failed + 1))
        echo "NOT OK: $family $precision $shape" >>"$out/parity.log"
      fi
    done
  done
done
say "parity: $parity_ok passed, $parity_failed failed, $parity_skipped skipped (out of the budget) (group, tile and gpu, fp32 and fp64, ${#shapes[@]} shapes)"
for family in group tile gpu; do
  for run in 1 2; do
    [ "$(cap 120)" -eq 0 ] && break
    timeout "$(cap 120)" "$clrnn" train --device "$device" --kernels $family --epochs 3 --quiet \
      --optimizer adam --clip-norm 0.5 --save "$out/rerun_${family}_$run.clrnn" >/dev/null 2>&1
  done
  if [ "$(cap 120)" -eq 0 ] && [ ! -s "$out/rerun_${family}_2.clrnn" ]; then
    say "determinism: $family: skipped, the script's budget of $budget s is spent"
  elif cmp -s "$out/rerun_${family}_1.clrnn" "$out/rerun_${family}_2.clrnn"; then
    say "determinism: $family: two runs, the same model file (bits)"
  else
    say "determinism: $family: NOT OK, two runs differ (or did not run)"
  fi
done

# --- 4. speed against PyTorch on the same device class
seconds=${CLRNN_GPU_CHECK_SECONDS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} # PyTorch's idle CPU threads sleep
# clrnn tune on the bench shapes (fp32; the cache in $OUT), which bench then reads.
export XDG_CACHE_HOME="$out/cache"
step tune 240 "$clrnn" tune --device "$device" --precision fp32 --budget 8 --seconds 0.1
step bench 240 "$clrnn" bench --devices "$device" --seconds "$seconds" \
  --csv "$out/bench_clrnn.csv"
torch_device=cuda
[ "${CLRNN_GPU_CHECK_DEVICE:-}" = opencl ] && torch_device=cpu # the PoCL dry run
python=
for candidate in ${TORCH_PYTHON:-} python3 /usr/bin/python3; do
  if "$candidate" -c 'import torch' 2>/dev/null; then python=$candidate; break; fi
done
if [ -n "$python" ]; then
  step bench_torch 240 "$python" "$root/scripts/bench_torch.py" --device "$torch_device" \
    --seconds "$seconds" --csv "$out/bench_torch.csv"
  [ -s "$out/bench_clrnn.csv" ] && [ -s "$out/bench_torch.csv" ] &&
  "$python" - "$out/bench_clrnn.csv" "$out/bench_torch.csv" >"$out/ratios.txt" 2>&1 <<'EOF'
import csv, sys
ours = {(r["shape"], r["precision"]): float(r["window_steps_per_second"])
        for r in csv.DictReader(open(sys.argv[1])) if r["device"] != "CPU reference"}
theirs = {(r["shape"], r["precision"]): float(r["window_steps_per_second"])
          for r in csv.DictReader(open(sys.argv[2]))}
print(f"{'shape':<10} {'prec':<5} {'clrnn':>12} {'pytorch':>12} {'ratio':>7}")
for key in sorted(ours):
    if key in theirs:
        print(f"{key[0]:<10} {key[1]:<5} {ours[key]:>12.4g} {theirs[key]:>12.4g} "
              f"{ours[key] / theirs[key]:>6.2f}x")
EOF
  [ -s "$out/ratios.txt" ] && cat "$out/ratios.txt" >>"$summary"
else
  say "bench_torch: no python here imports torch; clrnn's figures only"
fi
# Many models at once: N = 1, 64, 1024 (aggregate window-steps per second).
models=${CLRNN_GPU_CHECK_MODELS:-1,64,1024}
step bench_models 240 "$clrnn" bench --devices "$device" --kernels fused --shapes notebook,weather \
  --precision fp32 --models "$models" --seconds "$seconds" --no-profile \
  --csv "$out/bench_models_clrnn.csv"
# The same groups on the gpu family (what auto takes on a GPU; the model a
# grid dimension of its launches too).
step bench_models_gpu 180 "$clrnn" bench --devices "$device" --kernels gpu --shapes notebook,weather \
  --precision fp32 --models "$models" --seconds "$seconds" --no-profile \
  --csv "$out/bench_models_gpu.csv"
if [ -n "$python" ]; then
  step bench_models_torch 240 "$python" "$root/scripts/bench_torch.py" --device "$torch_device" \
    --shapes notebook,weather --precision fp32 --models "$models" --seconds "$seconds" \
    --csv "$out/bench_models_torch.csv"
  for family in fused gpu; do # the fused table keeps its names
    csv=$out/bench_models_clrnn.csv ratios=$out/ratios_models.txt
    if [ "$family" = gpu ]; then
      csv=$out/bench_models_gpu.csv ratios=$out/ratios_models_gpu.txt
    fi
    [ -s "$csv" ] || continue
    "$python" - "$csv" "$out/bench_models_torch.csv" >"$ratios" 2>&1 <<'EOF'
import csv, sys
key = lambda r: (r["shape"], int(r["models"]))
ours = {key(r): float(r["window_steps_per_second"]) for r in csv.DictReader(open(sys.argv[1]))
        if r["device"] != "CPU reference"}
theirs = {key(r): float(r["window_steps_per_second"]) for r in csv.DictReader(open(sys.argv[2]))}
print(f"{'shape':<10} {'models':>6} {'clrnn':>12} {'pytorch':>12} {'ratio':>7} {'clrnn/N=1':>9}")
for k in sorted(ours):
    one = ours.get((k[0], 1), float("nan"))
    t = theirs.get(k, float("nan"))
    print(f"{k[0]:<10} {k[1]:>6} {ours[k]:>12.4g} {t:>12.4g} {ours[k] / t:>6.2f}x "
          f"{ours[k] / one:>8.2f}x")
EOF
    { echo "models, $family kernels:"; cat "$ratios"; } >>"$summary"
  done
fi
command -v clinfo >/dev/null && clinfo >"$out/clinfo.txt" 2>&1
say "done: $out"
