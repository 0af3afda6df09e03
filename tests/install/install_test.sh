#!/usr/bin/env bash
# Installs a build into a fresh prefix and builds examples/forecast.c against
# the installed tree only, twice: with find_package(clrnn) (examples/
# CMakeLists.txt) and with pkg-config (examples/Makefile); runs both on a
# table (train, evaluate, save, load, predict), and the installed clrnn on
# the model file the example saved.
#   install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR TABLE.csv [CMAKE] [DEVICE]
# DEVICE is the example's device argument (default: auto).
set -euo pipefail
build=$(realpath "$1") source=$(realpath "$2") work=$3 table=$(realpath "$4")
cmake=${5:-cmake} device=${6:-auto}

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
echo "== installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's|^\./|  |')
pc=$(find "$prefix" -name clrnn.pc)
libdir=$(dirname "$(dirname "$pc")")
if compgen -G "$libdir/libclrnn.so*" >/dev/null; then kind=shared; else kind=static; fi
echo "libclrnn is $kind; $("$prefix/bin/clrnn" --version)"

# A program built against the install tree links libclrnn.so when it is
# shared: say which it linked, so a static fallback cannot pass unnoticed.
linked() {
  if readelf -d "$1" | grep -q 'NEEDED.*libclrnn\.so'; then echo shared; else echo static; fi
}
run_example() { # name binary
  local out=$work/$1.out
  if ! (cd "$work" && LD_LIBRARY_PATH=$libdir "$2" "$table" "$work/$1.clrnn" "$device") >"$out" 2>&1; then
    cat "$out"; echo "NOT OK: the example built with $1 failed"; exit 1
  fi
  sed 's/^/  /' "$out"
  local got; got=$(linked "$2")
  if [ "$got" != "$kind" ]; then
    echo "NOT OK: built with $1, the example linked libclrnn $got, the install has it $kind"; exit 1
  fi
  if ! grep -q '^test: .* RMSE' "$out" || ! grep -q 'the loaded model predicts' "$out"; then
    echo "NOT OK: built with $1, the example did not report its test metrics and reload"; exit 1
  fi
  echo "OK: built with $1 (libclrnn $got), trained, saved, loaded and predicted"
}

echo "== find_package(clrnn)"
"$cmake" -S "$source/examples" -B "$work/find_package" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/find_package.log"
"$cmake" --build "$work/find_package" >>"$work/find_package.log"
run_example find_package "$work/find_package/forecast"
echo "== the installed clrnn reads the example's model file"
"$prefix/bin/clrnn" eval --model "$work/find_package.clrnn" --data "$table" --device cpu |
  sed 's/^/  /'

echo "== the installed clrnn trains on the table installed beside it"
"$prefix/bin/clrnn" train --epochs 1 --hidden 2 --device cpu >"$work/bundled.log" 2>&1 &&
  grep -q "^data: $prefix/bin/\.\./share/clrnn/clean_weather.csv:" "$work/bundled.log" ||
  { cat "$work/bundled.log"; echo "NOT OK: the installed clrnn's default data"; exit 1; }
sed -n 's/^data: /  data: /p' "$work/bundled.log" | head -1

echo "== pkg-config"
if ! command -v pkg-config >/dev/null; then
  echo "pkg-config is not installed: that half skipped"; exit 77
fi
mkdir -p "$work/pkg-config"
echo "  pkg-config --cflags --libs clrnn: $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs clrnn)"
make -s -f "$source/examples/Makefile" -C "$work/pkg-config" PKG_CONFIG_PATH="$libdir/pkgconfig"
run_example pkg-config "$work/pkg-config/forecast"
