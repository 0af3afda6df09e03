# Sourced by the command-line test scripts (POSIX sh): a scratch folder
# $dir removed at exit, fail (a NOT OK line, exit 1) and refused (a
# command that must fail as bad input does: exit 2 and one line on stderr
# matching a regex).
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "NOT OK: $*"; exit 1; }
refused() { # what, regex, then the command line
  what=$1; regex=$2; shift 2
  "$@" >"$dir/stdout" 2>"$dir/stderr"; code=$?
  [ $code -eq 2 ] || { cat "$dir/stderr"; fail "$what: exit $code"; }
  [ "$(wc -l <"$dir/stderr")" -eq 1 ] || { cat "$dir/stderr"; fail "$what: not one line"; }
  grep -Eq -- "$regex" "$dir/stderr" || { cat "$dir/stderr"; fail "$what: message"; }
  echo "$what: $(cat "$dir/stderr") OK"
}
