"""``execproto check module:Name``: which protocols an object or class conforms to, and why not.

Runtime verdicts come from :func:`execproto.conformance.check`. With ``--static``, mypy and
pyright are run (``--strict`` / strict mode) on a generated file that assigns the target to
each protocol, and their verdicts are shown beside the runtime one. Output is a rich table
when ``rich`` is installed (extra ``cli``), plain text otherwise, or JSON with ``--json``.

Exit codes: 0 when the target conforms to every ``--protocol`` given (or, without
``--protocol``, to at least one execproto protocol); 1 otherwise; 2 for bad input (a target
that cannot be imported, an unknown protocol name).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import typing_extensions

from execproto import protocols, typed
from execproto._cli import _checkers
from execproto.conformance import ConformanceReport, ProblemKind, check

__all__ = ["add_arguments", "run"]

_STATIC_TIMEOUT = 600.0


class _BadInput(Exception):
    """A target or protocol the user named cannot be used; the message says why."""


@dataclass
class _StaticVerdict:
    """One checker's verdict on one protocol: ``None`` accepted, else the reason."""

    accepted: bool | None
    detail: str


@dataclass
class _Result:
    protocol_name: str
    report: ConformanceReport
    static: dict[str, _StaticVerdict] = field(default_factory=dict[str, _StaticVerdict])

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["protocol"] = self.protocol_name
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
        help="also run mypy and pyright on a generated assignment and show their verdicts",
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
    results = [_Result(name, check(target, protocol)) for name, protocol in chosen.items()]
    if args.static:
        _run_static(target_module, target_path, isinstance(target, type), chosen, results)
    explicit = args.protocol is not None
    if args.json:
        payload = {"target": args.target, "results": [result.to_dict() for result in results]}
        print(json.dumps(payload, indent=2))
    else:
        _render(args.target, results, explicit, sys.stdout)
    verdicts = [result.report.ok for result in results]
    passed = all(verdicts) if explicit else any(verdicts)
    return 0 if passed else 1


# --------------------------------------------------------------------------------------------
# Input


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


# --------------------------------------------------------------------------------------------
# Static verdicts


def _search_roots(module_names: Sequence[str]) -> list[str]:
    """Directories from which *module_names* are importable, for MYPYPATH / extraPaths."""
    roots: list[str] = []
    for name in module_names:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        depth = name.count(".") + (2 if path.name == "__init__.py" else 1)
        root = path.parents[depth - 1]
        if "site-packages" in root.parts or "dist-packages" in root.parts:
            continue  # the checkers find installed packages themselves
        if str(root) not in roots:
            roots.append(str(root))
    return roots


def _type_expression(name: str, protocol: object) -> tuple[str, str]:
    """Return (import line, annotation) naming *protocol* in generated code."""
    origin = typing.get_origin(protocol) or protocol
    assert isinstance(origin, type)
    module, qualname = origin.__module__, origin.__qualname__
    alias = "_p_" + re.sub(r"\W", "_", name)
    annotation = alias
    parameters = getattr(origin, "__parameters__", ())
    if parameters:
        annotation += "[" + ", ".join("Any" for _ in parameters) + "]"
    return f"from {module} import {qualname} as {alias}", annotation


def _generate(
    target_module: str, target_path: str, is_class: bool, chosen: dict[str, object]
) -> tuple[str, dict[int, str]]:
    lines = [f"import {target_module} as _target_module"]
    annotations: dict[str, str] = {}
    for name, protocol in chosen.items():
        import_line, annotations[name] = _type_expression(name, protocol)
        lines.append(import_line)
    if any("[" in annotation for annotation in annotations.values()):
        # Only when used: pyright strict reports an unused import, which would make every
        # verdict inconclusive.
        lines.insert(0, "from typing import Any")
    lines.append("")
    line_of: dict[int, str] = {}
    reference = f"_target_module.{target_path}"
    for index, name in enumerate(chosen):
        if is_class:
            # Public names: pyright strict reports unused private functions and variables.
            lines.append(f"def check_{index}(value: {reference}) -> {annotations[name]}:")
            line_of[len(lines) + 1] = name
            lines.append("    return value")
        else:
            line_of[len(lines) + 1] = name
            lines.append(f"check_{index}: {annotations[name]} = {reference}")
    return "\n".join(lines) + "\n", line_of


def _run_static(
    target_module: str,
    target_path: str,
    is_class: bool,
    chosen: dict[str, object],
    results: list[_Result],
) -> None:
    source, line_of = _generate(target_module, target_path, is_class, chosen)
    roots = _search_roots([target_module, "execproto"])
    with tempfile.TemporaryDirectory(prefix="execproto-check-") as directory:
        path = Path(directory) / "execproto_static_check.py"
        path.write_text(source, encoding="utf-8")
        verdicts = {
            "mypy": _mypy(path, roots, line_of),
            "pyright": _pyright(path, roots, line_of),
        }
    for result in results:
        for checker, by_protocol in verdicts.items():
            result.static[checker] = by_protocol[result.protocol_name]


def _verdicts(
    errors: list[tuple[int, str]], line_of: dict[int, str], failure: str | None
) -> dict[str, _StaticVerdict]:
    verdicts: dict[str, _StaticVerdict] = {}
    unplaced = [message for line, message in errors if line not in line_of]
    for line, name in line_of.items():
        if failure is not None:
            verdicts[name] = _StaticVerdict(None, failure)
            continue
        messages = [message for at, message in errors if at == line]
        if messages:
            verdicts[name] = _StaticVerdict(False, messages[0])
        elif unplaced:
            # An error elsewhere (the import of the target, say) makes "accepted" unreliable.
            verdicts[name] = _StaticVerdict(None, f"inconclusive: {unplaced[0]}")
        else:
            verdicts[name] = _StaticVerdict(True, "accepted")
    return verdicts


def _mypy(path: Path, roots: list[str], line_of: dict[int, str]) -> dict[str, _StaticVerdict]:
    environment = {**os.environ, "MYPYPATH": os.pathsep.join(roots)}
    try:
        diagnostics = _checkers.run_mypy(
            [path], cwd=path.parent, env=environment, options=["--strict"], timeout=_STATIC_TIMEOUT
        )
    except _checkers.CheckerFailure as failure:
        return _verdicts([], line_of, str(failure))
    return _verdicts(_errors_in(path, diagnostics), line_of, None)


def _pyright(path: Path, roots: list[str], line_of: dict[int, str]) -> dict[str, _StaticVerdict]:
    executable = _checkers.find_pyright()
    if executable is None:
        return _verdicts(
            [],
            line_of,
            "not installed (run `make install`, put pyright on PATH or set $PYRIGHT)",
        )
    config = {
        "include": [path.name],
        "typeCheckingMode": "strict",
        "pythonVersion": f"{sys.version_info.major}.{sys.version_info.minor}",
        "extraPaths": roots,
    }
    try:
        diagnostics = _checkers.run_pyright(
            executable, config, cwd=path.parent, env=os.environ, timeout=_STATIC_TIMEOUT
        )
    except _checkers.CheckerFailure as failure:
        return _verdicts([], line_of, str(failure))
    return _verdicts(_errors_in(path, diagnostics), line_of, None)


def _errors_in(path: Path, diagnostics: list[_checkers.Diagnostic]) -> list[tuple[int, str]]:
    """The errors in the generated file *path*, as (line, first line of message and code).

    mypy also reports errors inside the target's own modules when it finds them through
    ``MYPYPATH``; those are the target author's business, not a verdict on conformance.
    """
    generated = path.resolve()
    return [
        (diagnostic.line, f"{diagnostic.text.splitlines()[0]} [{diagnostic.code}]")
        for diagnostic in diagnostics
        if diagnostic.severity == "error" and diagnostic.path == generated
    ]


# --------------------------------------------------------------------------------------------
# Output


def _shown(results: list[_Result], explicit: bool) -> tuple[list[_Result], int]:
    """The results whose problems are listed, and how many were left out as unrelated.

    Without ``--protocol``, a protocol of which the target has no member at all is unrelated
    (an executor is not a cache); listing its "missing" lines would bury the real problems.
    """
    if explicit:
        return results, 0
    shown = [
        result
        for result in results
        if not all(problem.kind is ProblemKind.MISSING for problem in result.report.problems)
    ]
    return shown, sum(1 for result in results if result not in shown and not result.report.ok)


def _static_text(verdict: _StaticVerdict) -> str:
    if verdict.accepted is True:
        return "accepts"
    if verdict.accepted is False:
        return f"rejects: {verdict.detail}"
    return verdict.detail


def _rich_console(stream: TextIO) -> Any:
    if importlib.util.find_spec("rich") is None:
        return None
    console_module = importlib.import_module("rich.console")
    # No markup: cells quote user code and checker messages, where '[str, Any]' or
    # '[return-value]' would be read as style tags and vanish.
    return console_module.Console(file=stream, soft_wrap=False, highlight=False, markup=False)


def _render(target: str, results: list[_Result], explicit: bool, stream: TextIO) -> None:
    console = _rich_console(stream)
    shown, unrelated = _shown(results, explicit)
    static = bool(results and results[0].static)
    verdict_rows = [
        [result.protocol_name, "conforms" if result.report.ok else "does not conform"]
        + ([_static_text(result.static[c]) for c in ("mypy", "pyright")] if static else [])
        for result in results
    ]
    verdict_header = ["protocol", "runtime"] + (["mypy", "pyright"] if static else [])
    problem_rows = [
        [result.protocol_name, p.member, p.kind.value, p.expected, p.found, p.fix]
        for result in shown
        for p in result.report.problems
    ]
    problem_header = ["protocol", "member", "problem", "expected", "found", "fix"]
    footer = (
        f"{unrelated} protocol(s) with none of their members on {target} not listed; "
        f"name one with --protocol to see its problems."
        if unrelated
        else ""
    )
    if console is None:
        _render_plain(target, verdict_header, verdict_rows, problem_header, problem_rows, stream)
        if footer:
            print(footer, file=stream)
        return
    table_module = importlib.import_module("rich.table")
    # A heading line, not a caption: a caption is as narrow as the table and rich would
    # wrap a long target in the middle of its name.
    console.print(f"execproto check {target}", soft_wrap=True)
    verdicts = table_module.Table()
    for column in verdict_header:
        verdicts.add_column(column, overflow="fold")
    for row in verdict_rows:
        style = "green" if row[1] == "conforms" else "red"
        verdicts.add_row(*row, style=style)
    console.print(verdicts)
    if problem_rows:
        problems = table_module.Table(title="problems", show_lines=True)
        for column in ("protocol", "member", "problem", "details"):
            problems.add_column(column, overflow="fold")
        for protocol, member, kind, expected, found, fix in problem_rows:
            details = f"expected: {expected}\nfound: {found}\nfix: {fix}"
            problems.add_row(protocol, member, kind, details)
        console.print(problems)
    if footer:
        console.print(footer)


def _render_plain(
    target: str,
    verdict_header: list[str],
    verdict_rows: list[list[str]],
    problem_header: list[str],
    problem_rows: list[list[str]],
    stream: TextIO,
) -> None:
    print(f"execproto check {target}", file=stream)
    print(_plain_table(verdict_header, verdict_rows), file=stream)
    if problem_rows:
        print("", file=stream)
        print("problems:", file=stream)
        for row in problem_rows:
            protocol, member, kind, expected, found, fix = row
            print(f"  {protocol}.{member} [{kind}]", file=stream)
            print(f"    expected: {expected}", file=stream)
            print(f"    found:    {found}", file=stream)
            print(f"    fix:      {fix}", file=stream)


def _plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)
