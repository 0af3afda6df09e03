#!/bin/sh
# plot_test.sh CLRNN DATA: --plot writes an SVG that a real renderer
# (rsvg-convert, Debian librsvg2-bin) turns into a PNG.
set -u
clrnn=$1; data=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
$clrnn train --data "$data" --features a,b --target y --seq-len 5 --epochs 3 --batch 8 \
  --device cpu --quiet --plot "$dir/report.svg" --log "$dir/m.csv" --log-json "$dir/m.json" ||
  { echo "NOT OK: train"; exit 1; }
command -v rsvg-convert >/dev/null || { echo "NOT OK: rsvg-convert missing (apt-get install librsvg2-bin)"; exit 1; }
rsvg-convert "$dir/report.svg" -o "$dir/report.png" || { echo "NOT OK: rsvg-convert failed"; exit 1; }
size=$(wc -c <"$dir/report.png")
[ "$size" -gt 5000 ] || { echo "NOT OK: PNG of $size bytes"; exit 1; }
lines=$(wc -l <"$dir/m.csv"); jl=$(wc -l <"$dir/m.json")
[ "$lines" -eq 4 ] && [ "$jl" -eq 3 ] || { echo "NOT OK: log lines $lines csv, $jl json"; exit 1; }
head -1 "$dir/m.csv" | grep -q "^epoch,train_loss,val_loss,lr,grad_norm,windows_per_second,seconds$" ||
  { echo "NOT OK: CSV header"; exit 1; }
echo "SVG rendered by rsvg-convert to a $size-byte PNG; metrics CSV $lines lines, JSON $jl lines OK"
