#!/usr/bin/env bash
# Runs a command under Oclgrind, the OpenCL device simulator, with its
# data-race and API checks on (out-of-bounds accesses
# are always checked), and fails if Oclgrind reports anything or the command
# fails. Oclgrind is its own platform: the command must pick the device with
# --device opencl (the automatic choice), which under Oclgrind is Oclgrind.
#   oclgrind_check.sh <command> [args...]
if ! command -v oclgrind >/dev/null; then
  echo "oclgrind is not installed (Debian: apt-get install oclgrind)"
  [ -n "${CI:-}" ] && exit 1
  exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
oclgrind --data-races --check-api --log "$log" "$@"
code=$?
if [ -s "$log" ]; then
  echo "== Oclgrind reported:"
  head -c 20000 "$log"
  exit 1
fi
echo "oclgrind: no data race, out-of-bounds access or API error reported"
exit "$code"
