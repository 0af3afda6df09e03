#!/bin/sh
# cli_expect.sh CODE REGEX COMMAND [ARGS...]
# Runs COMMAND, and passes when it exits with CODE and its output (stdout and
# stderr together) matches the extended regular expression REGEX.
code=$1; regex=$2; shift 2
out=$("$@" 2>&1); got=$?
printf '%s\n' "$out" | tail -n 5
printf 'command: %s\nexpected exit %s, got %s; expected output matching: %s\n' "$*" "$code" "$got" "$regex"
if [ "$got" -ne "$code" ]; then echo "NOT OK: exit code"; exit 1; fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then echo "NOT OK: output"; exit 1; fi
echo OK
