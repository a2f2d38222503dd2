"""The table printed by ``make bench``, the JSON it writes, and the machine it ran on."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._harness import RowResult

__all__ = [
    "format_markdown",
    "format_ns",
    "format_table",
    "machine",
    "python_version",
    "to_json",
    "write_json",
    "write_pyperf",
]

_KIND_LABEL = {"anchor": "anchor: ", "reference": "ref: ", "subject": ""}
_SECTION_TITLE = {
    "design": "DESIGN performance table",
    "monitoring": "Monitoring",
    "peers": "Peers: the same tool through each agent framework",
    "scale-out": "Scale-out",
    "scaling": "Scaling",
}


def format_ns(ns: float) -> str:
    """Return a duration in ns with a readable unit (``812 ns``, ``4.21 us``, ``3.05 ms``)."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def _memory_cell(peak: int | None, snapshot: int | None) -> str:
    """The peak memory, followed by the snapshot size where the row measures one."""
    if snapshot is None:
        return _format_bytes(peak)
    return f"{_format_bytes(peak)}; snapshot {_format_bytes(snapshot)}".lstrip("; ")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, Any]:
    """Describe the machine and interpreter (no paths: the result is committed in docs)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(affinity(0)) if affinity is not None else os.cpu_count(),
        "memory": _memory_total(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def format_table(rows: Sequence[RowResult], after_section: str = "") -> str:
    """Return the results as a plain-text table: one block per row, one line per subject.

    A section heading is printed whenever the section changes; *after_section* is the
    section of the block printed just before, so that printing group by group does not
    repeat headings.
    """
    header = f"  {'subject (per operation)':<56} {'median':>9} {'min - max':>21} {'ratio':>7} {'peak mem':>10}"
    lines: list[str] = []
    section = after_section
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"== {_SECTION_TITLE.get(section, section)} ==", header]
        target = f"target <= {row.target:g}x" if row.target is not None else "no target"
        lines.append(
            f"{row.title}  [{row.name}]  anchor: {row.anchor}; {target}; verdict: {row.verdict}"
        )
        for m in row.measurements:
            spread = f"{format_ns(min(m.ns_per_op))} - {format_ns(max(m.ns_per_op))}"
            verdict = ""
            if m.kind == "subject" and row.target is not None:
                verdict = "  met" if m.ratio <= row.target else "  MISSED"
            label = f"{_KIND_LABEL[m.kind]}{m.name}"
            lines.append(
                f"  {label:<56} {format_ns(m.median):>9} {spread:>21} {m.ratio:>6.2f}x"
                f" {_memory_cell(m.peak_bytes, m.snapshot_bytes):>10}{verdict}"
            )
        for name, reason in row.unavailable.items():
            lines.append(f"  {name}: not available ({reason})")
        if row.note:
            lines.append(f"  ({row.note})")
    return "\n".join(lines)


def to_json(rows: Sequence[RowResult], profile: str) -> dict[str, Any]:
    """Return the whole run as JSON data: machine, profile, date and every row."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "machine": machine(),
        "rows": [row.to_json() for row in rows],
    }


def write_pyperf(rows: Sequence[RowResult], path: Path) -> None:
    """Write every measurement as a pyperf benchmark suite (compare with ``pyperf compare_to``).

    Each benchmark is named ``<row>/<subject>`` and holds the per-operation times of the
    measured rounds, in seconds, as one pyperf run.
    """
    import pyperf  # type: ignore[import-untyped]  # only needed for this export

    benchmarks: list[pyperf.Benchmark] = []
    for row in rows:
        for m in row.measurements:
            metadata = {"name": f"{row.name}/{m.name}", "unit": "second"}
            run = pyperf.Run(
                [ns / 1e9 for ns in m.ns_per_op], metadata=metadata, collect_metadata=False
            )
            benchmarks.append(pyperf.Benchmark([run]))
    if path.exists():
        path.unlink()
    pyperf.BenchmarkSuite(benchmarks).dump(str(path))  # pyright: ignore[reportUnknownMemberType]


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write *data* to *path* as indented JSON."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def python_version() -> str:
    """Return the running interpreter's version, for headings."""
    return sys.version.split()[0]


def _md_ns(value: float) -> str:
    return format_ns(value).replace("us", "µs")


def format_markdown(data: dict[str, Any]) -> str:
    """Return a run's JSON data (see :func:`to_json`) as the Markdown tables of BENCHMARKS.md."""
    info = data["machine"]
    load = info["load_average"]
    load_text = " / ".join(f"{value:.1f}" for value in load) if load else "unknown"
    lines = [
        f"Run finished {data['date']}, profile `{data['profile']}`: {info['python']} on "
        f"{info['cpu_model']}, {info['usable_cpus']} usable of {info['cpu_count']} CPUs, "
        f"{info['memory']} RAM, {info['system']}; load average (1 / 5 / 15 min) when it "
        f"finished {load_text}.",
    ]
    section = ""
    for row in data["rows"]:
        if row["section"] != section:
            section = row["section"]
            lines += [
                "",
                f"### {_SECTION_TITLE.get(section, section)}",
                "",
                "| row | subject | median | min - max | ratio (min - max) | peak mem | target | verdict |",
                "|---|---|---:|---:|---:|---:|---|---|",
            ]
        target = f"<= {row['target']:g}x" if row["target"] is not None else ""
        for m in row["measurements"]:
            verdict = ""
            if m["kind"] == "subject" and row["target"] is not None:
                verdict = "met" if m["ratio"] <= row["target"] else "**missed**"
            name = m["name"] if m["kind"] != "anchor" else f"*anchor:* {m['name']}"
            ratio = f"{m['ratio']:.2f}x ({m['ratio_min']:.2f} - {m['ratio_max']:.2f})"
            spread = f"{_md_ns(m['min_ns'])} - {_md_ns(m['max_ns'])}"
            lines.append(
                f"| {row['title']} | {name} | {_md_ns(m['median_ns'])} | {spread} | {ratio} "
                f"| {_memory_cell(m['peak_bytes'], m.get('snapshot_bytes'))} | {target} "
                f"| {verdict} |"
            )
        for name, reason in row["unavailable"].items():
            lines.append(
                f"| {row['title']} | {name} | not available: {reason} | | | | {target} | |"
            )
    return "\n".join(lines) + "\n"
