"""``execproto check module:Name``: which protocols an object or class conforms to, and why not.

Runtime verdicts come from :func:`execproto.conformance.check`: every problem, and every
warning under its verdict (a keyword that ``**params`` could collide with, what cannot be
verified). ``--strict`` makes warnings problems. An object the check cannot introspect (a C
callable without a signature, a ``__getattr__`` proxy) is "cannot verify", with the reason.
With ``--static``, mypy and pyright run on a generated file that assigns the target to each
protocol (:mod:`execproto._cli._static`) and their verdicts are shown beside the runtime one,
with their whole messages; they come with the extra ``typecheck``.

Output: on a terminal, the verdicts are a table drawn by ``rich`` when it is installed (extra
``cli``); into a pipe or file, the same table as plain text; ``--json`` for machines.

Exit codes: 0 when the target conforms to every ``--protocol`` given (or, without
``--protocol``, to at least one execproto protocol); 1 otherwise (with ``--strict``, also
when a warning remains); 2 for bad input (a target that cannot be imported, an unknown
protocol name, ``--static`` without the checkers).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import typing_extensions

from execproto import protocols, typed
from execproto._cli import _static
from execproto.conformance import ConformanceReport, Problem, ProblemKind, check

__all__ = ["add_arguments", "run"]


class _BadInput(Exception):
    """A target or protocol the user named cannot be used; the message says why."""


@dataclass
class _Result:
    protocol_name: str
    report: ConformanceReport
    static: dict[str, _static.StaticVerdict] = field(
        default_factory=dict[str, _static.StaticVerdict]
    )

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["protocol"] = self.protocol_name
        data["verdict"] = _verdict(self.report)
        if self.static:
            data["static"] = {
                checker: {"accepted": verdict.accepted, "detail": verdict.detail}
                for checker, verdict in self.static.items()
            }
        return data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` subcommand's arguments to *parser*."""
    parser.add_argument(
        "target",
        metavar="module:Name",
        help="the class or object to check, e.g. examples.third_party:EchoExecutor",
    )
    parser.add_argument(
        "--protocol",
        "-p",
        action="append",
        default=None,
        metavar="P",
        help="an execproto protocol name (repeatable) or module:Name of your own protocol; "
        "default: every execproto protocol",
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="also run mypy and pyright on a generated assignment and show their verdicts "
        f"(they come with: {_static.INSTALL_HINT})",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="make warnings problems: a keyword that **params could collide with, and "
        "whatever cannot be verified, fail the check",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``execproto check`` with parsed *args*; return the exit code (0, 1 or 2)."""
    try:
        target_module, target_path, target = _import_target(args.target)
        chosen = _protocols(args.protocol)
    except _BadInput as error:
        print(f"execproto check: error: {error}", file=sys.stderr)
        return 2
    if args.static:
        missing = _static.missing_checkers()
        if missing:
            print(
                f"execproto check: error: --static runs mypy and pyright, and "
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
                f"for {sys.executable}; install both with: {_static.INSTALL_HINT}",
                file=sys.stderr,
            )
            return 2
    results = [
        _Result(name, _checked(target, protocol, args.strict)) for name, protocol in chosen.items()
    ]
    if args.static:
        is_class = isinstance(target, type)
        by_checker = _static.static_verdicts(target_module, target_path, is_class, chosen)
        for result in results:
            for checker, by_protocol in by_checker.items():
                result.static[checker] = by_protocol[result.protocol_name]
    explicit = args.protocol is not None
    if args.json:
        payload = {
            "target": args.target,
            "strict": args.strict,
            "results": [result.to_dict() for result in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        _render(args.target, results, explicit, sys.stdout)
    verdicts = [result.report.ok for result in results]
    passed = all(verdicts) if explicit else any(verdicts)
    return 0 if passed else 1


def _checked(target: object, protocol: object, strict: bool) -> ConformanceReport:
    """``check()``, and a "cannot verify" report when introspecting the target itself fails."""
    try:
        return check(target, protocol, strict=strict)
    except Exception as error:
        # check() reads attributes of the target's class (its MRO, annotations); an object
        # whose class defeats that is reported, never a traceback.
        finding = Problem(
            "-",
            ProblemKind.UNVERIFIED,
            "an object whose class can be read",
            f"cannot verify: reading {type(target).__qualname__} failed with "
            f"{type(error).__name__}: {error}",
            "check a class or object of plain Python classes",
        )
        name = getattr(protocol, "__qualname__", repr(protocol))
        subject = f"{type(target).__module__}.{type(target).__qualname__} instance"
        if strict:
            return ConformanceReport(subject, name, (finding,))
        return ConformanceReport(subject, name, (), (finding,))


def _import_target(spec: str) -> tuple[str, str, object]:
    module_name, _, attribute_path = spec.partition(":")
    if not module_name or not attribute_path:
        raise _BadInput(
            f"expected module:Name (e.g. examples.third_party:EchoExecutor), got {spec!r}"
        )
    if "" not in sys.path and os.getcwd() not in sys.path:
        # Like `python -m`: a module in the current directory is importable.
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise _BadInput(
            f"cannot import module {module_name!r}: {type(error).__name__}: {error}; check the "
            f"name and that it is importable from here (PYTHONPATH)"
        ) from None
    value: object = module
    found: list[str] = []
    for part in attribute_path.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise _BadInput(_no_attribute(module_name, found, value, part)) from None
        found.append(part)
    return module_name, attribute_path, value


def _no_attribute(module_name: str, found: list[str], owner: object, part: str) -> str:
    """Say which name is missing where, and what the user may have meant instead."""
    if found:
        where = f"{module_name}:{'.'.join(found)} (a {type(owner).__name__})"
    else:
        where = f"module {module_name!r}"
    candidates = [name for name in dir(owner) if not name.startswith("_")]
    close = difflib.get_close_matches(part, candidates, n=3)
    fix = f"did you mean {' or '.join(map(repr, close))}?" if close else "check the name"
    return (
        f"expected a class or object named {part!r} in {where}, but it has no attribute of "
        f"that name; {fix} (the part after ':' is looked up attribute by attribute)"
    )


def _known_protocols() -> dict[str, type]:
    known: dict[str, type] = {}
    for module in (protocols, typed):
        for name in module.__all__:
            known[name] = getattr(module, name)
    return known


def _protocols(names: Sequence[str] | None) -> dict[str, object]:
    known = _known_protocols()
    if names is None:
        return dict(known)
    chosen: dict[str, object] = {}
    for name in names:
        if ":" in name:
            _, _, value = _import_target(name)
            if not (isinstance(value, type) and typing_extensions.is_protocol(value)):
                raise _BadInput(
                    f"{name!r} is {value!r} of type {type(value).__name__}, not a Protocol "
                    f"class; name a class that subclasses typing.Protocol"
                )
            chosen[name] = value
            continue
        if name not in known:
            raise _BadInput(
                f"unknown protocol {name!r}; expected one of {', '.join(sorted(known))}, "
                f"or module:Name of your own protocol"
            )
        chosen[name] = known[name]
    return chosen


def _verdict(report: ConformanceReport) -> str:
    """The verdict cell: conforms, does not conform, or cannot verify (with the count)."""
    findings = [*report.problems, *report.warnings]
    unverified = [f for f in findings if f.kind is ProblemKind.UNVERIFIED]
    if report.problems and len(unverified) < len(report.problems):
        return "does not conform"
    if unverified:
        return "cannot verify"
    if report.warnings:
        count = len(report.warnings)
        return f"conforms, {count} warning{'s' if count != 1 else ''}"
    return "conforms"


def _static_text(verdict: _static.StaticVerdict) -> str:
    if verdict.accepted is True:
        return "accepts"
    if verdict.accepted is False:
        return "rejects"
    return "inconclusive"


def _shown(results: list[_Result], explicit: bool) -> tuple[list[_Result], int]:
    """The results whose findings are listed, and how many were left out as unrelated.

    Without ``--protocol``, a protocol of which the target has no member at all is unrelated
    (an executor is not a cache); listing its "missing" lines would bury the real problems.
    """
    if explicit:
        return results, 0
    shown = [
        result
        for result in results
        if result.report.ok
        or not all(problem.kind is ProblemKind.MISSING for problem in result.report.problems)
    ]
    return shown, sum(1 for result in results if result not in shown)


def _render(target: str, results: list[_Result], explicit: bool, stream: TextIO) -> None:
    static = bool(results and results[0].static)
    header = ["protocol", "runtime"] + (["mypy", "pyright"] if static else [])
    rows = [
        [result.protocol_name, _verdict(result.report)]
        + ([_static_text(result.static[c]) for c in ("mypy", "pyright")] if static else [])
        for result in results
    ]
    print(f"execproto check {target}", file=stream)
    print("", file=stream)
    if not _rich_table(header, rows, stream):
        print(_plain_table(header, rows), file=stream)
    shown, unrelated = _shown(results, explicit)
    for result in shown:
        lines = _details(result)
        if lines:
            print("", file=stream)
            print("\n".join(lines), file=stream)
    if unrelated:
        print("", file=stream)
        print(
            f"{unrelated} protocol(s) with none of their members on {target} not listed; "
            f"name one with --protocol to see its problems.",
            file=stream,
        )


def _details(result: _Result) -> list[str]:
    """The lines listed under a verdict: its findings, then the checkers' whole messages."""
    report = result.report
    findings = [(p, "") for p in report.problems] + [(w, " (warning)") for w in report.warnings]
    lines: list[str] = []
    for finding, suffix in findings:
        lines.append(f"  {result.protocol_name}.{finding.member} [{finding.kind.value}]{suffix}")
        lines.append(f"    expected: {finding.expected}")
        lines.append(f"    found:    {finding.found}")
        lines.append(f"    fix:      {finding.fix}")
    for checker, verdict in result.static.items():
        if verdict.accepted is True:
            continue
        # An inconclusive verdict's detail says so itself.
        lines.append(f"  {checker}:" if verdict.accepted is None else f"  {checker} rejects:")
        lines.extend(f"    {line}" for line in verdict.detail.splitlines())
    if lines:
        lines.insert(0, f"{result.protocol_name}: {_verdict(report)}")
    return lines


def _rich_table(header: list[str], rows: list[list[str]], stream: TextIO) -> bool:
    """Print the verdict table with rich on a terminal; False when not (a pipe, no rich)."""
    if not stream.isatty():
        return False
    try:
        from rich import box
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return False
    # The same style as `execproto run`'s step table. No markup: cells quote user code, where
    # '[str, Any]' would be read as a style tag and vanish.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in header:
        table.add_column(column, overflow="fold")
    for row in rows:
        style = "red" if row[1] == "does not conform" else "green" if "conforms" in row[1] else ""
        table.add_row(*row, style=style or None)
    Console(file=stream, soft_wrap=False, highlight=False, markup=False).print(table)
    return True


def _plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(line.rstrip() for line in lines)
