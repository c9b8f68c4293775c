#!/usr/bin/env python3
"""Writes the animation benchmark's input: a 20-frame 500x500 GIF of a
real photograph panned across (so frames differ like video), 80 ms per
frame, looping forever.

    anim_input.py PHOTO OUT.gif [FRAMES SIDE STEP]

(The demo's animated.gif is `anim_input.py photo-small.jpg animated.gif 12 200 16`.)
"""

import sys

import pyvips

FRAMES, SIDE, STEP = 20, 500, 24


def main():
    global FRAMES, SIDE, STEP
    photo, out = sys.argv[1], sys.argv[2]
    if len(sys.argv) == 6:
        FRAMES, SIDE, STEP = (int(arg) for arg in sys.argv[3:6])
    image = pyvips.Image.thumbnail(photo, SIDE + FRAMES * STEP, height=SIDE, crop="centre")
    if image.bands == 1:
        image = image.colourspace("srgb")
    frames = [image.crop(i * STEP, 0, SIDE, SIDE) for i in range(FRAMES)]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", SIDE)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * FRAMES)
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    strip.gifsave(out)


if __name__ == "__main__":
    sys.exit(main())
