#!/usr/bin/env bash
# Runs nginx's own image_filter module and this module's drop-in on the
# same configuration (nginx-conf/image-filter.conf: only the load_module
# line differs) and the same requests, and prints status, Content-Type and
# output size (or the JSON) side by side. Not part of CI: it needs libgd-dev
# to build nginx with image_filter (the same source as the vendored nginx,
# as scripts/bench.sh does; NGINX_GD=/path/to/nginx uses an existing one).
#
#   scripts/compare-image-filter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
NGINX="${NGINX:-$ROOT/target/release/nginx}"
MODULE="${MODULE:-$ROOT/target/release/libngx_http_image_module.so}"
FIXTURES="$ROOT/target/release/test-fixtures/v1"
WORK="$ROOT/target/bench"

if [ ! -x "$NGINX" ] || [ ! -f "$MODULE" ]; then
    cargo build --release --locked
fi
if [ ! -f "$FIXTURES/.complete" ]; then
    # The integration tests generate the images.
    cargo test --release --locked --test image_filter -- size_answers
fi

NGINX_GD="${NGINX_GD:-}"
if [ -z "$NGINX_GD" ]; then
    GD_DIR="$WORK/nginx-image-filter"
    if [ ! -x "$GD_DIR/objs/nginx" ]; then
        [ -f /usr/include/gd.h ] || {
            echo "compare: gd.h not found: apt-get install libgd-dev" >&2
            exit 1
        }
        SRC=""
        for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/nginx-src-*/nginx; do
            [ -x "$dir/auto/configure" ] && SRC="$dir"
        done
        [ -n "$SRC" ] || {
            echo "compare: nginx-src not found in the cargo registry" >&2
            exit 1
        }
        mkdir -p "$WORK"
        rm -rf "$GD_DIR"
        cp -r "$SRC" "$GD_DIR"
        (cd "$GD_DIR" &&
            auto/configure --with-http_image_filter_module --with-threads \
                --builddir=objs >"$WORK/nginx-image-filter.log" 2>&1 &&
            make -j"$(nproc)" >>"$WORK/nginx-image-filter.log" 2>&1)
    fi
    NGINX_GD="$GD_DIR/objs/nginx"
fi

exec python3 - "$NGINX_GD" "$NGINX" "$MODULE" "$FIXTURES" "$ROOT/nginx-conf/image-filter.conf" <<'PY'
import http.client, json, os, shutil, socket, struct, subprocess, sys, tempfile, time

stock_bin, ours_bin, module, fixtures, example = sys.argv[1:]

REQUESTS = [
    "/img/photo.jpg", "/img/alpha.png", "/img/anim.gif", "/img/pic.webp",
    "/img/page.html", "/img/missing.jpg",
    "/resize/photo.jpg?width=300&height=-", "/resize/photo.jpg?width=-&height=60",
    "/resize/photo.jpg?width=2000&height=-", "/resize/photo.jpg?width=0&height=10",
    "/resize/photo.jpg?height=10", "/resize/anim.gif?width=80&height=80",
    "/resize/pic.webp?width=100&height=100", "/resize/alpha.png?width=64&height=64",
    "/resize/photo.png?width=333&height=111", "/resize/missing.jpg?width=10&height=10",
    "/crop/photo.jpg?width=100&height=100", "/crop/photo.jpg?width=200&height=50",
    "/crop/photo.jpg?width=1000&height=50", "/crop/pic.webp?width=-&height=77",
    "/crop/alpha.png?width=101&height=99",
    "/rotate/photo.jpg?angle=90", "/rotate/photo.jpg?angle=180",
    "/rotate/photo.jpg?angle=270", "/rotate/photo.jpg?angle=45",
    "/turn/photo.jpg?width=80&height=60&angle=90", "/turn/photo.jpg?width=80&height=60&angle=270",
    "/turn/photo.jpg?width=100&height=300&angle=90", "/turn/photo.jpg?width=333&height=77&angle=180",
    "/turn/alpha.png?width=300&height=100&angle=270", "/turn/pic.webp?width=-&height=51&angle=90",
    "/turn/photo.jpg?width=80&height=60&angle=45", "/turn/anim.gif?width=1000&height=1000&angle=90",
    "/size/photo.jpg", "/size/anim.gif", "/size/pic.webp", "/size/alpha.png",
    "/size/page.html", "/test/photo.jpg", "/test/pic.webp", "/test/page.html",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, load):
    prefix = tempfile.mkdtemp(prefix="image-filter-compare-")
    port, origin = free_port(), free_port()
    conf = open(example).read()
    conf = (conf.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
                .replace("127.0.0.1:8081", f"127.0.0.1:{origin}")
                .replace("/var/www/images/", fixtures + "/"))
    types = ("types { text/html html; text/plain txt; image/jpeg jpg; image/png png; "
             "image/gif gif; image/webp webp; }")
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(f"{load}\nuser root;\nworker_processes 1;\nerror_log error.log info;\n"
                f"pid nginx.pid;\nevents {{ worker_connections 64; }}\n"
                f"http {{ {types}\n access_log off;\n{conf}\n}}\n")
    proc = subprocess.Popen([binary, "-p", prefix + "/", "-c", "nginx.conf", "-e", "error.log",
                             "-g", "daemon off;"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port, prefix
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{binary} did not start; see {prefix}/error.log")


def size(body):
    """(format, width, height) from the header of a JPEG/PNG/GIF/WebP."""
    if body[:8] == b"\x89PNG\r\n\x1a\n":
        return ("png",) + struct.unpack(">II", body[16:24])
    if body[:4] == b"GIF8":
        return ("gif",) + struct.unpack("<HH", body[6:10])
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        kind = body[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", body[26:30])
            return ("webp", w & 0x3FFF, h & 0x3FFF)
        if kind == b"VP8L":
            b = int.from_bytes(body[21:25], "little")
            return ("webp", (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1)
        if kind == b"VP8X":
            return ("webp", int.from_bytes(body[24:27], "little") + 1,
                    int.from_bytes(body[27:30], "little") + 1)
    if body[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(body):
            if body[i] != 0xFF:
                i += 1
                continue
            marker = body[i + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB):
                h, w = struct.unpack(">HH", body[i + 5:i + 9])
                return ("jpeg", w, h)
            i += 2 + struct.unpack(">H", body[i + 2:i + 4])[0]
    return None


def fetch(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    kind = (resp.getheader("Content-Type") or "-").split(";")[0]
    if kind == "application/json":
        what = body.decode().strip()
    else:
        dims = size(body)
        what = f"{dims[0]} {dims[1]}x{dims[2]}" if dims else f"{len(body)} bytes"
    return f"{resp.status} {kind} {what}"


servers = [start(stock_bin, ""), start(ours_bin, f"load_module {module};")]
same = 0
try:
    print(f"{'request':42} {'nginx image_filter':40} {'this module':40}")
    for path in REQUESTS:
        stock, ours = (fetch(port, path) for _, port, _ in servers)
        mark = "=" if stock == ours else "DIFFERS"
        same += stock == ours
        print(f"{path:42} {stock:40} {ours:40} {mark}")
finally:
    for proc, _, prefix in servers:
        proc.terminate()
        proc.wait()
        shutil.rmtree(prefix, ignore_errors=True)
print(f"\n{same} of {len(REQUESTS)} requests answered alike")
sys.exit(0 if same == len(REQUESTS) else 1)
PY
