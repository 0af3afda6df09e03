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
#                     line, well within the timeout, never a hang.
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
*) fail "unknown mode $mode" ;;
esac
