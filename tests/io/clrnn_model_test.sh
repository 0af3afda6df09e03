#!/bin/sh
# clrnn_model_test.sh CLRNN DATA FIXTURES: scripts/clrnn_model.py against clrnn
# (clrnn_model_test.py). Skipped (exit 77) where /usr/bin/python3 has no numpy
# (Debian python3-numpy), as in CI.
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with numpy is not installed (apt-get install python3-numpy)"
  exit 77
fi
exec /usr/bin/python3 "$(dirname "$0")/clrnn_model_test.py" "$@"
