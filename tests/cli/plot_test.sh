#!/bin/sh
# plot_test.sh CLRNN DATA: --plot writes an SVG that a real renderer
# (rsvg-convert, Debian librsvg2-bin) turns into a PNG, with the figures
# printed on it, the legends in their own bands, a group of panels (whole
# split, residual, zoom) for every output, the kept epoch marked, row
# labels or row numbers on the x axis, and a plot of the epochs done when
# training diverges (issue 12, item 10); --log and --log-json write one
# line per epoch with every figure a number.
set -u
clrnn=$1; data=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
command -v rsvg-convert >/dev/null || fail "rsvg-convert missing (apt-get install librsvg2-bin)"
# render NAME: the SVG is well formed (xmllint where installed) and renders.
render() {
  if command -v xmllint >/dev/null; then xmllint --noout "$dir/$1.svg" || fail "$1.svg is not well-formed XML"; fi
  rsvg-convert "$dir/$1.svg" -o "$dir/$1.png" || fail "rsvg-convert failed on $1.svg"
  size=$(wc -c <"$dir/$1.png")
  [ "$size" -gt 5000 ] || fail "PNG of $size bytes"
  # PNG width and height: big-endian u32s at bytes 16 and 20 (the IHDR chunk).
  dims=$(od -An -tu1 -j16 -N8 "$dir/$1.png" | awk '{print $3*256+$4 "x" $7*256+$8}')
}
has() { grep -q -- "$2" "$dir/$1.svg" || fail "$1.svg has no '$2'"; }

$clrnn train --data "$data" --features a,b --target y --seq-len 5 --epochs 3 --batch 8 \
  --device cpu --plot "$dir/one.svg" --log "$dir/m.csv" --log-json "$dir/m.json" >"$dir/one.txt" ||
  fail train
render one
case $dims in 1100x*) ;; *) fail "PNG is $dims, expected 1100 wide" ;; esac
one_height=${dims#*x}
for text in "Loss per epoch" "y over the test split: actual and predicted" \
  "y: residual of the model (prediction - actual)" "y: the last [0-9]* test points (zoom)" \
  ">training<" ">validation<" ">actual<" ">model<" "date of the predicted row" \
  "mean window loss" "Output 1 of 1: y"; do
  has one "$text"
done
# The figures on the plot are those printed: the test line's RMSE and MAE.
rmse=$(sed -n 's/^test: .* RMSE \([0-9.]*\), MAE \([0-9.]*\) .*/RMSE \1, MAE \2/p' "$dir/one.txt")
[ -n "$rmse" ] || fail "no test line"
has one ">model, test split: $rmse<"
has one ">model: $rmse<"
# No legend over the data: no legend text (12 px, left-anchored) inside a
# plotting area (the frames, stroke #444).
awk -F"'" '/<rect x=.*stroke=.#444/ { n++; x0[n] = $2; y0[n] = $4; x1[n] = $2 + $6; y1[n] = $4 + $8 }
  /<text .*font-size=.12. text-anchor=.start./ { m++; tx[m] = $2; ty[m] = $4 }
  END { for (i = 1; i <= m; i++) for (j = 1; j <= n; j++)
          if (tx[i] >= x0[j] && tx[i] <= x1[j] && ty[i] >= y0[j] && ty[i] <= y1[j]) bad = 1
        exit bad || n < 4 || m < 4 }' "$dir/one.svg" || fail "a legend inside a plotting area"
echo "one target: panels, titles, figures = the test line ($rmse), legends in bands; $dims PNG OK"

# Two targets: a group of panels each; the baselines train prints (naive:
# each target column's last known value; ridge) drawn and scored on each.
awk -F, 'NR == 1 { print $0 ",a_tomorrow"; next } { print $0 "," $2 }' "$data" >"$dir/two.csv"
$clrnn train --data "$dir/two.csv" --features a,b --target y,a_tomorrow --seq-len 5 --epochs 3 \
  --batch 8 --device cpu --quiet --plot "$dir/two.svg" >/dev/null || fail "train, two targets"
render two
[ "${dims#*x}" -gt "$one_height" ] || fail "two outputs are no taller than one ($dims)"
for text in "Output 1 of 2: y" "Output 2 of 2: a_tomorrow" "a_tomorrow over the test split" \
  "a_tomorrow: residual of the model" "a_tomorrow: the last" "model, test split, all outputs: RMSE" \
  ">naive baseline<" ">ridge baseline<" "naive baseline: RMSE" "ridge baseline: RMSE"; do
  has two "$text"
done
echo "two targets: a group of panels each, the naive and ridge baselines drawn and scored OK"

# --patience: the kept epoch marked; the one the run says it kept.
$clrnn train --data "$data" --features a,b --target y --seq-len 5 --epochs 40 --batch 8 \
  --patience 2 --device cpu --plot "$dir/kept.svg" >"$dir/kept.txt" || fail "train --patience"
render kept
kept=$(sed -n 's/^kept the weights of epoch \([0-9]*\) .*/\1/p' "$dir/kept.txt")
[ -n "$kept" ] || kept=$(grep -c "^epoch " "$dir/kept.txt")
has kept ">kept epoch $kept<"
has kept "stroke-dasharray='5,4'"
echo "--patience: kept epoch $kept marked OK"

# No row labels: row numbers on the x axis.
cut -d, -f2- "$data" >"$dir/nolabels.csv"
$clrnn train --data "$dir/nolabels.csv" --features a,b --target y --seq-len 5 --epochs 2 \
  --batch 8 --device cpu --quiet --plot "$dir/rows.svg" >/dev/null || fail "train, no labels"
render rows
has rows "row of the predicted value"
grep -q "date of the predicted row" "$dir/rows.svg" && fail "dates claimed without labels"
echo "no row labels: row numbers OK"

# Divergence: exit 2 with its one line, and a plot of the epochs done, the
# reason on it; with --patience the best epoch's predictions. Plain SGD
# without clipping at a constant lr of 1: the defaults (Adam, a clipped
# gradient, cosine) would tame it.
$clrnn train --data "$data" --features a,b --target y --seq-len 5 --epochs 40 --batch 8 \
  --optimizer sgd --lr 1 --momentum 0.99 --clip-norm 0 --lr-schedule constant \
  --patience 100 --device cpu --quiet --plot "$dir/diverged.svg" \
  >"$dir/diverged.txt" 2>"$dir/diverged.err"
rc=$?
[ $rc -eq 2 ] && grep -q "loss is .* at epoch" "$dir/diverged.err" || fail "divergence: exit $rc"
[ -f "$dir/diverged.svg" ] || fail "no plot after the divergence"
render diverged
has diverged "training stopped: the training loss is"
has diverged ">kept epoch [0-9]*<"
[ "$(grep -c '<polyline' "$dir/diverged.svg")" -ge 2 ] || fail "no loss curves after the divergence"
echo "divergence: exit 2 and a plot of the epochs done OK"

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
