#!/usr/bin/env bash
# Smoke test of an nginx that can load the module: starts it on a free
# loopback port with a throwaway prefix, checks a resize, a format change and
# two errors, then stops it. Used after building the module in a new way
# (nginx's ./configure, the Debian package).
#
#   scripts/smoke-test.sh NGINX_BINARY 'MAIN_CONTEXT_LINES'
#
# MAIN_CONTEXT_LINES loads the module, e.g.
#   'load_module /path/to/ngx_http_image_module.so;'
#   'include /etc/nginx/modules-enabled/*.conf;'
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -ne 2 ]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
NGINX=$1
LOAD=$2

fail() {
    echo "smoke: FAIL: $*" >&2
    echo "smoke: nginx files kept in $PREFIX" >&2
    exit 1
}

PREFIX=$(mktemp -d /tmp/nginx-image-smoke.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$PREFIX/logs" "$PREFIX/html"
cp "$ROOT/demo/images/photo-small.jpg" "$PREFIX/html/photo.jpg"
echo "this is not an image" > "$PREFIX/html/notes.txt"
# A relative load_module path (`modules/…`, as in Debian's modules-enabled
# files) is resolved against the prefix: point the throwaway prefix's
# modules/ at the binary's own modules directory, as Debian's
# /usr/share/nginx/modules points at /usr/lib/nginx/modules.
MODULES_PATH=$("$NGINX" -V 2>&1 | sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p')
if [ -n "$MODULES_PATH" ] && [ -d "$MODULES_PATH" ]; then
    ln -s "$MODULES_PATH" "$PREFIX/modules"
fi

USER_LINE=
if [ "$(id -u)" -eq 0 ]; then
    USER_LINE='user root;'
fi

cat > "$PREFIX/nginx.conf" <<CONF
$LOAD
$USER_LINE
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 64; }
http {
    access_log logs/access.log;
    sendfile on;
    client_body_temp_path tmp;
    proxy_temp_path tmp;
    fastcgi_temp_path tmp;
    uwsgi_temp_path tmp;
    scgi_temp_path tmp;
    types { image/jpeg jpg; text/plain txt; }
    server {
        listen 127.0.0.1:$PORT;
        root html;
        location / {
            image_transform "width=\$arg_w,format=\$arg_f";
        }
    }
}
CONF
mkdir -p "$PREFIX/tmp"

"$NGINX" -p "$PREFIX/" -c nginx.conf -t -q || fail "nginx -t refused the configuration"
"$NGINX" -p "$PREFIX/" -c nginx.conf
stop() {
    if [ -f "$PREFIX/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$PREFIX/logs/nginx.pid")" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -f "$PREFIX/logs/nginx.pid" ] || break
            sleep 0.1
        done
    fi
}
trap stop EXIT
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/notes.txt" && break
    sleep 0.1
done

# fetch URL -> sets STATUS, CTYPE, ERR, BODY (file)
BODY="$PREFIX/body"
fetch() {
    local headers
    headers=$(curl -s -D - -o "$BODY" "http://127.0.0.1:$PORT$1") || fail "GET $1: no answer"
    STATUS=$(printf '%s\n' "$headers" | awk 'NR == 1 { print $2 }')
    CTYPE=$(printf '%s\n' "$headers" | awk 'tolower($1) == "content-type:" { print $2 }' | tr -d '\r')
    ERR=$(printf '%s\n' "$headers" | awk 'tolower($1) == "image-error:" { print $2 }' | tr -d '\r')
}

fetch '/photo.jpg?w=64&f=png'
[ "$STATUS" = 200 ] || fail "resize to PNG: status $STATUS"
[ "$CTYPE" = image/png ] || fail "resize to PNG: Content-Type $CTYPE"
width=$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(); assert d[:8] == b"\x89PNG\r\n\x1a\n"; print(struct.unpack(">I", d[16:20])[0])' "$BODY")
[ "$width" = 64 ] || fail "resize to PNG: width $width, wanted 64"
echo "smoke: GET /photo.jpg?w=64&f=png -> $STATUS $CTYPE, ${width} px wide, $(stat -c %s "$BODY") bytes"

fetch '/photo.jpg?w=100'
[ "$STATUS" = 200 ] && [ "$CTYPE" = image/jpeg ] || fail "resize JPEG: $STATUS $CTYPE"
original=$(stat -c %s "$PREFIX/html/photo.jpg")
resized=$(stat -c %s "$BODY")
[ "$resized" -lt "$original" ] || fail "resize JPEG: $resized bytes, not smaller than the original's $original"
echo "smoke: GET /photo.jpg?w=100 -> $STATUS $CTYPE, $resized bytes (original $original)"

fetch '/notes.txt?w=100'
[ "$STATUS" = 415 ] && [ "$ERR" = err=9412 ] || fail "not an image: $STATUS Image-Error $ERR"
echo "smoke: GET /notes.txt?w=100 -> $STATUS Image-Error: $ERR $(cat "$BODY")"

fetch '/photo.jpg?w=abc'
[ "$STATUS" = 400 ] && [ "$ERR" = err=9401 ] || fail "bad option: $STATUS Image-Error $ERR"
echo "smoke: GET /photo.jpg?w=abc -> $STATUS Image-Error: $ERR"

stop
trap - EXIT
if grep -E '\[(alert|emerg)\]|exited on signal' "$PREFIX/logs/error.log"; then
    fail "error.log shows a crash or an alert"
fi
echo "smoke: OK ($("$NGINX" -v 2>&1))"
rm -rf "$PREFIX"
