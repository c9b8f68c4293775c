#!/usr/bin/env python3
"""The default JPEG encoder's settings compared: bytes at equal SSIM
against libvips, and instructions per encode.

    jpeg_settings.py --settings-bin JPEG_SETTINGS --engine BENCH_ENGINE
                     --corpus DIR [--width 400] [--quality 80] [--no-instructions]

Each photo is resized once by the engine (`width=W,format=png`); every
setting and libvips' JPEG (`jpegsave`, interlaced, i.e. libjpeg-turbo's
smallest output) encode those same pixels, so the table compares encoders,
not resamplers. For each setting: its bytes and SSIM (luma, as
bytes_ssim.py) at QUALITY, libvips' bytes at that SSIM (interpolated
between the qualities that bracket it) and the difference; the
instructions of one encode are counted with callgrind as
(count at 4 iterations - count at 1) / 3. Prints a Markdown table.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bytes_ssim import PHOTOS, ssim, vips_bytes_at  # noqa: E402

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(binary, png, setting, quality, iterations):
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         binary, png, setting, str(quality), "--iterations", str(iterations)],
        capture_output=True, text=True, check=True)
    return int(COLLECTED.search(result.stderr).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings-bin", required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--settings", default=None, help="comma-separated subset")
    parser.add_argument("--no-instructions", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    settings = args.settings.split(",") if args.settings else subprocess.run(
        [args.settings_bin, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    print(f"| photo → {args.width} px | setting | bytes q{args.quality} | SSIM | "
          "libvips interlaced at that SSIM | vs libvips | M instructions / encode |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            path = os.path.join(args.corpus, name)
            if not os.path.exists(path):
                continue
            png = os.path.join(tmp, "ref.png")
            subprocess.run([args.engine, path, f"width={args.width},format=png",
                            "--iterations", "1", "--warmup", "0", "--save", png],
                           check=True, stdout=subprocess.DEVNULL)
            reference = pyvips.Image.new_from_file(png).copy_memory()
            for setting in settings:
                out = os.path.join(tmp, "out.jpg")
                subprocess.run([args.settings_bin, png, setting, str(args.quality),
                                "--save", out], check=True, stdout=subprocess.DEVNULL)
                data = open(out, "rb").read()
                score = ssim(reference, pyvips.Image.new_from_buffer(data, ""))
                theirs = vips_bytes_at(reference, score, interlace=True)
                versus = f"{len(data) / theirs - 1:+.1%}" if theirs else "—"
                cost = "—"
                if not args.no_instructions:
                    one = instructions(args.settings_bin, png, setting, args.quality, 1)
                    four = instructions(args.settings_bin, png, setting, args.quality, 4)
                    cost = f"{(four - one) / 3 / 1e6:.1f}"
                print(f"| {name} | {setting} | {len(data):,} | {score:.4f} | "
                      f"{theirs:,.0f} | {versus} | {cost} |" if theirs else
                      f"| {name} | {setting} | {len(data):,} | {score:.4f} | — | — | {cost} |",
                      flush=True)


if __name__ == "__main__":
    main()
