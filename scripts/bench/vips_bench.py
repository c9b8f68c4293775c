#!/usr/bin/env python3
"""Per-image CPU cost of libvips in process (pyvips), one thread.

    vips_bench.py FILE WIDTH [--height H] [--format jpeg|webp|png|avif]
                  [--quality Q] [--iterations N] [--warmup N]

thumbnail_buffer to WIDTH (and HEIGHT: a box), then write_to_buffer in the
given format with metadata stripped, so the output matches the engine's
(which writes no metadata). Prints one key=value line like bench_engine.
VIPS_CONCURRENCY=1 must be set by the caller (it is read at start-up); the
operation cache is switched off so every iteration does the work.
"""

import argparse
import os
import resource
import statistics
import sys
import time


def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--format", default="jpeg")
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--iterations", "-n", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--all-pages",
        action="store_true",
        help="load every frame of an animation (n=-1) and keep it animated",
    )
    args = parser.parse_args()

    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    pyvips.concurrency_set(1)

    data = open(args.file, "rb").read()
    suffix = {
        "jpeg": ".jpg[Q={q},strip]",
        "webp": ".webp[Q={q},strip]",
        "png": ".png[compression=1,strip]",
        "avif": ".avif[Q={q},strip,effort=0]",
    }[args.format].format(q=args.quality)
    options = {}
    if args.all_pages:
        options["option_string"] = "n=-1"
    if args.height:
        options["height"] = args.height

    def once():
        image = pyvips.Image.thumbnail_buffer(data, args.width, **options)
        height = image.height
        if args.all_pages:
            height = image.get("page-height")
        return image.write_to_buffer(suffix), image.width, height

    for _ in range(args.warmup):
        once()
    cpu, wall = [], []
    for _ in range(args.iterations):
        c0, w0 = cpu_ms(), time.perf_counter()
        out, width, height = once()
        cpu.append(cpu_ms() - c0)
        wall.append((time.perf_counter() - w0) * 1e3)
    print(
        "file={} cpu_ms_median={:.2f} cpu_ms_mean={:.2f} wall_ms_median={:.2f} n={} "
        "out={}x{} format={} bytes={} vips={}.{}".format(
            args.file,
            statistics.median(cpu),
            statistics.mean(cpu),
            statistics.median(wall),
            args.iterations,
            width,
            height,
            args.format,
            len(out),
            pyvips.version(0),
            pyvips.version(1),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
