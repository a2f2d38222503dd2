"""execproto's benchmarks: every figure of the DESIGN performance table, against its anchor.

Run with ``make bench`` (``python -m benchmarks``; ``--quick`` for smaller sizes, ``--only
NAME`` for one group, ``--list`` for the groups). Each row times execproto and the code a
user would otherwise use in interleaved rounds of the same process, and reports medians,
min-max and the per-round ratio to the anchor. See ``BENCHMARKS.md`` for the latest figures.
"""

from __future__ import annotations

from benchmarks._cli import GROUPS, main, run
from benchmarks._profiles import PROFILES, Profile

__all__ = ["GROUPS", "PROFILES", "Profile", "main", "run"]
