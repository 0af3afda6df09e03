#!/usr/bin/env bash
# The measurements of docs/scaling.md: clrnn train under mpirun at 1-4 ranks
# on the bench shapes (cli/cli_bench.c), each rank its own context on the
# same OpenCL device, and the per-rank split of a step that rank 0 prints
# (its own work: its windows, its fold and the finish; receiving the running
# sums; sending them; the total's broadcast). The tables are random (a table of I feature columns); one
# epoch of STEPS batches (per shape below, times SCALE).
#   scripts/mpi_scaling.sh [build/clrnn] [SCALE]
set -euo pipefail
clrnn=${1:-build/clrnn}
scale=${2:-1}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export POCL_MAX_PTHREAD_COUNT=${POCL_MAX_PTHREAD_COUNT:-1}
# name I H T B, as cli_bench.c's suite, and STEPS
shapes="notebook 3 4 7 668 200
weather 3 16 7 32 1000
medium 8 64 32 1024 20
large 32 256 64 256 20"
while read -r name I H T B steps; do
  steps=$((steps * scale))
  rows=$(((B * steps + T) * 100 / 90 + 10))
  /usr/bin/python3 - "$dir/$name.csv" "$I" "$rows" <<'PY'
import random, sys
path, n_in, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
with open(path, "w") as f:
    f.write(",".join([f"f{i}" for i in range(n_in)] + ["y"]) + "\n")
    for _ in range(rows):
        f.write(",".join(f"{random.gauss(0, 1):.6f}" for _ in range(n_in + 1)) + "\n")
PY
  features=$(seq -s, -f 'f%g' 0 $((I - 1)))
  run=(train --data "$dir/$name.csv" --features "$features" --target y --hidden "$H"
       --seq-len "$T" --batch "$B" --epochs 1 --train-fraction 0.9 --val-fraction 0.01
       --device "${CLRNN_DEVICE:-opencl}" --save "$dir/m.clrnn")
  for r in 1 2 3 4; do
    best=""
    for try in 1 2 3; do # the fastest of three: the machine is shared
      if [ "$r" = 1 ]; then out=$("$clrnn" "${run[@]}" 2>&1 </dev/null); else
        out=$(mpirun --oversubscribe --quiet -np "$r" "$clrnn" "${run[@]}" 2>&1 </dev/null); fi
      secs=$(echo "$out" | sed -n 's/^trained 1 epochs in \([0-9.]*\) s.*/\1/p')
      if [ -z "$best" ] || awk "BEGIN { exit !($secs < $best) }"; then
        best=$secs
        lines=$(echo "$out" | grep '^rank' || true)
      fi
    done
    echo "$name R=$r: $steps steps in $best s ($(awk "BEGIN { printf \"%.3f\", 1e3 * $best / $steps }") ms a step)"
    [ -n "$lines" ] && echo "$lines" | sed 's/^/  /'
  done
done <<<"$shapes"
