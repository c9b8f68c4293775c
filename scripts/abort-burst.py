#!/usr/bin/env python3
"""Clients that leave in a burst: N connections ask for a slow transform and
close CLOSE_AFTER seconds later, all at once.

Starts its own nginx (the build's binary and module) in a temporary prefix,
with a small thread pool and a queue large enough to hold the whole burst,
then reports:

- how many of the N requests the access log shows as 499;
- how many of them ran on the pool at all (`$image_process_ms` is "-" for
  a job dropped from the queue before it started);
- the worker's RSS before the burst and once the burst has settled;
- the latency of the next transform against the same transform measured
  before the burst.

Usage: scripts/abort-burst.py [--clients 1000] [--close-after 0.05]
           [--image PATH] [--options 'w=3000&f=webp']

Needs only Python 3 (asyncio). Build first: cargo build --release --locked.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.path.join(ROOT, "target/release/nginx")
MODULE = os.path.join(ROOT, "target/release/libngx_http_image_module.so")
DEFAULT_IMAGE = os.path.join(ROOT, "../shared/corpus/photo-13mp.jpg")

CONF = """
load_module {module};
{user}
worker_processes 1;
worker_rlimit_nofile 8192;
error_log error.log info;
pid nginx.pid;
events {{ worker_connections 4096; }}
thread_pool burst threads=2 max_queue=65536;
http {{
    types {{ image/jpeg jpg jpeg; image/png png; text/plain txt; }}
    log_format fmt '$status "$request" $image_process_ms';
    access_log access.log fmt;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        image_max_output_pixels 100000000;
        location /img/ {{
            alias {images}/;
            image_transform "width=$arg_w,format=$arg_f";
            image_thread_pool burst;
            image_max_queue {queue};
        }}
        location = /tiny.txt {{ return 200 "ok\\n"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_pid(prefix):
    master = int(open(os.path.join(prefix, "nginx.pid")).read())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        # ppid is the 4th field, after the ")" that ends the command name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            return int(pid)
    raise RuntimeError("no worker process")


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def get(port, path):
    """One GET on its own connection; returns (status, seconds)."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, time.monotonic() - start


async def leave(port, path, after):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    await asyncio.sleep(after)
    writer.transport.abort()


async def burst(port, path, clients, after):
    # Connections are opened in waves so the listen queue never overflows.
    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(leave(port, path, after)))
        if i % 200 == 199:
            await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return sum(1 for r in results if isinstance(r, Exception))


def access_lines(prefix, needle):
    path = os.path.join(prefix, "access.log")
    if not os.path.exists(path):
        return []
    return [l for l in open(path) if needle in l]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--close-after", type=float, default=0.05)
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--options", default="w=3000&f=webp")
    ap.add_argument("--settle", type=float, default=60.0, help="seconds to wait for the log")
    args = ap.parse_args()

    for path in (NGINX, MODULE, args.image):
        if not os.path.exists(path):
            sys.exit(f"abort-burst: {path} is missing (build first; --image for another image)")

    prefix = tempfile.mkdtemp(prefix="abort-burst-")
    images = os.path.join(prefix, "images")
    os.mkdir(images)
    name = "burst" + os.path.splitext(args.image)[1]
    shutil.copy(args.image, os.path.join(images, name))
    port = free_port()
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(
            CONF.format(
                module=MODULE,
                user="user root;" if os.geteuid() == 0 else "",
                port=port,
                images=images,
                queue=args.clients * 2,
            )
        )
    nginx = subprocess.Popen(
        [NGINX, "-p", prefix + "/", "-c", "nginx.conf", "-e", "error.log", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        worker = worker_pid(prefix)
        path = f"/img/{name}?{args.options}"
        probe = f"/img/{name}?w=100"

        baseline = min(asyncio.run(get(port, probe))[1] for _ in range(3))
        status, full = asyncio.run(get(port, path))
        rss_before = rss_mb(worker)
        print(f"one transform ({args.options}): {status} in {full:.2f} s; "
              f"probe (w=100): {baseline * 1000:.0f} ms; worker RSS {rss_before:.0f} MB")

        started = time.monotonic()
        failed = asyncio.run(burst(port, path, args.clients, args.close_after))
        sent = time.monotonic() - started
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            if len(access_lines(prefix, "?" + args.options)) >= args.clients + 1:
                break
            time.sleep(0.1)
        logged = time.monotonic() - started
        status, after = asyncio.run(get(port, probe))
        time.sleep(1.0)
        rss_after = rss_mb(worker)

        lines = access_lines(prefix, "?" + args.options)[1:]
        aborted = [l for l in lines if l.startswith("499 ")]
        ran = [l for l in aborted if not l.rstrip().endswith(" -")]
        others = sorted({l.split(" ", 1)[0] for l in lines if not l.startswith("499 ")})
        print(f"{args.clients} clients closed {args.close_after * 1000:.0f} ms in "
              f"(sent in {sent:.2f} s, {failed} connect errors): "
              f"{len(aborted)} logged 499 within {logged:.1f} s, "
              f"{len(ran)} of them ran on the pool, other statuses: {others or 'none'}")
        print(f"next request: {status} in {after * 1000:.0f} ms "
              f"(before the burst: {baseline * 1000:.0f} ms)")
        print(f"worker RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after")
        alerts = [l for l in open(os.path.join(prefix, "error.log"))
                  if "[alert]" in l or "[emerg]" in l or "signal" in l]
        if alerts:
            print("error.log:\n" + "".join(alerts[:10]))
        ok = len(aborted) == args.clients and status == 200 and not alerts
        return 0 if ok else 1
    finally:
        nginx.send_signal(signal.SIGTERM)
        nginx.wait(timeout=30)
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
