#!/usr/bin/env python3
"""Checks results_file.py's merge: `python3 scripts/bench/test_results_file.py`."""

import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_file import merge, merge_text  # noqa: E402

OLD = """# Benchmark results

- date: old

## In process

old table

## Recorded by hand

kept
### its subsection
kept too

## nginx

old nginx table
"""

NEW = """# Benchmark results

- date: new

## In process

new table

## Colour management cost

new colour table
"""


class Merge(unittest.TestCase):
    def test_replaces_only_the_sections_it_brings(self):
        merged = merge_text(OLD, NEW)
        self.assertIn("date: new", merged)
        self.assertNotIn("date: old", merged)
        self.assertIn("new table", merged)
        self.assertNotIn("old table", merged)
        # Other sections and their subsections stay, in place.
        self.assertIn("kept\n### its subsection\nkept too", merged)
        self.assertIn("old nginx table", merged)  # skipped this run
        # A new section goes to the end.
        self.assertLess(merged.index("## nginx"), merged.index("## Colour management cost"))
        self.assertLess(merged.index("## In process"), merged.index("## Recorded by hand"))

    def test_merging_twice_changes_nothing(self):
        once = merge_text(OLD, NEW)
        self.assertEqual(merge_text(once, NEW), once)

    def test_a_section_alone_keeps_the_preamble(self):
        merged = merge_text(OLD, "## nginx\n\nnew nginx table\n")
        self.assertIn("date: old", merged)
        self.assertIn("new nginx table", merged)
        self.assertNotIn("old nginx table", merged)

    def test_a_missing_file_is_created(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench", "results.md")
            merge(path, NEW)
            with open(path) as f:
                self.assertEqual(f.read(), merge_text("", NEW))


if __name__ == "__main__":
    unittest.main()
