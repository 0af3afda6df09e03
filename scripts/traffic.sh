#!/usr/bin/env bash
# Global memory traffic of each kernel family, per window-step, counted by
# Oclgrind's instruction counter (--inst-counts: the bytes of every global
# load and store a kernel's work-items execute, and of their vloadN/vstoreN
# of global memory, which it counts as calls) over one training batch of
# `clrnn parity` (forward, loss, BPTT, gradient sums; no optimizer step),
# fp32, next to what the activations alone must move:
#   min = (I + O + 2 H) reals a window-step: x and the target read once,
#         h written once and read back once in BPTT.
#   scripts/traffic.sh [--families "gpu ..."] [--max-ratio X] [path/to/clrnn]
# (default build/clrnn, every family that runs the shape); with --max-ratio
# it exits 1 when a family's total exceeds X times the minimum.
set -euo pipefail
only="" max_ratio=""
while [ $# -gt 0 ]; do
  case $1 in
    --families) only=$2; shift 2 ;;
    --max-ratio) max_ratio=$2; shift 2 ;;
    *) break ;;
  esac
done
clrnn=${1:-build/clrnn}
failed=0
command -v oclgrind >/dev/null || { echo "traffic.sh: oclgrind is not installed" >&2; exit 1; }
# shape: layers|seq-len|batch|families
shapes=("8:64:1|8|64|group tile gpu" "3:16:1|7|64|group tile fused gpu")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '| shape | family | kernel | global B / window-step |\n|---|---|---|---|\n'
summary=()
for entry in "${shapes[@]}"; do
  IFS='|' read -r layers T B families <<<"$entry"
  IFS=: read -r I H O <<<"$layers"
  steps=$((B * T))
  min=$(( (I + O + 2 * H) * 4 ))
  for family in $families; do
    if [ -n "$only" ] && ! [[ " $only " == *" $family "* ]]; then continue; fi
    oclgrind --inst-counts "$clrnn" parity --device opencl --kernels "$family" --precision fp32 \
      --layers "$layers" --seq-len "$T" --batch "$B" --steps 0 --quiet >"$out" 2>&1 ||
      { echo "traffic.sh: $family on $layers failed:" >&2; tail -5 "$out" >&2; exit 1; }
    # per kernel name: the sum over its launches of global loads and stores
    rows=$(awk -v steps="$steps" '
      /^Instructions executed for kernel/ { k = $5; gsub(/[\x27:]/, "", k); if (!(k in seen)) { seen[k] = 1; order[n++] = k } }
      /- (load|store) global \(/ { b = $0; sub(/.*\(/, "", b); sub(/ bytes\).*/, "", b); bytes[k] += b }
      # vloadN / vstoreN of global memory (address space 1) are builtin calls
      # to Oclgrind, not loads and stores: N reals each
      /call _Z[0-9]+v(load|store)[0-9]+.*AS1/ {
        m = $0; sub(/.*call _Z[0-9]+v(load|store)/, "", m); lanes = m + 0
        size = ($0 ~ /_Dv[0-9]+_d|AS1Kd|AS1d/) ? 8 : 4
        bytes[k] += $1 * lanes * size }
      END { for (i = 0; i < n; i++) { t += bytes[order[i]]; printf "%s %.1f\n", order[i], bytes[order[i]] / steps }
            printf "TOTAL %.1f\n", t / steps }' "$out")
    while read -r kernel per; do
      if [ "$kernel" = TOTAL ]; then
        ratio=$(awk -v a="$per" -v m="$min" 'BEGIN { print a / m }')
        printf '| %s T=%s B=%s | %s | **all** | **%s** (%.1fx min) |\n' "$layers" "$T" "$B" "$family" \
          "$per" "$ratio"
        if [ -n "$max_ratio" ] && awk -v r="$ratio" -v x="$max_ratio" 'BEGIN { exit !(r > x) }'; then
          echo "traffic.sh: $family on $layers moves ${ratio}x the minimum, more than ${max_ratio}x" >&2
          failed=1
        fi
      else
        printf '| %s T=%s B=%s | %s | %s | %s |\n' "$layers" "$T" "$B" "$family" "$kernel" "$per"
      fi
    done <<<"$rows"
  done
  summary+=("$layers T=$T B=$B: activations alone (I + O + 2H) x 4 bytes = $min B / window-step")
done
printf '\n'
printf '%s\n' "${summary[@]}"
exit $failed
