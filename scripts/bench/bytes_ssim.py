#!/usr/bin/env python3
"""Bytes and SSIM: the engine against libvips, same photos, same quality,
for JPEG, WebP and AVIF.

    bytes_ssim.py --engine BENCH_ENGINE --corpus DIR [--width 400] [--quality 80]

For each photo, both pipelines resize to WIDTH and encode at QUALITY. Each
JPEG is compared (SSIM on luma, Gaussian window sigma 1.5, computed with
libvips operations) against the same pipeline's own uncompressed resize, so
the score measures what the encoder lost, not differences between the two
resamplers. WebP is libwebp in both; AVIF is rav1e (speed 9) in the
engine and libheif's AV1 encoder in libvips, at the same nominal quality
(the two scales are not calibrated to each other: compare bytes and SSIM
together). Prints a Markdown table. Needs pyvips.

A second table compares the JPEG encoders at equal SSIM: the module's
default JPEG (jpegli) against libvips' default JPEG
(baseline) and its interlaced one (libjpeg-turbo's smallest output:
progressive, optimised Huffman tables), whose bytes at the module's SSIM
are interpolated between the two libvips qualities that bracket it.
libvips encodes the module's own resize here, the same pixels, because
the two pipelines' pixels differ in ways that move bytes at equal SSIM
more than the encoder does: libvips' thumbnail is sharper on the large
photos (more detail to pay for: the module looked 8-13 % smaller there)
and softer on photo-small.jpg (640 px → 400, no shrink-on-load; the
module looked 10 % larger), and libvips leaves an Adobe RGB photo's
pixels unconverted where the module converts them to sRGB. Scored
against each pipeline's own resize, a softer resize wins bytes without
the encoder doing anything. The default encoder and `compression=fast`
(libjpeg-turbo, baseline) each get a row.

A third table shows what luma SSIM does not see, so an encoder cannot win
it by spending less where it does not look: SSIM on Cb and Cr against
libvips' baseline JPEG's at the same luma SSIM, and SSIMULACRA2 (a
perceptual score in the XYB colour space, chroma and blocking included;
`pip install ssimulacra2`, its columns are left empty without it) with
libvips' baseline bytes at an equal score.
"""

import argparse
import os
import subprocess
import sys
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


def chroma_ssim(a, b):
    """Mean of the SSIM on Cb and on Cr (JPEG's YCbCr, full resolution):
    what luma SSIM does not see, chroma subsampling and quantisation."""
    def planes(image):
        image = image.extract_band(0, n=3).cast("double")
        r, g, b = image[0], image[1], image[2]
        return (r * -0.168736 + g * -0.331264 + b * 0.5 + 128,
                r * 0.5 + g * -0.418688 + b * -0.081312 + 128)

    return sum(ssim(x, y) for x, y in zip(planes(a), planes(b))) / 2


def ssimulacra2(a, b):
    """SSIMULACRA2 (0..100, higher is closer) of `b` against `a`: a
    perceptual score in the XYB colour space, chroma and blocking included,
    so it sees what luma SSIM does not. Needs `pip install ssimulacra2`."""
    import io

    from ssimulacra2 import compute_ssimulacra2

    def png(image):
        return io.BytesIO(image.extract_band(0, n=3).pngsave_buffer(compression=1))

    return compute_ssimulacra2(png(a), png(b))


def vips_bytes_at(reference, target, score=None, metric=ssim, **save):
    """libvips' JPEG bytes at `target` of `metric` (luma SSIM unless told):
    linear between the qualities whose metric brackets it (None when no
    quality in 30..100 reaches it). With `score` (a function of the
    reference and the decoded JPEG), that score of libvips' JPEG at the
    same point instead of its bytes."""
    import pyvips

    def point(q):
        data = reference.jpegsave_buffer(Q=q, strip=True, **save)
        decoded = pyvips.Image.new_from_buffer(data, "")
        size = score(reference, decoded) if score else len(data)
        return size, metric(reference, decoded)

    lo, hi = 30, 100
    if point(hi)[1] < target:
        return None
    while hi - lo > 1:  # the metric grows with quality
        mid = (lo + hi) // 2
        if point(mid)[1] >= target:
            hi = mid
        else:
            lo = mid
    (b0, s0), (b1, s1) = point(lo), point(hi)
    if s1 <= s0:
        return float(b1)
    t = min(max((target - s0) / (s1 - s0), 0.0), 1.0)
    return b0 + t * (b1 - b0)


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
    equal = []
    unseen = []
    try:
        import ssimulacra2 as _  # noqa: F401

        def perceptual(reference, decoded, size):
            score = ssimulacra2(reference, decoded)
            return score, vips_bytes_at(reference, score, metric=ssimulacra2), size
    except ImportError:
        print("bytes_ssim: no ssimulacra2 module (pip install ssimulacra2): "
              "its columns are left empty", file=sys.stderr)

        def perceptual(reference, decoded, size):
            return None, None, size
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
                ("module, progressive (`format=jpeg`, default)", ours_ref,
                 engine(args.engine, path, f"{common},format=jpeg", out)),
                ("module, baseline (`format=baseline-jpeg`)", ours_ref,
                 engine(args.engine, path, f"{common},format=baseline-jpeg", out)),
                ("module, libjpeg-turbo baseline (`compression=fast`)", ours_ref,
                 engine(args.engine, path, f"{common},format=jpeg,compression=fast", out)),
                ("libvips, baseline", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True)),
                ("libvips, optimize_coding", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True, optimize_coding=True)),
                ("libvips, interlace", vips_ref,
                 vips_ref.jpegsave_buffer(Q=q, strip=True, interlace=True)),
                ("module, WebP", ours_ref,
                 engine(args.engine, path, f"{common},format=webp", out)),
                ("libvips, WebP", vips_ref,
                 vips_ref.webpsave_buffer(Q=q, strip=True)),
                ("module, AVIF", ours_ref,
                 engine(args.engine, path, f"{common},format=avif", out)),
            ]
            try:
                candidates.append(("libvips, AVIF (libheif)", vips_ref,
                                   vips_ref.heifsave_buffer(Q=q, compression="av1", strip=True)))
            except pyvips.Error:
                pass  # libvips without an AV1 encoder
            for label, reference, data in candidates:
                decoded = pyvips.Image.new_from_buffer(data, "")
                rows.append((name, label, len(data), ssim(reference, decoded)))
            # libvips encodes the module's pixels: an encoder comparison.
            for label, (_, _, ours) in (("default", candidates[0]),
                                        ("`compression=fast`", candidates[2])):
                decoded = pyvips.Image.new_from_buffer(ours, "")
                score = ssim(ours_ref, decoded)
                equal.append((name, label, len(ours), score,
                              vips_bytes_at(ours_ref, score),
                              vips_bytes_at(ours_ref, score, interlace=True)))
                unseen.append((name, label, chroma_ssim(ours_ref, decoded),
                               vips_bytes_at(ours_ref, score, score=chroma_ssim),
                               *perceptual(ours_ref, decoded, len(ours))))

    print(f"| photo → {w} px, q{q} | encoder | bytes | SSIM (luma) |")
    print("|---|---|---|---|")
    for name, label, size, score in rows:
        print(f"| {name} | {label} | {size:,} | {score:.4f} |")

    print()
    print(f"| photo → {w} px (the module's resize, encoded by both) | module JPEG | q{q}: "
          "bytes | SSIM | libvips baseline at that SSIM: bytes | module vs it | "
          "libvips interlaced at that SSIM: bytes | module vs it |")
    print("|---|---|---|---|---|---|---|---|")
    savings = {"baseline": [], "interlaced": []}

    def cell(kind, size, theirs, count):
        if theirs is None:
            return "(not reached at Q100) | |"
        if count:
            savings[kind].append(1 - size / theirs)
        return f"{theirs:,.0f} | {size / theirs - 1:+.1%} |"

    for name, label, size, score, baseline, interlaced in equal:
        count = label == "default"
        print(f"| {name} | {label} | {size:,} | {score:.4f} | "
              f"{cell('baseline', size, baseline, count)} "
              f"{cell('interlaced', size, interlaced, count)}")
    for kind, values in savings.items():
        if values:
            print(f"\nMean over the photos (default encoder): {sum(values) / len(values):.1%} "
                  f"fewer bytes than libvips' {kind} JPEG at equal SSIM.")

    # What luma SSIM does not see: chroma (SSIM on Cb and Cr, against
    # libvips' baseline JPEG at the same luma SSIM) and SSIMULACRA2, a
    # perceptual score with colour and blocking in it, bytes at an equal one.
    print()
    print(f"| photo → {w} px | module JPEG | chroma SSIM (Cb, Cr) | libvips baseline's at "
          "equal luma SSIM | SSIMULACRA2 | libvips baseline at that SSIMULACRA2: bytes | "
          "module vs it |")
    print("|---|---|---|---|---|---|---|")
    for name, label, chroma, theirs, score, at_score, size in unseen:
        theirs = f"{theirs:.4f}" if theirs is not None else "—"
        if score is None:
            tail = "— | — | — |"
        elif at_score is None:
            tail = f"{score:.2f} | (not reached at Q100) | |"
        else:
            tail = f"{score:.2f} | {at_score:,.0f} | {size / at_score - 1:+.1%} |"
        print(f"| {name} | {label} | {chroma:.4f} | {theirs} | {tail}")


if __name__ == "__main__":
    main()
