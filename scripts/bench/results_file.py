#!/usr/bin/env python3
"""Writes benchmark sections into bench/results.md without losing the
others.

bench/results.md holds sections that scripts/bench.sh makes and sections
recorded by hand (before/after comparisons of one change, each with the
commands that made it). A run replaces only what it measured: its
preamble (the text before the first `## ` heading) and each `## ` section
it produced, in place, by title; a new title is appended; every other
section, and a section this run skipped (NO_NGINX=1, no pyvips), keeps
its text. A `### ` heading belongs to the `## ` section above it.

    results_file.py FILE < TEXT       # merge TEXT's sections into FILE

or, from Python, `merge(path, text)`.
"""

import os
import sys


def split(text):
    """(preamble, [(title, body)]), body including its heading line."""
    preamble, sections = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            sections.append([line[3:].strip(), [line]])
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return "".join(preamble), [(title, "".join(body)) for title, body in sections]


def tidy(block):
    """One blank line after each block, none doubled."""
    return block.rstrip("\n") + "\n\n"


def merge_text(old, new):
    old_preamble, old_sections = split(old)
    new_preamble, new_sections = split(new)
    preamble = new_preamble if new_preamble.strip() else old_preamble
    fresh = dict(new_sections)
    merged = [(title, fresh.pop(title, body)) for title, body in old_sections]
    merged += [(title, body) for title, body in new_sections if title in fresh]
    out = tidy(preamble) if preamble.strip() else ""
    out += "".join(tidy(body) for _, body in merged)
    return out.rstrip("\n") + "\n"


def merge(path, text):
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(merge_text(old, text))


def main():
    if len(sys.argv) != 2:
        print("usage: results_file.py FILE < TEXT", file=sys.stderr)
        return 2
    merge(sys.argv[1], sys.stdin.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
