#!/bin/sh
# sweep_test.sh CLRNN DATA DEVICE [TRAIN FLAGS]: clrnn sweep and clrnn train --models N
# (issue 14) on DEVICE (cpu, or opencl: skips (77) without an OpenCL
# device, except in CI); with SWEEP_ONLY_BITWISE set, only the first three:
# - the product of the lists, index K in the order given, the last fastest;
# - the table sorted by validation loss; --select best is its first row;
# - each model of --save-each is bit for bit the file `clrnn train --save`
#   writes of its settings alone (SGD and Adam, with and without clipping);
# - train --models N is sweep --seed S..S+N-1;
# - a model that diverges stops alone, one line naming it;
# - an ensemble file's predict, forecast and eval are the mean of its
#   members' (checked with awk from their own outputs).
set -u
clrnn=$1; data=$2; device=$3; shift 3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
opts="--data $data --features a,b --target y --seq-len 5 --epochs 3 --batch 8 --device $device --quiet $*"
if [ "$device" = opencl ] && ! $clrnn train $opts --hidden 2 --epochs 1 >/dev/null 2>"$dir/probe.err"; then
  cat "$dir/probe.err"
  [ -n "${CI:-}" ] && fail "no OpenCL device in CI"
  echo "SKIP: no OpenCL device"; exit 77
fi

# The product, in the order given: --lr (2 values) then --seed (3), the seed fastest.
$clrnn sweep $opts --optimizer sgd --hidden 4 --momentum 0.5 --lr 0.02,0.05 --seed 3-5 --log "$dir/t.csv" \
  --log-json "$dir/t.json" --save-each "$dir/each" --select best --save "$dir/best.clrnn" \
  >"$dir/out.txt" 2>"$dir/err.txt" || { cat "$dir/err.txt"; fail "sweep"; }
head -1 "$dir/t.csv" | grep -q "^index,seed,optimizer,lr,momentum,weight_decay,clip_norm,layers,best_val_loss,best_epoch,kept_epoch,test_rmse,test_mae,naive_rmse,status$" ||
  fail "the table's header: $(head -1 "$dir/t.csv")"
[ "$(($(wc -l <"$dir/t.csv") - 1))" -eq 6 ] || fail "6 models expected: $(cat "$dir/t.csv")"
awk -F, 'NR > 1 { lr = ($1 < 3) ? 0.02 : 0.05; seed = 3 + $1 % 3
  if ($4 != lr || $2 != seed || $5 != 0.5 || $8 != "2:4:1" || $11 != 3 || $15 != "ok") { print "row " $0; bad = 1 } }
  END { exit bad }' "$dir/t.csv" || fail "index K is not lr-major, seed fastest"
[ "$(wc -l <"$dir/t.json")" -eq 6 ] && grep -q '"index": 0, "seed": 3, "optimizer": "sgd", "lr": 0.02' "$dir/t.json" ||
  fail "the JSON table: $(cat "$dir/t.json")"
echo "the product of --lr 0.02,0.05 --seed 3-5: index K = 3 lr + seed, seed fastest OK"
awk -F, 'NR > 2 && $9 < prev { bad = 1 } NR > 1 { prev = $9 } END { exit bad }' "$dir/t.csv" ||
  fail "the table is not sorted by validation loss: $(cat "$dir/t.csv")"
min=$(awk -F, 'NR > 1 && (m == "" || $9 < m) { m = $9; k = $1 } END { print k }' "$dir/t.csv")
first=$(awk -F, 'NR == 2 { print $1 }' "$dir/t.csv")
[ "$min" = "$first" ] || fail "the first row ($first) is not the lowest validation loss ($min)"
cmp -s "$dir/best.clrnn" "$dir/each/model-$min.clrnn" || fail "--select best is not model $min"
grep -q "^model: $dir/best.clrnn (model $min)$" "$dir/out.txt" || fail "--select best's line"
echo "the table is sorted by validation loss; --select best saves its lowest, model $min OK"

# Each model equals itself alone, bit for bit: SGD and Adam, clipped and not.
$clrnn sweep $opts --hidden 3 --optimizer sgd,adam --clip-norm off,0.5 --seed 7 \
  --save-each "$dir/alone" >/dev/null || fail "sweep of optimizers and clipping"
k=0
for optimizer in sgd adam; do
  for clip in off 0.5; do
    flag=""; [ "$clip" = off ] || flag="--clip-norm $clip"
    $clrnn train $opts --hidden 3 --optimizer $optimizer $flag --seed 7 --save "$dir/m$k.clrnn" >/dev/null ||
      fail "train $optimizer $flag"
    cmp "$dir/m$k.clrnn" "$dir/alone/model-$k.clrnn" || fail "model $k ($optimizer $flag) differs from train alone"
    k=$((k + 1))
  done
done
echo "every model of a sweep (sgd, adam; with and without --clip-norm) is cmp-identical to train --save alone OK"
# With --patience a model keeps its best epoch's weights: kept = best, and
# still bit for bit train's.
$clrnn sweep $opts --epochs 12 --patience 1 --hidden 3 --optimizer adam --lr 0.05 --seed 0-1 \
  --log "$dir/pat.csv" --save-each "$dir/pat" >/dev/null || fail "sweep --patience"
$clrnn train $opts --epochs 12 --patience 1 --hidden 3 --optimizer adam --lr 0.05 --seed 1 \
  --save "$dir/pat1.clrnn" >/dev/null || fail "train --patience"
cmp "$dir/pat1.clrnn" "$dir/pat/model-1.clrnn" || fail "--patience: model 1 differs from train alone"
awk -F, 'NR > 1 && ($10 != $11 || $10 < 1) { bad = 1 } NR > 1 && $11 < 12 { early++ }
  END { exit bad || !early }' "$dir/pat.csv" ||
  fail "with --patience the kept epoch is not the best (or none stopped early): $(cat "$dir/pat.csv")"
echo "with --patience: kept epoch = best epoch, the model = train alone's OK"

# Other kernel families and precisions: the bitwise part is theirs to check.
if [ -n "${SWEEP_ONLY_BITWISE:-}" ]; then echo "(SWEEP_ONLY_BITWISE: the rest is the default family's)"; exit 0; fi

# train --models 3 --seed 2 is sweep --seed 2-4.
$clrnn train $opts --hidden 3 --models 3 --seed 2 --save-each "$dir/models" >/dev/null || fail "train --models"
$clrnn sweep $opts --hidden 3 --seed 2-4 --save-each "$dir/seeds" >/dev/null || fail "sweep --seed 2-4"
for k in 0 1 2; do
  cmp -s "$dir/models/model-$k.clrnn" "$dir/seeds/model-$k.clrnn" || fail "train --models: model $k"
done
[ -e "$dir/models/model-3.clrnn" ] && fail "train --models 3 wrote a fourth model"
# --models takes the seeds' place among the lists: here the first, slowest.
$clrnn train $opts --hidden 3 --models 2 --lr 0.01,0.02 --log "$dir/ml.csv" >/dev/null || fail "train --models --lr"
[ "$(awk -F, 'NR > 1 { print $1 ":" $2 ":" $4 }' "$dir/ml.csv" | sort | tr '\n' ' ')" = "0:0:0.01 1:0:0.02 2:1:0.01 3:1:0.02 " ] ||
  fail "train --models 2 --lr 0.01,0.02: $(cat "$dir/ml.csv")"
echo "train --models 3 --seed 2 gives the models of sweep --seed 2-4 OK"

# A model that diverges stops alone.
$clrnn sweep $opts --optimizer sgd --clip-norm 0 --lr-schedule constant --epochs 6 --hidden 3 --seed 1 --lr 0.01,100,0.02 --log "$dir/d.csv" --save-each "$dir/div" \
  >"$dir/out.txt" 2>"$dir/err.txt" || { cat "$dir/err.txt"; fail "a sweep with a diverging model"; }
[ "$(wc -l <"$dir/err.txt")" -eq 1 ] && grep -q "^clrnn sweep: model 1 (lr 100) diverged: .*; the others go on$" "$dir/err.txt" ||
  fail "the diverging model's line: $(cat "$dir/err.txt")"
[ "$(awk -F, '$1 == 1 { print $15 }' "$dir/d.csv")" = diverged ] || fail "its row: $(cat "$dir/d.csv")"
[ "$(awk -F, 'NR > 1 && $15 == "ok"' "$dir/d.csv" | wc -l)" -eq 2 ] || fail "the others: $(cat "$dir/d.csv")"
tail -1 "$dir/d.csv" | grep -q "^1," || fail "the diverged row is not last"
[ -e "$dir/div/model-1.clrnn" ] && fail "a diverged model was written"
[ -e "$dir/div/model-0.clrnn" ] && [ -e "$dir/div/model-2.clrnn" ] || fail "the others' files"
echo "lr 100 diverges alone: one line, its row says diverged, the others train and are saved OK"

# The ensemble: predict, forecast and eval are the mean of the members'.
$clrnn sweep $opts --hidden 3 --seed 0-2 --ensemble mean --save "$dir/ens.clrnn" \
  --save-each "$dir/members" >"$dir/ens.txt" || fail "sweep --ensemble mean"
[ "$(head -1 "$dir/ens.clrnn")" = "clrnn-ensemble 1" ] || fail "the ensemble file's first line"
for k in 0 1 2; do
  cmp -s "$dir/ens.clrnn.members/model-$k.clrnn" "$dir/members/model-$k.clrnn" || fail "member $k"
  $clrnn predict --model "$dir/members/model-$k.clrnn" --device $device --out "$dir/p$k.csv" >/dev/null || fail "predict $k"
  $clrnn forecast --model "$dir/members/model-$k.clrnn" --device $device --out "$dir/f$k.csv" >/dev/null || fail "forecast $k"
done
$clrnn predict --model "$dir/ens.clrnn" --device $device --out "$dir/pe.csv" >/dev/null || fail "predict of the ensemble"
$clrnn forecast --model "$dir/ens.clrnn" --device $device --out "$dir/fe.csv" >/dev/null || fail "forecast of the ensemble"
# Values are printed with 10 significant digits: the mean of the printed
# members' agrees with the printed mean to that.
paste -d, "$dir/p0.csv" "$dir/p1.csv" "$dir/p2.csv" "$dir/pe.csv" | awk -F, 'NR > 1 {
  m = ($3 + $6 + $9) / 3; d = m - $12; if (d < 0) d = -d; s = (m < 0 ? -m : m) + 1e-300
  if ($2 != $11 || d > 2e-9 * (s > 1 ? s : 1)) { print "row " NR ": " m " vs " $12; bad = 1 }; n++ }
  END { if (n < 50) bad = 1; exit bad }' || fail "predict of the ensemble is not the members' mean"
paste -d, "$dir/f0.csv" "$dir/f1.csv" "$dir/f2.csv" "$dir/fe.csv" | awk -F, 'NR > 1 {
  m = ($4 + $8 + $12) / 3; d = m - $16; if (d < 0) d = -d; s = (m < 0 ? -m : m)
  if ($1 != $13 || d > 2e-9 * (s > 1 ? s : 1)) { print "forecast " m " vs " $16; bad = 1 }; n++ }
  END { if (n != 1) bad = 1; exit bad }' || fail "forecast of the ensemble is not the members' mean"
echo "predict and forecast of the ensemble file: the mean of its members' OK"
# eval: the test RMSE of the mean (computed with awk from predict's rows
# of the test split) is the one eval and the sweep print.
$clrnn eval --model "$dir/ens.clrnn" --device $device >"$dir/eval.txt" || fail "eval of the ensemble"
ev=$(sed -n 's/^test split: \([0-9]*\) windows, the mean of 3 models: RMSE \([0-9.]*\), MAE \([0-9.]*\)$/\1 \2 \3/p' "$dir/eval.txt")
[ -n "$ev" ] || fail "eval's line: $(cat "$dir/eval.txt")"
sw=$(sed -n 's/^ensemble mean of 3 models: test RMSE \([0-9.]*\), MAE \([0-9.]*\) .*/\1 \2/p' "$dir/ens.txt")
[ "${ev#* }" = "$sw" ] || fail "eval ($ev) and the sweep ($sw) differ"
n_test=${ev%% *}
awk -F, -v n="$n_test" 'NR > 1 { row[NR] = $0 } END {
  for (i = NR - n + 1; i <= NR; i++) { split(row[i], f, ","); d = f[2] - f[3]; sq += d * d; ab += (d < 0 ? -d : d) }
  printf "%.4f %.4f\n", sqrt(sq / n), ab / n }' "$dir/pe.csv" >"$dir/awk.txt"
[ "$(cat "$dir/awk.txt")" = "${ev#* }" ] || fail "awk's RMSE and MAE of the mean on the last $n_test rows ($(cat "$dir/awk.txt")) are not eval's (${ev#* })"
for k in 0 1 2; do
  one=$($clrnn eval --model "$dir/members/model-$k.clrnn" --device $device | sed -n 's/^test split: .*, loss \(.*\)$/\1/p')
  grep -q "^member $k (.*model-$k.clrnn): loss $one$" "$dir/eval.txt" || fail "eval's member $k line"
done
echo "eval of the ensemble: RMSE and MAE of the mean = awk's from predict = the sweep's; each member's line = its own eval OK"

# A one-member ensemble evaluates as its model does.
printf 'clrnn-ensemble 1\ncombine mean\nmember members/model-0.clrnn\n' >"$dir/one.clrnn"
a=$($clrnn eval --model "$dir/one.clrnn" --device $device | sed -n 's/.*models: \(RMSE.*\)$/\1/p')
b=$($clrnn eval --model "$dir/members/model-0.clrnn" --device $device | sed -n 's/.*, loss [^,]*, \(RMSE.*\)$/\1/p')
[ -n "$a" ] && [ "$a" = "$b" ] || fail "a one-member ensemble ($a) is not its model ($b)"
printf 'clrnn-ensemble 1\ncombine median\nmember members/model-0.clrnn\n' >"$dir/bad.clrnn"
$clrnn eval --model "$dir/bad.clrnn" 2>"$dir/err.txt"; code=$?
[ $code -eq 2 ] && grep -q "not an ensemble file as clrnn sweep writes it (line 2" "$dir/err.txt" || fail "a bad ensemble file: exit $code"
echo "a one-member ensemble scores as its model; a bad ensemble file is refused in one line OK"
$clrnn train $opts --hidden 3 --features b,a --save "$dir/other.clrnn" >/dev/null || fail "train on b,a"
printf 'clrnn-ensemble 1\ncombine mean\nmember members/model-0.clrnn\nmember other.clrnn\n' >"$dir/mix.clrnn"
$clrnn eval --model "$dir/mix.clrnn" --device $device 2>"$dir/err.txt"; code=$?
[ $code -eq 2 ] && [ "$(wc -l <"$dir/err.txt")" -eq 1 ] && grep -q "read different data" "$dir/err.txt" ||
  fail "members of other columns: exit $code, $(cat "$dir/err.txt")"
echo "members that read other data are refused in one line OK"
