#!/usr/bin/env python3
"""Worker CPU per request of two builds of the module, side by side.

    compare.py --build NAME=NGINX,MODULE --build NAME=NGINX,MODULE
               --corpus DIR [--rounds N] [--requests N]

Both nginx servers run at once with the same configuration as
scripts/bench/bench.py's nginx table; every round measures each case on both,
alternating which goes first, so load on the machine hits both alike. Prints
a Markdown table: the median of the rounds for each build and their ratio.
Used by scripts/bench-compare.sh.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the nginx helpers and cases of the main benchmark)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", action="append", required=True,
                        help="NAME=NGINX,MODULE (give exactly two)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    if len(args.build) != 2:
        parser.error("give exactly two --build")
    builds = []
    for spec in args.build:
        name, paths = spec.split("=", 1)
        binary, module = paths.split(",", 1)
        builds.append((name, binary, module))

    tiny = tempfile.mkdtemp(prefix="compare-static-")
    with open(os.path.join(tiny, "tiny.txt"), "w") as f:
        f.write("x")
    cases = [(label, path) for label, path in bench.NGINX_CASES
             if os.path.exists(os.path.join(args.corpus, os.path.basename(path)))]
    servers = {}
    try:
        for name, binary, module in builds:
            conf = (bench.OURS.replace("MODULE", module)
                    .replace("CORPUS", args.corpus).replace("TINYDIR", tiny))
            servers[name] = bench.Nginx(binary, conf, name, 1)
        names = [name for name, _, _ in builds]
        results = {}
        for round_ in range(args.rounds):
            bench.log(f"compare: round {round_ + 1}/{args.rounds}")
            order = names if round_ % 2 == 0 else names[::-1]
            for label, path in cases:
                for name in order:
                    value = bench.cpu_per_request(servers[name], path, args.requests)
                    results.setdefault((label, name), []).append(value)
        a, b = names
        print(f"| case | {a} ms | {b} ms | {b} / {a} |")
        print("|---|---:|---:|---:|")
        for label, _ in cases:
            ma = statistics.median(results[(label, a)])
            mb = statistics.median(results[(label, b)])
            print(f"| {label} | {ma:.1f} | {mb:.1f} | {mb / ma:.3f} |")
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
