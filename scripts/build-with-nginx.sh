#!/usr/bin/env bash
# Builds the module the way nginx builds third-party modules:
#
#   ./configure --with-compat --with-threads ... --add-dynamic-module=<this repository>
#   make && make modules
#
# using the nginx source that the nginx-src crate ships (the same nginx the
# cargo build uses), then runs scripts/smoke-test.sh against the result:
# the nginx binary from this build loading objs/ngx_http_image_module.so.
# Takes a few minutes cold (nginx, then cargo), seconds when warm.
#
#   scripts/build-with-nginx.sh [BUILD_DIR]     (default: target/nginx-configure)
#
# Not part of CI (scripts/test.sh): the cargo build already covers the code;
# this covers the `config` / `config.make` integration.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
scripts/setup.sh

BUILD=${1:-$ROOT/target/nginx-configure}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

# The nginx source inside the nginx-src crate of Cargo.lock.
NGINX_CRATE=$(cargo metadata --locked --format-version 1 |
    python3 -c 'import json, os, sys
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "nginx-src"))')
SRC="$BUILD/nginx"
if [ ! -f "$SRC/auto/configure" ] && [ ! -f "$SRC/configure" ]; then
    rm -rf "$SRC"
    cp -r "$NGINX_CRATE/nginx" "$SRC"
fi
# The crate ships nginx's repository layout (auto/configure); a release
# tarball has ./configure at the top. Support both.
CONFIGURE=./configure
[ -x "$SRC/configure" ] || CONFIGURE=./auto/configure

cd "$SRC"
echo "build-with-nginx: configuring $(grep -m1 NGINX_VERSION src/core/nginx.h | awk '{print $3}') in $SRC"
$CONFIGURE \
    --prefix="$BUILD/prefix" \
    --with-compat \
    --with-threads \
    --with-http_ssl_module \
    --with-http_v2_module \
    --add-dynamic-module="$ROOT" \
    > "$BUILD/configure.log" 2>&1 || {
        tail -20 "$BUILD/configure.log" >&2
        echo "build-with-nginx: configure failed (log: $BUILD/configure.log)" >&2
        exit 1
    }
grep -E 'ngx_http_image_module|checking for.*thread' "$BUILD/configure.log" || true

# cargo builds in objs/ngx_http_image_module/, which a second configure
# keeps: a second run only relinks.
started=$(date +%s)
make -j"$(nproc)" > "$BUILD/make.log" 2>&1 || {
    tail -30 "$BUILD/make.log" >&2
    echo "build-with-nginx: make failed (log: $BUILD/make.log)" >&2
    exit 1
}
make modules >> "$BUILD/make.log" 2>&1
echo "build-with-nginx: make && make modules took $(( $(date +%s) - started )) s"

MODULE="$SRC/objs/ngx_http_image_module.so"
[ -f "$MODULE" ] || { echo "build-with-nginx: $MODULE was not built" >&2; exit 1; }
echo "build-with-nginx: built $MODULE ($(stat -c %s "$MODULE") bytes)"
echo "build-with-nginx: module order: $(grep -A3 'ngx_module_order' objs/ngx_http_image_module_modules.c | tr -d '\n' | tr -s ' ')"

cd "$ROOT"
scripts/smoke-test.sh "$SRC/objs/nginx" "load_module $MODULE;"
