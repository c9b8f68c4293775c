#!/usr/bin/env bash
# Builds nginx and the module, then runs the demo in the foreground:
# http://127.0.0.1:8080/ (set PORT=... to use another port). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${PORT:-8080}

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

scripts/setup.sh
cargo build --release --locked

NGINX="$ROOT/target/release/nginx"
MODULE="$ROOT/target/release/libngx_http_image_module.so"
if [ ! -x "$NGINX" ]; then
    echo "run: $NGINX is missing; the build should have linked it there" >&2
    exit 1
fi
if [ ! -f "$MODULE" ]; then
    echo "run: $MODULE is missing" >&2
    exit 1
fi

# run/ is the nginx prefix: modules/, conf/, logs/ and a link to demo/.
RUN="$ROOT/run"
mkdir -p "$RUN/modules" "$RUN/conf" "$RUN/logs"
cp -f "$MODULE" "$RUN/modules/ngx_http_image_module.so"
ln -sfn "$ROOT/demo" "$RUN/demo"
sed "s/127\.0\.0\.1:8080/127.0.0.1:$PORT/" nginx-conf/demo.conf > "$RUN/conf/demo.conf"

GLOBALS='daemon off;'
if [ "$(id -u)" -eq 0 ]; then
    # Workers would otherwise run as "nobody", which may not be allowed to
    # read a checkout under a private home directory.
    GLOBALS="$GLOBALS user root;"
fi

"$NGINX" -p "$RUN/" -c conf/demo.conf -e logs/error.log -g "$GLOBALS" -t -q

echo
echo "Demo running at http://127.0.0.1:$PORT/  (logs in run/logs/, Ctrl-C to stop)"
echo
exec "$NGINX" -p "$RUN/" -c conf/demo.conf -e logs/error.log -g "$GLOBALS"
