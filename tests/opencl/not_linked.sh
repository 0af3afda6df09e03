#!/bin/sh
# not_linked.sh LIBRARY FILE...
# Passes when no FILE (an executable or shared library) records LIBRARY as
# NEEDED in its dynamic section (readelf -d); prints what each needs.
library=$1; shift
status=0
for file in "$@"; do
  needed=$(readelf -d "$file" | grep NEEDED) || { echo "NOT OK: readelf -d $file"; exit 1; }
  printf '%s needs:\n%s\n' "$file" "$needed"
  if printf '%s\n' "$needed" | grep -q "\[$library"; then
    echo "NOT OK: $file links $library"; status=1
  fi
done
[ "$status" -eq 0 ] && echo "OK: no $library"
exit "$status"
