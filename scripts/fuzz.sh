#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz: the CSV table and dataset,
# the model file, the command line's parser) with clang, ASan and UBSan in
# build-fuzz/, and runs each for SECONDS (default 60) from its seed corpus
# (tests/fuzz/corpus/<harness>); new inputs go to build-fuzz/corpus/<harness>.
# A crash stops with exit 1 and leaves the input (crash-*) in build-fuzz/
# and its bytes, in hex, in the log.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${CLRNN_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRNN_FUZZ=ON \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_table fuzz_model fuzz_cli >/dev/null
status=0
for harness in fuzz_table fuzz_model fuzz_cli; do
  corpus=$build/corpus/$harness
  mkdir -p "$corpus"
  echo "== $harness, ${seconds} s"
  log=$build/$harness.log
  if (cd "$build" && ASAN_OPTIONS=detect_leaks=1 "tests/fuzz/$harness" -max_total_time="$seconds" \
        -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
        "corpus/$harness" "../tests/fuzz/corpus/$harness") >"$log" 2>&1; then
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)|Done [0-9]+ runs' "$log" || tail -3 "$log"
    grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1
  else
    status=1
    tail -40 "$log"
    for crash in "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-*; do
      [ -f "$crash" ] && { echo "input $crash:"; od -A x -t x1z "$crash" | head -40; }
    done
  fi
done
exit $status
