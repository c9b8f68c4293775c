#!/usr/bin/env python3
"""What colour management costs: the same 13 MP photo with and without an
embedded ICC profile, through the engine at the shrink-on-load scale.

    colour_cost.py --engine BENCH_ENGINE --corpus DIR [--width 400] [--iterations 15]

The photo is `photo-13mp.jpg` (untagged). Two tagged copies are made by
splicing an APP2 ICC segment into the same JPEG bytes, so the pixels and
the decoder's work are identical:
- Adobe RGB (the profile of `photo-small.jpg`): converted to sRGB after
  the DCT-scaled decode, before resampling;
- sRGB (libvips' built-in profile): recognised as sRGB and left alone.
Prints a Markdown table of median CPU ms per transform and the ratio to
the untagged photo. Needs pyvips (only to read and make the profiles).
"""

import argparse
import os
import re
import subprocess
import tempfile


def with_icc(jpeg, profile):
    """`jpeg` with `profile` as a single APP2 ICC_PROFILE segment after SOI."""
    assert jpeg[:2] == b"\xff\xd8"
    payload = b"ICC_PROFILE\0\x01\x01" + profile
    assert len(payload) + 2 < 65536, "profile too large for one segment"
    segment = b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


def cpu_ms(engine, path, options, iterations):
    out = subprocess.run(
        [engine, path, options, "--iterations", str(iterations), "--warmup", "2"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"cpu_ms_median=([0-9.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()

    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    import pyvips

    photo = os.path.join(args.corpus, "photo-13mp.jpg")
    tagged = os.path.join(args.corpus, "photo-small.jpg")
    if not (os.path.exists(photo) and os.path.exists(tagged)):
        print("colour_cost: corpus photos missing; skipped")
        return
    with open(photo, "rb") as f:
        jpeg = f.read()
    adobe = bytes(pyvips.Image.new_from_file(tagged).get("icc-profile-data"))
    srgb_image = pyvips.Image.black(8, 8, bands=3).icc_transform("srgb", input_profile="srgb")
    srgb = bytes(srgb_image.get("icc-profile-data"))

    options = f"width={args.width}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("untagged", jpeg), ("Adobe RGB profile", with_icc(jpeg, adobe)),
                 ("sRGB profile", with_icc(jpeg, srgb))]
        base = None
        for label, data in cases:
            path = os.path.join(tmp, "photo.jpg")
            with open(path, "wb") as f:
                f.write(data)
            ms = cpu_ms(args.engine, path, options, args.iterations)
            base = base or ms
            rows.append((label, ms, ms / base))

    print(f"| 13 MP JPEG → {options} | CPU ms (median of {args.iterations}) | vs untagged |")
    print("|---|---|---|")
    for label, ms, ratio in rows:
        print(f"| {label} | {ms:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
