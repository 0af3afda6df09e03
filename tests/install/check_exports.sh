#!/usr/bin/env bash
# libclrnn exports exactly the functions include/clrnn.h declares: every
# symbol it defines for others (dynamic symbols of libclrnn.so, global ones
# of libclrnn.a) has the clrnn_ prefix, and every function the public
# headers declare is among them (a declaration without CLRNN_API is hidden
# by -fvisibility=hidden and shows up here as missing).
#   check_exports.sh LIBRARY NM CC INCLUDE_DIR...
set -euo pipefail
lib=$1 nm=$2 cc=$3
shift 3
includes=()
for dir in "$@"; do includes+=(-I "$dir"); done

# A shared library's dynamic symbols; a static one's global symbols.
case $lib in
  *.a) exported=$("$nm" -g --defined-only "$lib" | awk 'NF == 3 {print $3}' | sort -u) ;;
  *) exported=$("$nm" -D --defined-only "$lib" | awk 'NF >= 2 {print $NF}' | sort -u) ;;
esac
declared=$(printf '#include "clrnn.h"\n' | "$cc" -E -P "${includes[@]}" - |
  grep -oE '\bclrnn_[a-z0-9_]+\(' | tr -d '(' | sort -u)

foreign=$(grep -v '^clrnn_' <<<"$exported" || true)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
extra=$(comm -13 <(echo "$declared") <(echo "$exported") | grep '^clrnn_' || true)

echo "$(basename "$lib"): $(wc -l <<<"$exported") symbols defined for its users;" \
  "the public headers declare $(wc -l <<<"$declared") functions"
status=0
if [ -n "$foreign" ]; then
  echo "NOT OK: exported without the clrnn_ prefix:"; sed 's/^/  /' <<<"$foreign"; status=1
fi
if [ -n "$missing" ]; then
  echo "NOT OK: declared but not exported (CLRNN_API missing?):"; sed 's/^/  /' <<<"$missing"; status=1
fi
if [ -n "$extra" ]; then
  echo "NOT OK: exported but not declared in the public headers:"; sed 's/^/  /' <<<"$extra"; status=1
fi
[ $status -eq 0 ] && echo "OK: only clrnn_ symbols, exactly the declared ones"
exit $status
