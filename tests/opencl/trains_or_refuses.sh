#!/bin/sh
# trains_or_refuses.sh COMMAND [ARGS...]
# Passes when COMMAND (a clrnn train) trains, exit 0, or refuses in one line
# a kernel whose private memory does not fit, exit 2; anything else fails,
# a signal above all (a work-group's private arrays overflowing PoCL's
# worker stack was SIGSEGV). Run it under opencl_expect.sh, which sees the
# output of a machine without an OpenCL device.
out=$("$@" 2>&1); got=$?
printf '%s\n' "$out" | tail -n 5
printf 'command: %s\nexit %s (expected 0, or 2 with a private memory refusal)\n' "$*" "$got"
if [ "$got" -eq 0 ]; then echo "OK: trained"; exit 0; fi
if [ "$got" -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
   printf '%s\n' "$out" | grep -Eq "needs [0-9]+ KiB of private memory a work-item"; then
  echo "OK: refused in one line"; exit 0
fi
echo "NOT OK"
exit 1
