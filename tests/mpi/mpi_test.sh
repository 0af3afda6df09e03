#!/bin/bash
# mpi_test.sh MODE CLRNN MPIEXEC: clrnn train under mpirun against one
# process (issue 15), on loopback, every rank on this machine.
#   train SIZES DEVICE...  for each batch@ranks of SIZES (100@1:2:3: a batch
#                     of 100 at 1, 2 and 3 ranks): the model file
#                     cmp-identical to one process's, the printed epochs and
#                     test metrics and the logged losses the same;
#   resume DEVICE...  saved at R = 2 after one epoch, resumed at R = 3: the
#                     same files as one process saving and resuming;
#   fail              a bad --device on rank 1 only, other options on rank 1
#                     (one process's bits need the same run), a rank's batch failing
#                     (a device error every rank learns of), a rank whose
#                     send fails (the others never learn: they are stopped)
#                     and a rank that dies: a non-zero exit, the rank's one
#                     line, well within the timeout, never a hang;
#   sweep DATA DEVICE...  clrnn sweep and train --models N at 1, 2 and 3
#                     ranks (and 3 ranks for 2 models) against one process:
#                     everything printed, the --log and --log-json tables,
#                     the --select best file, every --save-each file and
#                     the --ensemble mean manifest and members cmp-identical,
#                     a model that diverges on rank 1 included;
#   sweep_fail DATA   a bad --device on rank 1 only, another command on rank
#                     1, every rank failing at training time and another
#                     kind of device on rank 1: exit 2, the one line.
set -u
mode=$1; clrnn=$2; mpiexec=$3; shift 3
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_rmaps_base_oversubscribe=1 POCL_MAX_PTHREAD_COUNT=1
mpi() { timeout 60 "$mpiexec" --oversubscribe --quiet -np "$@"; }
fail() { echo "NOT OK: $*"; for f in "$dir"/*.err; do [ -s "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"; done; exit 1; }

# What must be equal: the epochs and test lines (without the rates), the
# logged losses, lr and gradient norm (without the times).
printed() { grep -E '^(epoch|test|kept|naive)' "$1" | sed -E 's/ +[0-9]+ windows\/s//'; }
logged() { cut -d, -f1-5 "$1"; }
same_run() { # NAME: the files of $dir/one.* and $dir/NAME.*
  cmp "$dir/one.clrnn" "$dir/$1.clrnn" || fail "$1: the model file differs from one process's"
  diff <(printed "$dir/one.out") <(printed "$dir/$1.out") || fail "$1: printed losses differ"
  diff <(logged "$dir/one.csv") <(logged "$dir/$1.csv") || fail "$1: logged losses differ"
  [ "$(printed "$dir/$1.out" | grep -c '^epoch')" -ge 1 ] || fail "$1: no epochs printed"
}

case $mode in
train)
  # SIZES: batch@ranks,... e.g. 100@1:2:3,32@3; a batch of 100 is 4 chunks
  # (3 ranks do not divide them), 32 one chunk (3 ranks: two have none).
  sizes=$1; shift
  for size in ${sizes//,/ }; do
    batch=${size%@*} ranks=${size#*@}
    ranks=${ranks//:/ }
    run=(train "$@" --epochs 2 --batch "$batch" --optimizer adam --clip-norm 1)
    "$clrnn" "${run[@]}" --save "$dir/one.clrnn" --log "$dir/one.csv" >"$dir/one.out" \
      2>"$dir/one.err" || fail "one process: batch $batch"
    for r in $ranks; do
      mpi "$r" "$clrnn" "${run[@]}" --save "$dir/r$r.clrnn" --log "$dir/r$r.csv" \
        >"$dir/r$r.out" 2>"$dir/r$r.err" || fail "mpirun -np $r: batch $batch"
      same_run "r$r"
      [ "$r" = 1 ] || grep -q "^rank $((r - 1)): a step" "$dir/r$r.out" ||
        fail "mpirun -np $r: no line per rank"
      echo "batch $batch, $r rank(s): model file, printed and logged losses as one process OK"
    done
  done
  ;;
resume)
  run=(train "$@" --batch 100 --optimizer adam)
  "$clrnn" "${run[@]}" --epochs 1 --save "$dir/one1.clrnn" >/dev/null 2>&1 || fail "one process"
  cp "$dir/one1.clrnn" "$dir/one.clrnn"
  "$clrnn" "${run[@]}" --epochs 2 --resume "$dir/one.clrnn" --save "$dir/one.clrnn" \
    --log "$dir/one.csv" >"$dir/one.out" 2>&1 || fail "one process, resumed"
  mpi 2 "$clrnn" "${run[@]}" --epochs 1 --save "$dir/r1.clrnn" >/dev/null 2>"$dir/r2.err" ||
    fail "mpirun -np 2"
  cmp "$dir/one1.clrnn" "$dir/r1.clrnn" || fail "saved at R = 2: differs from one process"
  cp "$dir/r1.clrnn" "$dir/r.clrnn"
  mpi 3 "$clrnn" "${run[@]}" --epochs 2 --resume "$dir/r.clrnn" --save "$dir/r.clrnn" \
    --log "$dir/r.csv" >"$dir/r.out" 2>"$dir/r3.err" || fail "mpirun -np 3, resumed"
  same_run r
  echo "saved at 2 ranks, resumed at 3: the files of one process OK"
  ;;
fail)
  run=(train --device cpu --epochs 3 --batch 100 --quiet)
  check() { # NAME RC LINE: the exit code is RC (or any non-zero: x), stderr has LINE
    [ "$2" = x ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || [ "$rc" = "$2" ] ||
      fail "$1: exit $rc, expected $2 (124: it hung)"
    grep -q -- "$3" "$dir/f.err" || fail "$1: no line '$3'"
    [ "$(grep -c '^clrnn' "$dir/f.err")" -eq 1 ] || fail "$1: not one line from clrnn"
    echo "$1: exit $rc in ${SECONDS}s, one line OK"
  }
  SECONDS=0
  mpi 1 "$clrnn" "${run[@]}" : -np 1 "$clrnn" train --device opencl:9.9 --quiet : \
    -np 1 "$clrnn" "${run[@]}" >/dev/null 2>"$dir/f.err"
  rc=$? check "a bad --device on rank 1" 2 "device 'opencl:9.9'"
  SECONDS=0
  mpi 1 "$clrnn" "${run[@]}" : -np 1 "$clrnn" "${run[@]}" --lr 0.02 >/dev/null 2>"$dir/f.err"
  rc=$? check "other options on rank 1" 2 "rank 1 runs another device or other options"
  SECONDS=0
  CLRNN_MPI_FAIL=1:5 mpi 3 "$clrnn" "${run[@]}" >/dev/null 2>"$dir/f.err"
  rc=$? check "rank 1's 5th batch fails" 2 "rank 1: batch 5 failed"
  SECONDS=0
  CLRNN_MPI_FAIL=1:5:send mpi 3 "$clrnn" "${run[@]}" >/dev/null 2>"$dir/f.err"
  rc=$? check "rank 1 cannot send" x "sending the running sums"
  SECONDS=0
  CLRNN_MPI_FAIL=1:5:crash mpi 3 "$clrnn" "${run[@]}" >/dev/null 2>"$dir/f.err"
  rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "rank 1 dies: exit $rc (124: it hung)"
  echo "rank 1 dies: exit $rc in ${SECONDS}s OK"
  ;;
sweep)
  data=$(realpath "$1"); clrnn=$(realpath "$clrnn"); shift
  opts=(--data "$data" --features a,b --target y --seq-len 5 --epochs 2 --batch 8 "$@")
  if ! "$clrnn" train "${opts[@]}" --hidden 2 --epochs 1 --quiet >/dev/null 2>"$dir/probe.err"; then
    cat "$dir/probe.err"
    [ -n "${CI:-}" ] && fail "no such device in CI ($*)"
    echo "SKIP: no such device ($*)"; exit 77
  fi
  run_in() { # NAME RANKS ARGS...: in $dir/NAME, at RANKS ranks (0: one process, no mpirun)
    local d=$dir/$1 r=$2; shift 2
    mkdir -p "$d"
    local rc=0
    if [ "$r" = 0 ]; then (cd "$d" && "$clrnn" "$@" >out 2>err) || rc=$?
    else (cd "$d" && mpi "$r" "$clrnn" "$@" >out 2>err) || rc=$?; fi
    [ "$rc" = 0 ] || { cat "$d/err"; fail "${d##*/}: exit $rc"; }
    # the kernels' first build says so once, whichever run comes first
    grep -v '^compiling kernels' "$d/out" >"$d/printed"; rm "$d/out"
  }
  same_files() { # A B: the same files, each cmp-identical
    diff <(cd "$dir/$1" && find . -type f | sort) <(cd "$dir/$2" && find . -type f | sort) ||
      fail "$2: other files than $1"
    (cd "$dir/$1" && find . -type f) | while read -r f; do
      cmp "$dir/$1/$f" "$dir/$2/$f" || fail "$2: $f differs from one process's"
    done || exit 1
  }
  # 6 models of two shapes: at 3 ranks two rounds, at 2 three.
  a=(sweep "${opts[@]}" --hidden 3,4 --seed 0-2 --log t.csv --log-json t.json --save-each each
     --select best --save best.clrnn)
  run_in a1 0 "${a[@]}"
  [ "$(wc -l <"$dir/a1/t.csv")" -eq 7 ] && [ -s "$dir/a1/best.clrnn" ] &&
    [ -s "$dir/a1/each/model-5.clrnn" ] && grep -q '^model 5/6' "$dir/a1/printed" ||
    fail "one process: not 6 models"
  for r in 1 2 3; do
    run_in "a$r-mpi" "$r" "${a[@]}"; same_files a1 "a$r-mpi"
    echo "6 models of 2 shapes at $r rank(s): printed table, --log, --log-json, --select best, --save-each as one process OK"
  done
  # --ensemble mean, 4 models: at 3 ranks the last round has one.
  e=(sweep "${opts[@]}" --hidden 3 --seed 0-3 --ensemble mean --save ens.clrnn --log-json t.json)
  run_in e1 0 "${e[@]}"
  [ "$(ls "$dir/e1/ens.clrnn.members" | wc -l)" -eq 4 ] || fail "one process: not 4 members"
  for r in 2 3; do
    run_in "e$r-mpi" "$r" "${e[@]}"; same_files e1 "e$r-mpi"
    echo "--ensemble mean of 4 models at $r ranks: its score, manifest and members as one process OK"
  done
  # More ranks than models: rank 2 trains none.
  m=(train "${opts[@]}" --hidden 3 --models 2 --log t.csv --save-each each --select best --save best.clrnn)
  run_in m1 0 "${m[@]}"
  run_in m3-mpi 3 "${m[@]}"; same_files m1 m3-mpi
  echo "train --models 2 at 3 ranks: as one process OK"
  # A model that diverges, on rank 1: its line (from rank 0), its row.
  d=(sweep "${opts[@]}" --optimizer sgd --clip-norm 0 --lr-schedule constant --epochs 6 --hidden 3
     --seed 1 --lr 0.01,100,0.02 --log t.csv --save-each each)
  run_in d1 0 "${d[@]}"
  grep -q "model 1 (lr 100) diverged" "$dir/d1/err" || fail "one process: model 1 did not diverge"
  run_in d3-mpi 3 "${d[@]}"; same_files d1 d3-mpi
  echo "model 1 diverging on rank 1 at 3 ranks: its line, its row and the others as one process OK"
  ;;
sweep_fail)
  data=$1
  run=(sweep --data "$data" --features a,b --target y --seq-len 5 --epochs 2 --batch 8 --quiet
       --seed 0-3)
  check() { # NAME LINE: exit 2, stderr LINE, one line from clrnn
    [ "$rc" = 2 ] || fail "$1: exit $rc, expected 2 (124: it hung)"
    grep -q -- "$2" "$dir/f.err" || fail "$1: no line '$2'"
    [ "$(grep -c '^clrnn' "$dir/f.err")" -eq 1 ] || fail "$1: not one line from clrnn"
    echo "$1: exit $rc in ${SECONDS}s, one line OK"
  }
  SECONDS=0
  mpi 1 "$clrnn" "${run[@]}" --device cpu : -np 1 "$clrnn" "${run[@]}" --device opencl:9.9 \
    >/dev/null 2>"$dir/f.err"
  rc=$? check "a bad --device on rank 1, seen at its first model" "device 'opencl:9.9'"
  SECONDS=0
  mpi 1 "$clrnn" "${run[@]}" --device cpu : -np 1 "$clrnn" "${run[@]}" --device cpu --lr 0.02 \
    >/dev/null 2>"$dir/f.err"
  rc=$? check "another command on rank 1" "rank 1 runs another command than rank 0"
  SECONDS=0
  mpi 3 "$clrnn" "${run[@]}" --device cpu --layers 2:3:2 >/dev/null 2>"$dir/f.err"
  rc=$? check "every rank failing at its first model" "--layers takes 2 inputs and gives 2 outputs"
  # 3 ranks, 2 models: rank 2 trains none, so its bad --device is never used.
  two=(sweep --data "$data" --features a,b --target y --seq-len 5 --epochs 2 --batch 8 --seed 0-1
       --device cpu)
  "$clrnn" "${two[@]}" --log "$dir/one.csv" >/dev/null 2>&1 || fail "one process, 2 models"
  mpi 2 "$clrnn" "${two[@]}" --log "$dir/r.csv" : -np 1 "$clrnn" "${two[@]}" --log "$dir/r.csv" \
    --device opencl:9.9 >/dev/null 2>"$dir/f.err" || fail "rank 2 of 3 without a model: exit $?"
  cmp "$dir/one.csv" "$dir/r.csv" || fail "rank 2 of 3 without a model: the table differs"
  echo "3 ranks, 2 models: rank 2 trains none (its bad --device unused), the table as one process OK"
  if "$clrnn" train --data "$data" --features a,b --target y --seq-len 5 --epochs 1 --batch 8 \
    --hidden 2 --device opencl --quiet >/dev/null 2>&1; then
    SECONDS=0
    mpi 1 "$clrnn" "${run[@]}" --device cpu : -np 1 "$clrnn" "${run[@]}" --device opencl \
      >/dev/null 2>"$dir/f.err"
    rc=$? check "another kind of device on rank 1" "rank 1 trains on OpenCL .*, rank 0 on CPU reference"
  fi
  ;;
*) fail "unknown mode $mode" ;;
esac
