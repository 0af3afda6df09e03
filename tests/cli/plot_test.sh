#!/bin/sh
# plot_test.sh CLRNN DATA: --plot writes an SVG that a real renderer
# (rsvg-convert, Debian librsvg2-bin) turns into a PNG; --log and --log-json
# write one line per epoch with every figure a number.
set -u
clrnn=$1; data=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
$clrnn train --data "$data" --features a,b --target y --seq-len 5 --epochs 3 --batch 8 \
  --device cpu --quiet --plot "$dir/report.svg" --log "$dir/m.csv" --log-json "$dir/m.json" ||
  fail train
command -v rsvg-convert >/dev/null || fail "rsvg-convert missing (apt-get install librsvg2-bin)"
rsvg-convert "$dir/report.svg" -o "$dir/report.png" || fail "rsvg-convert failed"
size=$(wc -c <"$dir/report.png")
[ "$size" -gt 5000 ] || fail "PNG of $size bytes"
# PNG width and height: big-endian u32s at bytes 16 and 20 (the IHDR chunk).
dims=$(od -An -tu1 -j16 -N8 "$dir/report.png" | awk '{print $3*256+$4 "x" $7*256+$8}')
[ "$dims" = "900x800" ] || fail "PNG is $dims, expected 900x800 (two panels)"
for text in "Loss per epoch" "y over the test split" ">training<" ">validation<" ">actual<" \
  ">predicted<" "date of the predicted row" "mean window loss"; do
  grep -q "$text" "$dir/report.svg" || fail "the SVG has no '$text'"
done
[ "$(grep -c '<polyline' "$dir/report.svg")" -eq 4 ] || fail "expected 4 series"
echo "SVG: two panels, titles, axis labels, legends, 4 series; rendered to a $dims PNG of $size bytes OK"
lines=$(wc -l <"$dir/m.csv"); jl=$(wc -l <"$dir/m.json")
[ "$lines" -eq 4 ] && [ "$jl" -eq 3 ] || fail "log lines $lines csv, $jl json"
head -1 "$dir/m.csv" | grep -q "^epoch,train_loss,val_loss,lr,grad_norm,windows_per_second,seconds$" ||
  fail "CSV header"
# Every field of every CSV row a finite number (a NaN gradient norm went unnoticed once).
tail -n +2 "$dir/m.csv" | grep -Eqv '^[0-9]+(,[0-9.e+-]+){6}$' && fail "CSV row not all numbers"
grep -qi 'nan\|inf' "$dir/m.csv" "$dir/m.json" && fail "NaN or infinity in the logs"
grep -Eq '^\{"epoch": 3, "train_loss": [0-9.e+-]+, "val_loss": [0-9.e+-]+, "lr": [0-9.e+-]+, "grad_norm": [0-9.e+-]+, "windows_per_second": [0-9.e+-]+, "seconds": [0-9.e+-]+\}$' \
  "$dir/m.json" || fail "JSON line of epoch 3"
echo "metrics CSV $lines lines, JSON $jl lines, all numbers OK"
