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
between the qualities that bracket it), for its default baseline JPEG and
its interlaced one, and the differences; with `--chroma`, what luma SSIM
does not see: the mean of SSIM on Cb and Cr, for the setting and for
libvips' baseline JPEG at the same luma SSIM (interpolated alike), and
SSIMULACRA2 (a perceptual score in XYB, chroma and blocking included;
`pip install ssimulacra2`) with libvips' baseline bytes at an equal
SSIMULACRA2, so a setting cannot win by trading what luma SSIM misses; the
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
from bytes_ssim import PHOTOS, chroma_ssim, ssim, ssimulacra2, vips_bytes_at  # noqa: E402

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
    parser.add_argument("--chroma", action="store_true",
                        help="also score chroma (SSIM on Cb and Cr)")
    args = parser.parse_args()
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    settings = args.settings.split(",") if args.settings else subprocess.run(
        [args.settings_bin, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    chroma_head = (" chroma SSIM | libvips baseline's at that SSIM | SSIMULACRA2 | "
                   "libvips baseline at that SSIMULACRA2 | vs it |") if args.chroma else ""
    print(f"| photo → {args.width} px | setting | bytes q{args.quality} | SSIM | "
          "libvips baseline at that SSIM | vs it | libvips interlaced at that SSIM | vs it |"
          f"{chroma_head} M instructions / encode |")
    print("|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" * 5 if args.chroma else "") + "---:|")
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
                decoded = pyvips.Image.new_from_buffer(data, "")
                score = ssim(reference, decoded)
                versus = []
                for save in ({}, {"interlace": True}):
                    theirs = vips_bytes_at(reference, score, **save)
                    versus.append(f"{theirs:,.0f} | {len(data) / theirs - 1:+.1%}" if theirs
                                  else "— | —")
                chroma = ""
                if args.chroma:
                    theirs = vips_bytes_at(reference, score, score=chroma_ssim)
                    chroma = (f" {chroma_ssim(reference, decoded):.4f} | "
                              + (f"{theirs:.4f} |" if theirs else "— |"))
                    perceptual = ssimulacra2(reference, decoded)
                    theirs = vips_bytes_at(reference, perceptual, metric=ssimulacra2)
                    chroma += (f" {perceptual:.2f} | " + (
                        f"{theirs:,.0f} | {len(data) / theirs - 1:+.1%} |" if theirs
                        else "— | — |"))
                cost = "—"
                if not args.no_instructions:
                    one = instructions(args.settings_bin, png, setting, args.quality, 1)
                    four = instructions(args.settings_bin, png, setting, args.quality, 4)
                    cost = f"{(four - one) / 3 / 1e6:.1f}"
                print(f"| {name} | {setting} | {len(data):,} | {score:.4f} | "
                      f"{versus[0]} | {versus[1]} |{chroma} {cost} |", flush=True)


if __name__ == "__main__":
    main()
