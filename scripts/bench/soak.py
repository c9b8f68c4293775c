#!/usr/bin/env python3
"""Steady memory under saturation: wrk keeps the module's thread pool busy
resizing large photos for several minutes while the worker's RSS is sampled.
A flat line (no growth after the first minute) means no leak and no
unbounded queue. Writes a Markdown section to --out.

Run by scripts/bench.sh (SOAK_SECONDS, NO_SOAK); needs wrk.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Nginx  # noqa: E402  (one nginx runner for every measurement)

CONF = """
load_module MODULE;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location /img/ { alias CORPUS/; image_buffer 30m;
            image_transform "width=400,quality=80,format=$arg_f"; }
    }
}
"""

# wrk cycles through the corpus, alternating JPEG and WebP output, so
# decoders, encoders and sizes mix.
LUA = """
local paths = { PATHS }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def request_paths(corpus):
    names = sorted(n for n in os.listdir(corpus) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    return [f"/img/{n}?f={'jpeg' if i % 2 == 0 else 'webp'}" for i, n in enumerate(names)]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--interval", type=float, default=10)
    args = parser.parse_args()

    conf = CONF.replace("MODULE", args.module).replace("CORPUS", args.corpus)
    server = Nginx(args.nginx, conf, "soak", 1)
    script = os.path.join(server.prefix, "mix.lua")
    paths = request_paths(args.corpus)
    with open(script, "w") as f:
        f.write(LUA.replace("PATHS", ", ".join(f'"{p}"' for p in paths)))
    try:
        worker = server.workers()[0]
        idle = rss_kb(worker)
        load = subprocess.Popen(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "-s", script,
             f"http://127.0.0.1:{server.port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        samples = []
        start = time.time()
        while load.poll() is None:
            time.sleep(args.interval)
            samples.append((time.time() - start, rss_kb(worker)))
        output = load.stdout.read()
        errors = server.errors()
    finally:
        server.stop()

    rate = next((l.split()[1] for l in output.splitlines() if l.startswith("Requests/sec")), "?")
    non2xx = next((l.split()[-1] for l in output.splitlines() if "Non-2xx" in l), "0")
    after_first_minute = [kb for t, kb in samples if t >= 60] or [kb for _, kb in samples]
    first, last = after_first_minute[0], after_first_minute[-1]
    lines = [
        "## Memory under sustained load",
        "",
        f"wrk, {args.connections} connections for {args.seconds} s cycling through "
        + ", ".join(f"`{p}`" for p in paths)
        + " (400 px wide); nginx worker_processes 1, default thread pool; "
        f"worker VmRSS sampled every {args.interval:g} s.",
        "",
        "| idle MB | after 1 min MB | end MB | max MB | median MB | growth from 1 min to end MB | requests/s | non-2xx | alerts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {idle / 1024:.1f} | {first / 1024:.1f} | {last / 1024:.1f} | "
        f"{max(kb for _, kb in samples) / 1024:.1f} | "
        f"{statistics.median(kb for _, kb in samples) / 1024:.1f} | "
        f"{(last - first) / 1024:+.1f} | {rate} | {non2xx} | {len(errors)} |",
        "",
        "Samples (s: MB): " + ", ".join(f"{t:.0f}: {kb / 1024:.0f}" for t, kb in samples),
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
