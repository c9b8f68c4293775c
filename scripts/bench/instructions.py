#!/usr/bin/env python3
"""Instructions executed per transform at two revisions, case by case.

CPU time on a shared machine drifts by several per cent between two runs
of the same binary, more than the regressions worth catching. The number
of instructions a transform executes does not depend on the load: it is
counted here with valgrind's callgrind (hardware counters are often
unavailable in virtual machines), for one `bench_engine` run per case and
build, warm-up off. The count includes the program's start and reading
the file (about 30 million instructions for the smallest photo at 8 px),
nearly the same for both builds.

Usage (scripts/bench/instructions.sh builds the binaries):

    instructions.py --build NAME=BENCH_ENGINE --build NAME=BENCH_ENGINE
                    --corpus DIR [--derived DIR] [--limit PERCENT]

Prints a Markdown table (millions of instructions and the change) and
exits 1 when a case of the benchmark table grew by more than --limit per
cent (default 5).
"""

import argparse
import os
import re
import subprocess
import sys

# The case table is bench.py's; importing it must not leave bytecode behind.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import CASES, options  # noqa: E402

# Cases outside the benchmark table: the progressive photos at the other
# shrink-on-load scales (800 px is 1/4 of both, 1600 px 1/2). Reported,
# not held to the limit: they are where a decoder change is meant to show.
SCALE_CASES = [
    ("13 MP progressive JPEG → 800 px JPEG (1/4)", "photo-13mp-progressive.jpg", 800, None, "jpeg"),
    ("13 MP progressive JPEG → 1600 px JPEG (1/2)", "photo-13mp-progressive.jpg", 1600, None, "jpeg"),
    ("20 MP progressive JPEG → 800 px JPEG (1/4)", "photo-20mp-progressive.jpg", 800, None, "jpeg"),
    ("20 MP progressive JPEG → 1600 px JPEG (1/2)", "photo-20mp-progressive.jpg", 1600, None, "jpeg"),
    ("13 MP mozjpeg-style JPEG → 800 px JPEG (1/4)", "photo-13mp-mozjpeg.jpg", 800, None, "jpeg"),
]

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(engine, path, opts):
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        engine, path, opts, "--iterations", "1", "--warmup", "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-2000:]}")
    found = COLLECTED.search(result.stderr)
    if not found:
        raise RuntimeError(f"no instruction count from callgrind for {path}")
    return int(found.group(1))


def find_input(corpus, derived, name):
    for directory in (corpus, derived):
        if directory and os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", action="append", required=True,
                        help="NAME=path to bench_engine (give two)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--derived")
    parser.add_argument("--limit", type=float, default=5.0)
    args = parser.parse_args()
    builds = [b.split("=", 1) for b in args.build]
    if len(builds) != 2:
        parser.error("give exactly two --build")
    (before, before_bin), (after, after_bin) = builds

    cases = [(label, name, width, height, fmt, True) for label, name, width, height, fmt, _ in CASES]
    cases += [(label, name, width, height, fmt, False) for label, name, width, height, fmt in SCALE_CASES]
    print(f"| case | {before} (M instr.) | {after} (M instr.) | change |")
    print("|---|---|---|---|")
    worst = None
    seen = set()
    for label, name, width, height, fmt, in_table in cases:
        path = find_input(args.corpus, args.derived, name)
        if path is None or (label, name) in seen:
            continue
        seen.add((label, name))
        opts = options(width, height, fmt)
        counts = [instructions(binary, path, opts) for binary in (before_bin, after_bin)]
        change = (counts[1] / counts[0] - 1) * 100
        mark = "" if in_table else " (other scale)"
        print(f"| {label} ({name}){mark} | {counts[0] / 1e6:.1f} | {counts[1] / 1e6:.1f} "
              f"| {change:+.1f} % |", flush=True)
        if in_table and (worst is None or change > worst[0]):
            worst = (change, label)
    if worst is not None:
        print(f"\nLargest growth in the benchmark table: {worst[0]:+.1f} % ({worst[1]}); "
              f"limit +{args.limit:.0f} %.")
        if worst[0] > args.limit:
            sys.exit(1)


if __name__ == "__main__":
    main()
