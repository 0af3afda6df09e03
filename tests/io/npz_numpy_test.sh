#!/bin/sh
# npz_numpy_test.sh CLRNN DATA: numpy reads what clrnn writes (npz_numpy_test.py).
# Skipped (exit 77) where /usr/bin/python3 has no numpy (Debian python3-numpy),
# as in CI; the C test test_checkpoint checks the same files' bytes without it.
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with numpy is not installed (apt-get install python3-numpy)"
  exit 77
fi
exec /usr/bin/python3 "$(dirname "$0")/npz_numpy_test.py" "$@"
