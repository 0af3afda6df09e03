#!/usr/bin/env bash
# Checks that every tracked C source and header is laid out as .clang-format
# says; prints the files that are not and exits 1. With --fix, formats them.
# clang-format 14 (Debian 12's clang-format package).
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format}
if ! command -v "$fmt" >/dev/null; then
  echo "check_format: $fmt is not installed (apt-get install clang-format)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if [ "${1:-}" = "--fix" ]; then
  "$fmt" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$fmt" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: not formatted (run scripts/check_format.sh --fix): ${bad[*]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
