"""``python -m benchmarks``: run the rows, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import _rows, _scaling
from benchmarks._harness import RowResult
from benchmarks._monitoring import row_metrics_memory, row_monitoring
from benchmarks._peers import row_peers_call, row_peers_call_sync, row_peers_parallel
from benchmarks._profiles import PROFILES, Profile
from benchmarks._report import (
    format_markdown,
    format_table,
    machine,
    to_json,
    write_json,
    write_pyperf,
)
from benchmarks._scaleout import row_dask, row_redis_cache_hit

__all__ = ["GROUPS", "main", "parser", "run", "select"]

RowGroup = Callable[[Profile], list[RowResult]]

#: Every group of rows, in the order they run and print. A name given to ``--only`` selects
#: the group of that exact name, or else every group whose name contains it.
GROUPS: dict[str, RowGroup] = {
    "conforms-conforming": _rows.row_conforms_conforming,
    "conforms-non-conforming": _rows.row_conforms_non_conforming,
    "dispatch": _rows.row_dispatch,
    "cache-key": _rows.row_cache_key,
    "cache-hit": _rows.row_cache_hit,
    "cache-hit-str": _rows.row_cache_hit_immutable,
    "parallel": _rows.row_parallel,
    "sync-off-loop": _rows.row_sync_off_loop,
    "sync-off-loop-burst": _rows.row_sync_off_loop_burst,
    "monitoring": row_monitoring,
    "monitoring-memory": row_metrics_memory,
    "dask-engine": row_dask,
    "redis-cache-hit": row_redis_cache_hit,
    "scale-parallel": _scaling.scale_parallel,
    "scale-sequence": _scaling.scale_sequence,
    "scale-cache": _scaling.scale_cache_entries,
    "scale-threads": _scaling.scale_threads,
    # Last: the frameworks they import stay in the heap that every later collection scans.
    "peers-call": row_peers_call,
    "peers-call-sync": row_peers_call_sync,
    "peers-parallel": row_peers_parallel,
}

_DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"


def select(names: Sequence[str]) -> list[str]:
    """Return the groups chosen by ``--only`` names (all groups when *names* is empty).

    Raises:
        ValueError: a name matches no group.
    """
    if not names:
        return list(GROUPS)
    chosen: list[str] = []
    for name in names:
        matches = [name] if name in GROUPS else [g for g in GROUPS if name in g]
        if not matches:
            raise ValueError(
                f"--only {name!r} matches no benchmark; expected one of {', '.join(GROUPS)} "
                "(or a part of one)"
            )
        chosen += [m for m in matches if m not in chosen]
    return [g for g in GROUPS if g in chosen]


def _failed_group(name: str, err: BaseException) -> RowResult:
    row = RowResult(name=name, title=name, anchor="-", target=None)
    row.unavailable["benchmark"] = f"failed: {type(err).__name__}: {err}"
    return row


def run(
    profile: Profile, groups: Sequence[str], *, echo: Callable[[str], None] | None = None
) -> tuple[list[RowResult], bool]:
    """Run the chosen groups; return their rows and whether every group ran to the end.

    A group that raises is reported as a failed row (and its traceback echoed); the others
    still run.
    """
    rows: list[RowResult] = []
    ok = True
    section = ""
    for name in groups:
        start = time.monotonic()
        try:
            group_rows = GROUPS[name](profile)
        except Exception as err:
            ok = False
            if echo is not None:
                echo("".join(traceback.format_exception(err)))
            group_rows = [_failed_group(name, err)]
        rows += group_rows
        if echo is not None:
            echo(
                format_table(group_rows, section)
                + f"\n  [{name}: {time.monotonic() - start:.1f} s]"
            )
        section = group_rows[-1].section
    return rows, ok


def _summary(rows: Sequence[RowResult]) -> str:
    judged = [r for r in rows if r.target is not None]
    if not judged:
        return ""
    lines = ["", "== Targets =="]
    for row in judged:
        subjects = [m for m in row.measurements if m.kind == "subject"]
        worst = max((m.ratio for m in subjects), default=None)
        figure = f"{worst:.2f}x" if worst is not None else "-"
        lines.append(
            f"  {row.verdict:<14} {row.title:<52} worst {figure:>7} (target <= {row.target:g}x)"
        )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser of ``python -m benchmarks``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="execproto against its anchors, interleaved in one process: medians, min-max, ratios.",
    )
    parser.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="profile",
        help="smaller sizes, fewer rounds",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="sizes and rounds (default: full)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this group (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument(
        "--json",
        type=Path,
        default=_DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="write the results JSON at PATH as the Markdown tables of BENCHMARKS.md, and exit",
    )
    parser.add_argument(
        "--pyperf",
        type=Path,
        metavar="PATH",
        help="also write a pyperf suite (for pyperf compare_to)",
    )
    # Set here, not on --profile: --quick shares the destination, and argparse would keep
    # --quick's default (None) instead.
    parser.set_defaults(profile="full")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks from the command line; return the exit status."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.list:
        print("\n".join(GROUPS))
        return 0
    if args.markdown is not None:
        print(format_markdown(json.loads(args.markdown.read_text(encoding="utf-8"))), end="")
        return 0
    try:
        groups = select(args.only)
    except ValueError as err:
        cli.error(str(err))
    profile = PROFILES[args.profile]
    info = machine()
    print(
        f"execproto benchmarks, profile {profile.name}: {info['python']}, {info['cpu_model']}, "
        f"{info['usable_cpus']}/{info['cpu_count']} CPUs, load {info['load_average']}",
        flush=True,
    )

    def echo(text: str) -> None:
        print(text, flush=True)

    rows, ok = run(profile, groups, echo=echo)
    print(_summary(rows))
    write_json(to_json(rows, profile.name), args.json)
    print(f"\nresults written to {args.json}")
    if args.pyperf is not None:
        write_pyperf(rows, args.pyperf)
        print(f"pyperf suite written to {args.pyperf}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
