#!/usr/bin/env python3
"""JPEG bytes and SSIM: the engine against libvips, same photos, same quality.

    bytes_ssim.py --engine BENCH_ENGINE --corpus DIR [--width 400] [--quality 80]

For each photo, both pipelines resize to WIDTH and encode at QUALITY. Each
JPEG is compared (SSIM on luma, Gaussian window sigma 1.5, computed with
libvips operations) against the same pipeline's own uncompressed resize, so
the score measures what the encoder lost, not differences between the two
resamplers. Prints a Markdown table. Needs pyvips.
"""

import argparse
import os
import subprocess
import tempfile

PHOTOS = ["photo-13mp.jpg", "photo-20mp.jpg", "photo-2mp.jpg", "photo-small.jpg"]


def ssim(a, b):
    """Mean SSIM of two same-sized 8-bit images, on luma."""
    import pyvips

    def luma(image):
        if image.bands >= 3:
            image = image.colourspace("b-w")
        return image.extract_band(0).cast("double")

    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda image: image.gaussblur(1.5, precision="float")
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (mx * my * 2 + c1) * (sxy * 2 + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return (num / den).avg()


def engine(binary, path, options, out):
    subprocess.run(
        [binary, path, options, "--iterations", "1", "--warmup", "0", "--save", out],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(out, "rb") as f:
        return f.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--quality", type=int, default=80)
    args = parser.parse_args()

    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    q, w = args.quality, args.width
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            path = os.path.join(args.corpus, name)
            if not os.path.exists(path):
                continue
            out = os.path.join(tmp, "out")
            common = f"width={w},quality={q},metadata=none"
            ours_ref = pyvips.Image.new_from_buffer(
                engine(args.engine, path, f"width={w},format=png", out), ""
            )
            vips_ref = pyvips.Image.thumbnail(path, w).copy_memory()
            candidates = [
                ("module, baseline (`compression=fast`)", ours_ref,
                 engine(args.engine, path, f"{common},format=baseline-jpeg", out)),
                ("module, progressive (default)", ours_ref,
                 engine(args.engine, path, f"{common},format=jpeg", out)),
                ("libvips, baseline", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True)),
                ("libvips, optimize_coding", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True, optimize_coding=True)),
                ("libvips, interlace", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True, interlace=True)),
            ]
            for label, reference, data in candidates:
                decoded = pyvips.Image.new_from_buffer(data, "")
                rows.append((name, label, len(data), ssim(reference, decoded)))

    print(f"| photo → {w} px, q{q} | encoder | bytes | SSIM (luma) |")
    print("|---|---|---|---|")
    for name, label, size, score in rows:
        print(f"| {name} | {label} | {size:,} | {score:.4f} |")


if __name__ == "__main__":
    main()
