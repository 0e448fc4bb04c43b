#!/usr/bin/env bash
# Installs the SDK into a temporary prefix and builds the template strategy out of tree, once
# with CMake's find_package(larch-sdk 1) and once with pkg-config, then checks that the host
# loads both builds. Usage: sdk_out_of_tree.sh BUILD_DIR SOURCE_DIR LARCH_BIN
set -euo pipefail
build=$1 src=$2 larch=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples/strategy-template" -B "$tmp/cmake-build" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
test -f "$tmp/cmake-build/hillclimb.so"

mkdir -p "$tmp/pc-build"
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  sh -c 'cc -std=c11 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
    "$0" $(pkg-config --cflags --libs larch-sdk) -Wl,-z,defs -o "$1"' \
  "$src/examples/strategy-template/hillclimb.c" "$tmp/pc-build/hillclimb.so"

for dir in "$tmp/cmake-build" "$tmp/pc-build"; do
  out=$("$larch" plugins --plugin-path "$dir")
  echo "$out" | grep -q "^hillclimb .*$dir/hillclimb.so" || { echo "$out"; exit 1; }
done
# Only the entry symbol is exported.
exported=$(nm -D --defined-only "$tmp/cmake-build/hillclimb.so" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}')
[ "$exported" = "larch_plugin_entry_v1" ] || { echo "exports: $exported"; exit 1; }
echo "1 passed, 0 failed"
