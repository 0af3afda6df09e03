#!/bin/bash
# fault_test.sh CLRNN DATA WEATHER: nothing lost, nothing crashes, when the
# disk or the process fails under clrnn train --save (issue 11):
#   - a file-size limit during the save (SIGXFSZ ignored by the shell, and
#     not): exit 2, one line naming the file, the old model intact;
#   - a file-size limit during logging: the model kept, exit 2, the log named;
#   - a full disk (a small tmpfs, where this machine lets us mount one);
#   - kill -9 at 20 random moments of a --save run: the model file always
#     loads, and the next run leaves no temporary behind;
#   - Ctrl-C (SIGINT): exit 130, one line saying which epoch is kept;
#   - outputs written over inputs, and a diverging run: one line, exit 2.
set -u
clrnn=$1; data=$2; weather=$3
dir=$(mktemp -d); trap 'umount "$dir/full" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; [ -f "$dir/err" ] && sed 's/^/  stderr: /' "$dir/err"; exit 1; }
ok() { echo "$* OK"; }
small="--data $data --features a,b --target y --seq-len 5 --device cpu --quiet"
one_line() { [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$1: $(wc -l <"$dir/err") lines on stderr"; }
loads() { "$clrnn" eval --model "$1" --data "$2" --device cpu >/dev/null 2>&1; }

# A model of 8,341 bytes (the default 3:16:1 on the weather table).
"$clrnn" train --data "$weather" --device cpu --quiet --epochs 1 --save "$dir/m.clrnn" >/dev/null ||
  fail "a first model"
cp "$dir/m.clrnn" "$dir/before.clrnn"

for shell_ignores in no yes; do
  (
    [ $shell_ignores = yes ] && trap '' XFSZ
    ulimit -f 4 # 4 KiB: the model cannot be written
    exec "$clrnn" train --data "$weather" --device cpu --quiet --epochs 2 --save "$dir/m.clrnn"
  ) >/dev/null 2>"$dir/err"
  code=$?
  [ $code -eq 2 ] || fail "file-size limit during save (shell ignores SIGXFSZ: $shell_ignores): exit $code"
  one_line "file-size limit during save"
  grep -q "cannot write '$dir/m.clrnn'" "$dir/err" || fail "the message names the model"
  cmp -s "$dir/m.clrnn" "$dir/before.clrnn" || fail "the old model changed"
  ok "file-size limit during save (shell ignores SIGXFSZ: $shell_ignores): exit 2, one line, old model intact"
done
ls "$dir" | grep -q '\.tmp\.' && fail "a temporary file is left after a failed save"

( ulimit -f 8; exec "$clrnn" train $small --hidden 4 --epochs 400 --save "$dir/kept.clrnn" \
    --log "$dir/log.csv" ) >/dev/null 2>"$dir/err"
code=$?
[ $code -eq 2 ] || fail "file-size limit during logging: exit $code"
grep -q "cannot write '$dir/log.csv'" "$dir/err" || fail "the message names the log"
loads "$dir/kept.clrnn" "$data" || fail "the model is kept when its log cannot be written"
[ -e "$dir/log.csv" ] && fail "a truncated log was left"
ok "file-size limit during logging: exit 2, the log named, the model kept"

mkdir "$dir/full"
if mount -t tmpfs -o size=12k tmpfs "$dir/full" 2>/dev/null; then
  "$clrnn" train --data "$weather" --device cpu --quiet --epochs 2 --save "$dir/full/m.clrnn" \
    >/dev/null 2>"$dir/err"
  code=$?
  [ $code -eq 2 ] || fail "full disk: exit $code"
  one_line "full disk"
  grep -q "No space left" "$dir/err" || fail "full disk: the message says so"
  ls "$dir/full" | grep -q '\.tmp\.' && fail "full disk: a temporary left: $(ls "$dir/full")"
  if [ -e "$dir/full/m.clrnn" ]; then # epoch 1 fitted, epoch 2 did not
    loads "$dir/full/m.clrnn" "$weather" || fail "full disk: the model kept does not load"
  fi
  umount "$dir/full"
  ok "full disk (a 12 KiB tmpfs): exit 2, one line, no temporary, what is kept loads"
else
  echo "full disk: skipped (this machine does not let the test mount a tmpfs)"
fi

for i in $(seq 20); do
  "$clrnn" train $small --epochs 100000 --save "$dir/k.clrnn" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [ -e "$dir/k.clrnn" ]; then
    loads "$dir/k.clrnn" "$data" || fail "kill -9 number $i: the model file does not load"
  fi
done
"$clrnn" train $small --epochs 1 --save "$dir/k.clrnn" >/dev/null 2>"$dir/err" || fail "the run after the kills"
ls "$dir" | grep -q '^k\.clrnn\.tmp\.' && fail "temporaries left after the next run: $(ls "$dir" | grep tmp)"
ok "kill -9 at 20 random moments: the model always loads; the next run leaves no temporary"

"$clrnn" train $small --epochs 100000 --save "$dir/i.clrnn" >/dev/null 2>"$dir/err" &
pid=$!
for _ in $(seq 200); do [ -e "$dir/i.clrnn" ] && break; sleep 0.05; done
sleep 0.2
kill -INT $pid
wait $pid
code=$?
[ $code -eq 130 ] || fail "SIGINT: exit $code"
one_line "SIGINT"
grep -qE "interrupted in epoch [0-9]+; '$dir/i.clrnn' keeps epoch [0-9]+" "$dir/err" ||
  fail "SIGINT: the line says which epoch is kept"
loads "$dir/i.clrnn" "$data" || fail "SIGINT: the kept model loads"
ok "SIGINT: exit 130, one line ($(cat "$dir/err")), the model loads"

"$clrnn" train --data "$weather" --device cpu --quiet --epochs 3 --optimizer sgd --lr 90 --momentum 0.99 --clip-norm 0 \
  --save "$dir/d.clrnn" >/dev/null 2>"$dir/err"
code=$?
[ $code -eq 2 ] || fail "a diverging run: exit $code"
one_line "a diverging run under --save"
ok "a diverging run under --save: exit 2, one line"

cp "$data" "$dir/data.csv"
"$clrnn" train --data "$dir/data.csv" --features a,b --target y --seq-len 5 --device cpu --quiet \
  --epochs 1 --log "$dir/data.csv" >/dev/null 2>"$dir/err"
code=$?
[ $code -eq 2 ] && cmp -s "$data" "$dir/data.csv" || fail "--log onto --data: exit $code, or the data changed"
one_line "--log onto --data"
ok "--log onto --data: refused before any work, the data intact"
echo "all fault cases passed"
