#!/usr/bin/env python3
"""Worker memory that follows the work: VmRSS of the nginx worker idle
before load, at its peak during load, and idle after it.

Cases (each on a fresh nginx, one worker, the default thread pool):
  burst  N simultaneous 20 MP progressive JPEG → 400 px JPEG transforms
  loop   one connection resizing a 2048×1536 RGBA PNG (generated) N times
  iccp   a 1×1 PNG whose iCCP profile inflates to 500 MB (generated):
         the peak is the worker's VmHWM growth

Targets (README, "Memory"): idle after load within 20 MB of idle before;
the burst's peak under image_memory plus the slack the README documents.

  python3 scripts/bench/rss.py --nginx target/release/nginx \
      --module target/release/libngx_http_image_module.so \
      --jpeg target/bench/derived/photo-20mp-progressive.jpg [--out FILE]
"""

import argparse
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Nginx  # noqa: E402  (one nginx runner for every measurement)

CONF = """
load_module MODULE;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location /img/ { alias FILES/; image_buffer 30m; image_memory MEMORY;
            image_max_queue 64;
            image_transform "width=$arg_w,quality=80"; }
    }
}
"""


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def get(port, path):
    """One GET on its own connection; the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
    return int(data.split(b" ", 2)[1])


def png(width, height, color_type, pixels, extra=b""):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(pixels, 1)) + chunk(b"IEND", b""))


def rgba_png(width, height):
    row = 1 + width * 4
    raw = bytearray(os.urandom(row * height))
    for y in range(height):
        raw[y * row] = 0  # filter: none
    return png(width, height, 6, bytes(raw))


def iccp_bomb(inflated):
    """1×1 RGB PNG whose iCCP profile inflates to `inflated` bytes."""
    z = zlib.compressobj(9)
    block = bytes(1 << 20)
    profile = b"".join(z.compress(block) for _ in range(inflated >> 20)) + z.flush()
    body = b"icc\x00\x00" + profile
    chunk = (struct.pack(">I", len(body)) + b"iCCP" + body
             + struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF))
    return png(1, 1, 2, b"\x00\x80\x80\x80", chunk)


def settle(worker, seconds=3.0):
    """VmRSS once it stops falling (freed memory is returned lazily)."""
    end = time.time() + seconds
    last = status_kb(worker, "VmRSS:")
    while time.time() < end:
        time.sleep(0.25)
        last = status_kb(worker, "VmRSS:")
    return last


def run_case(args, files, name, path, clients, total):
    memory = "" if args.memory == "none" else f"image_memory {args.memory};"
    conf = (CONF.replace("MODULE", args.module).replace("FILES", files)
            .replace("image_memory MEMORY;", memory))
    server = Nginx(args.nginx, conf, f"rss-{name}", 1)
    try:
        worker = server.workers()[0]
        # Warm-up: code pages, codec tables, the first thread's arena.
        get(server.port, "/img/small.png?w=100")
        before = settle(worker, 1.0)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], status_kb(worker, "VmRSS:"))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        statuses = []
        lock = threading.Lock()
        remaining = [total]

        def client():
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                status = get(server.port, path)
                with lock:
                    statuses.append(status)

        start = time.time()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.time() - start
        done.set()
        sampler.join()
        hwm = status_kb(worker, "VmHWM:")
        after = settle(worker)
        errors = server.errors()
    finally:
        server.stop()
    ok = sum(1 for s in statuses if s == 200)
    return dict(name=name, before=before, peak=max(peak[0], 0), hwm=hwm, after=after,
                ok=ok, total=total, took=took, statuses=sorted(set(statuses)), alerts=len(errors))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--jpeg", required=True, help="20 MP progressive JPEG")
    parser.add_argument("--memory", default="1024m",
                        help="image_memory (none: leave the directive out)")
    parser.add_argument("--burst", type=int, default=32)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--out")
    args = parser.parse_args()

    files = tempfile.mkdtemp(prefix="rss-files-")
    try:
        os.symlink(os.path.abspath(args.jpeg), os.path.join(files, "burst.jpg"))
        with open(os.path.join(files, "loop.png"), "wb") as f:
            f.write(rgba_png(2048, 1536))
        with open(os.path.join(files, "small.png"), "wb") as f:
            f.write(rgba_png(200, 150))
        with open(os.path.join(files, "iccp.png"), "wb") as f:
            f.write(iccp_bomb(500 << 20))
        cases = [
            run_case(args, files, "burst", "/img/burst.jpg?w=400", args.burst, args.burst),
            run_case(args, files, "loop", "/img/loop.png?w=1000", 1, args.loop),
            run_case(args, files, "iccp", "/img/iccp.png?w=1", 1, 1),
        ]
    finally:
        for name in os.listdir(files):
            os.unlink(os.path.join(files, name))
        os.rmdir(files)

    mb = 1024
    lines = [
        "## Worker memory (VmRSS)",
        "",
        f"One worker, default thread pool, image_memory {args.memory}. burst: {args.burst} "
        "simultaneous 20 MP progressive JPEG → 400 px; loop: one connection, "
        f"{args.loop} × 2048×1536 RGBA PNG → 1000 px; iccp: 1×1 PNG whose iCCP "
        "inflates to 500 MB.",
        "",
        "| case | idle before MB | peak MB (sampled) | VmHWM MB | idle after MB | after − before MB | 200s | statuses | s | alerts |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for c in cases:
        lines.append(
            f"| {c['name']} | {c['before'] / mb:.1f} | {c['peak'] / mb:.1f} | {c['hwm'] / mb:.1f} "
            f"| {c['after'] / mb:.1f} | {(c['after'] - c['before']) / mb:+.1f} | {c['ok']}/{c['total']} "
            f"| {c['statuses']} | {c['took']:.1f} | {c['alerts']} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
