"""Judge the static conformance suite with mypy and pyright, and compare with expectations.

Run by ``make typecheck``; ``python typecheck/run.py --help`` lists the options. It runs each
checker once over ``pass/`` and ``fail/`` together (mypy ``--strict``, pyright strict, both with
pinned versions and nothing fetched), then fails when:

* a line marked ``# expect:`` is accepted, or rejected with another error code / rule, or for
  a reason that does not name the expected protocol member;
* a line is rejected by one checker only and its expectation does not record the divergence
  (``mypy[-]`` or ``pyright[-]`` together with ``diverge: <reason>``);
* any line that carries no expectation gets an error (in ``pass/`` every line is unmarked);
* a cell of the coverage matrix (protocol family x kind of non-conformance) has no case and no
  ``# n/a:`` line explaining why the kind cannot occur in that family;
* ``stubtest`` finds a stub in ``stubs/`` that disagrees with the runtime package it describes.

The expectation syntax (one statement per line, the comment on the line that is rejected)::

    bad: IToolExecutor = Missing()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_async
    ok: X = Y()  # expect: param-name@assignment mypy[-] pyright[reportAssignmentType] member=get_tool diverge: mypy ignores ...
    # n/a: sync-for-async -- no member of IToolProvider is async

The family of a case is the name of its file in ``fail/`` without ``_fail.py``. ``pass/`` files
may carry ``# accept: <kind>@<position> member=<name> -- <reason>`` to document a
non-conformance that a protocol deliberately accepts; those lines must check cleanly.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from execproto._cli import _checkers
from execproto._cli._checkers import Diagnostic

__all__ = [
    "KINDS",
    "POSITIONS",
    "Diagnostic",
    "Expectation",
    "Outcome",
    "main",
    "run_suite",
]

MYPY_VERSION = "2.4.1"
PYRIGHT_VERSION = "1.1.414"
CHECKERS = ("mypy", "pyright")

#: Kinds of non-conformance every family must cover (or declare ``n/a`` with a reason).
KINDS = (
    "missing",
    "param-type",
    "extra-param",
    "return",
    "sync-for-async",
    "async-for-sync",
    "override",
    "abstract",
    "variance",
)
#: Kinds recorded when they occur, without being required in every family (``call``: a
#: caller's use of a protocol member that must be rejected, pinning its shape).
EXTRA_KINDS = ("param-name", "param-kind", "call")
#: Where a non-conforming value meets a protocol type; override, abstract and call have their own.
POSITIONS = ("assignment", "argument", "return", "definition", "instantiation", "call")

_POSITION_LETTERS = dict(zip(POSITIONS, "agrdic", strict=True))
_REPO = Path(__file__).resolve().parent.parent
_EXPECT = re.compile(
    r"expect:\s*(?P<kind>[\w-]+)@(?P<position>[\w-]+)\s+"
    r"mypy\[(?P<mypy>[\w-]+)\]\s+pyright\[(?P<pyright>[\w-]+)\]\s+"
    r"member=(?P<member>[\w,-]+)"
    r"(?:\s+diverge:\s*(?P<diverge>.+))?\s*$"
)
_NOT_APPLICABLE = re.compile(r"n/a:\s*(?P<kind>[\w-]+)\s+--\s+(?P<reason>.+)$")
_ACCEPT = re.compile(
    r"accept:\s*(?P<kind>[\w-]+)@(?P<position>[\w-]+)\s+member=(?P<member>[\w,-]+)\s+--\s+(?P<reason>.+)$"
)


class SuiteError(Exception):
    """The suite itself is malformed (bad marker, unknown kind) or a checker cannot run."""


@dataclass(frozen=True)
class Expectation:
    """What both checkers must say about one line of a ``fail/`` file."""

    path: Path
    line: int
    family: str
    kind: str
    position: str
    verdicts: dict[str, str | None]  # checker -> expected code/rule, None when it accepts
    members: tuple[str, ...]
    diverge: str | None


@dataclass
class Outcome:
    """The result of one run: problems found, and the matrix of verified cases."""

    problems: list[str] = field(default_factory=list[str])
    # (family, kind, checker) -> [verified cases, total cases, divergences]
    cells: dict[tuple[str, str, str], list[int]] = field(
        default_factory=dict[tuple[str, str, str], list[int]]
    )
    positions: dict[tuple[str, str], set[str]] = field(
        default_factory=dict[tuple[str, str], set[str]]
    )
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])
    accepted: list[str] = field(default_factory=list[str])
    families: list[str] = field(default_factory=list[str])

    @property
    def ok(self) -> bool:
        return not self.problems


def _comments(path: Path) -> Iterable[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string.lstrip("#").strip()


def _family(path: Path) -> str:
    return path.stem.removesuffix("_fail")


def collect(root: Path, outcome: Outcome) -> dict[tuple[Path, int], Expectation]:
    """Read every marker under *root*; record n/a cells and documented acceptances.

    Raises:
        SuiteError: a marker is malformed, names an unknown kind or position, records a
            one-sided verdict without ``diverge:``, or sits in the wrong folder.
    """
    expectations: dict[tuple[Path, int], Expectation] = {}
    for path in sorted((root / "pass").glob("*.py")):
        for line, text in _comments(path):
            if text.startswith("expect:"):
                raise SuiteError(
                    f"{path}:{line}: pass/ files must not expect errors; move it to fail/"
                )
            if text.startswith("accept:"):
                match = _ACCEPT.match(text)
                if match is None:
                    raise SuiteError(
                        f"{path}:{line}: malformed marker {text!r}; expected "
                        "'accept: <kind>@<position> member=<name> -- <reason>'"
                    )
                outcome.accepted.append(
                    f"{path.name}:{line} {match['kind']}@{match['position']} "
                    f"{match['member']}: {match['reason']}"
                )
    for path in sorted((root / "fail").glob("*_fail.py")):
        family = _family(path)
        outcome.families.append(family)
        for line, text in _comments(path):
            if text.startswith("n/a:"):
                na = _NOT_APPLICABLE.match(text)
                if na is None or na["kind"] not in KINDS:
                    raise SuiteError(
                        f"{path}:{line}: malformed marker {text!r}; expected "
                        f"'n/a: <kind> -- <reason>' with a kind among {KINDS}"
                    )
                outcome.not_applicable[(family, na["kind"])] = na["reason"]
                continue
            if not text.startswith("expect:"):
                continue
            match = _EXPECT.match(text)
            if match is None:
                raise SuiteError(
                    f"{path}:{line}: malformed marker {text!r}; expected 'expect: <kind>@<position> "
                    "mypy[<code>|-] pyright[<rule>|-] member=<name>[ diverge: <reason>]'"
                )
            if match["kind"] not in KINDS + EXTRA_KINDS or match["position"] not in POSITIONS:
                raise SuiteError(
                    f"{path}:{line}: unknown kind or position in {text!r}; kinds are "
                    f"{KINDS + EXTRA_KINDS}, positions {POSITIONS}"
                )
            verdicts = {c: (None if match[c] == "-" else match[c]) for c in CHECKERS}
            if verdicts["mypy"] is None and verdicts["pyright"] is None:
                raise SuiteError(f"{path}:{line}: both checkers accept {text!r}; move it to pass/")
            one_sided = None in verdicts.values()
            if one_sided != (match["diverge"] is not None):
                raise SuiteError(
                    f"{path}:{line}: a line rejected by one checker only needs 'diverge: <reason>', "
                    f"and only such a line may have one; got {text!r}"
                )
            expectations[(path.resolve(), line)] = Expectation(
                path=path.resolve(),
                line=line,
                family=family,
                kind=match["kind"],
                position=match["position"],
                verdicts=verdicts,
                members=tuple(m for m in match["member"].split(",") if m != "-"),
                diverge=match["diverge"],
            )
    return expectations


def _run(
    command: Sequence[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as err:
        raise SuiteError(f"cannot run {command[0]!r}: {err}; install it or pass its path") from err


def _check_version(name: str, reported: str, pinned: str) -> None:
    if re.search(rf"\b{re.escape(pinned)}\b(?![.\d])", reported) is None:
        raise SuiteError(
            f"{name} {pinned} is pinned but {reported!r} was found; "
            "run `make install` (or pass --any-version to try another version)"
        )


def run_mypy(files: Sequence[Path], env: dict[str, str], work: Path, pin: bool) -> list[Diagnostic]:
    """Run mypy --strict once over *files*; return its errors.

    Raises:
        SuiteError: mypy is missing, is not the pinned version, or crashed.
    """
    try:
        if pin:
            reported = _checkers.version(_checkers.mypy_command(), env=env, cwd=work)
            _check_version("mypy", reported, MYPY_VERSION)
        diagnostics = _checkers.run_mypy(
            files,
            cwd=work,
            env=env,
            options=["--strict", "--warn-unreachable", "--python-version", "3.10"],
        )
    except _checkers.CheckerFailure as err:
        raise SuiteError(f"mypy: {err}") from err
    return [d for d in diagnostics if d.severity == "error"]


def run_pyright(
    pyright: str,
    root: Path,
    extra_paths: Sequence[Path],
    env: dict[str, str],
    work: Path,
    pin: bool,
) -> list[Diagnostic]:
    """Run pyright strict once over ``pass/`` and ``fail/``; return its errors and warnings.

    Raises:
        SuiteError: pyright is missing, is not the pinned version, or crashed.
    """
    # pyright only takes include paths relative to its configuration file.
    config = {
        "include": [os.path.relpath(root / sub, work) for sub in ("pass", "fail")],
        "extraPaths": [os.path.relpath(p, work) for p in extra_paths],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.10",
    }
    try:
        if pin:
            reported = _checkers.version([pyright], env=env, cwd=work)
            _check_version("pyright", reported, PYRIGHT_VERSION)
        diagnostics = _checkers.run_pyright(pyright, config, cwd=work, env=env)
    except _checkers.CheckerFailure as err:
        raise SuiteError(f"pyright: {err}") from err
    return [d for d in diagnostics if d.severity in ("error", "warning")]


def run_stubtest(stubs: Path, runtime: Path, env: dict[str, str], work: Path) -> list[str]:
    """Check every ``<name>-stubs`` package in *stubs* against the runtime in *runtime*."""
    modules = sorted(p.name.removesuffix("-stubs") for p in stubs.glob("*-stubs") if p.is_dir())
    if not modules:
        return [f"no '<name>-stubs' package in {stubs}"]
    config = work / "stubtest.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    stub_env = {**env, "PYTHONPATH": os.pathsep.join([str(stubs), str(runtime)])}
    result = _run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", str(config), *modules],
        stub_env,
        work,
    )
    if result.returncode == 0:
        return []
    return [
        f"stubtest {' '.join(modules)}: stubs disagree with the runtime:\n{result.stdout}{result.stderr}"
    ]


def compare(
    expectations: dict[tuple[Path, int], Expectation],
    diagnostics: Iterable[Diagnostic],
    outcome: Outcome,
) -> None:
    """Hold every diagnostic against the expectations; record problems and matrix cells."""
    found: dict[tuple[Path, int], dict[str, list[Diagnostic]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for diagnostic in diagnostics:
        found[(diagnostic.path, diagnostic.line)][diagnostic.checker].append(diagnostic)
    for location, by_checker in sorted(found.items()):
        if location not in expectations:
            for diagnostic in (d for ds in by_checker.values() for d in ds):
                outcome.problems.append(
                    f"{diagnostic.path}:{diagnostic.line}: unexpected {diagnostic.checker} error "
                    f"[{diagnostic.code}] on a line without expectation: {diagnostic.text.splitlines()[0]}"
                )
    for location, expected in sorted(expectations.items()):
        where = f"{expected.path}:{expected.line}"
        outcome.positions.setdefault((expected.family, expected.kind), set()).add(expected.position)
        for checker in CHECKERS:
            cell = outcome.cells.setdefault((expected.family, expected.kind, checker), [0, 0, 0])
            cell[1] += 1
            got = found.get(location, {}).get(checker, [])
            want = expected.verdicts[checker]
            if want is None:
                cell[2] += 1
                if got:
                    outcome.problems.append(
                        f"{where}: {checker} rejects [{', '.join(d.code for d in got)}] a line recorded "
                        f"as accepted by it (diverge: {expected.diverge}); update the expectation"
                    )
                else:
                    cell[0] += 1
                continue
            if not got:
                outcome.problems.append(
                    f"{where}: {checker} accepts a line expected to be rejected with [{want}] "
                    f"({expected.kind}, member {', '.join(expected.members) or '-'})"
                )
                continue
            codes = sorted({d.code for d in got})
            if codes != [want]:
                outcome.problems.append(
                    f"{where}: {checker} rejects for another reason: expected [{want}], got "
                    f"[{', '.join(codes)}]: {got[0].text.splitlines()[0]}"
                )
                continue
            text = "\n".join(d.text for d in got)
            missing = [m for m in expected.members if not re.search(rf"\b{re.escape(m)}\b", text)]
            if missing:
                outcome.problems.append(
                    f"{where}: {checker} rejects with [{want}] but not because of member "
                    f"{', '.join(missing)}: {' / '.join(text.splitlines())}"
                )
                continue
            cell[0] += 1
    for family in outcome.families:
        for kind in KINDS:
            covered = all((family, kind, c) in outcome.cells for c in CHECKERS)
            if not covered and (family, kind) not in outcome.not_applicable:
                outcome.problems.append(
                    f"fail/{family}_fail.py: no case for {kind!r}; add one or an "
                    f"'# n/a: {kind} -- <reason>' line"
                )


def render_matrix(outcome: Outcome) -> str:
    """Return the coverage matrix: family x kind, one column per checker."""
    kinds = [*KINDS, *(k for k in EXTRA_KINDS if any(c[1] == k for c in outcome.cells))]
    width = max(len(k) for k in kinds) + 2
    lines = [
        "legend: verified/cases per checker (Nd: N cases where this checker accepts, recorded"
        " as a divergence); positions: a=assignment g=argument r=return d=definition"
        " i=instantiation c=call",
        "",
    ]
    for family in outcome.families:
        lines.append(f"{family}")
        lines.append(f"  {'kind':<{width}}" + "".join(f"{c:<16}" for c in CHECKERS) + "positions")
        for kind in kinds:
            row = f"  {kind:<{width}}"
            for checker in CHECKERS:
                cell = outcome.cells.get((family, kind, checker))
                if cell is None:
                    if kind in EXTRA_KINDS:
                        text = "-"
                    elif (family, kind) in outcome.not_applicable:
                        text = "n/a"
                    else:
                        text = "-- MISSING"
                else:
                    text = f"{cell[0]}/{cell[1]}" + (f" ({cell[2]}d)" if cell[2] else "")
                    if cell[0] != cell[1]:
                        text += " FAIL"
                row += f"{text:<16}"
            seen = outcome.positions.get((family, kind), set())
            row += "".join(_POSITION_LETTERS[p] for p in POSITIONS if p in seen)
            lines.append(row.rstrip())
        lines.append("")
    if outcome.not_applicable:
        lines.append("n/a cells:")
        lines.extend(f"  {f} / {k}: {r}" for (f, k), r in sorted(outcome.not_applicable.items()))
        lines.append("")
    if outcome.accepted:
        lines.append("accepted on purpose (pass/):")
        lines.extend(f"  {a}" for a in outcome.accepted)
        lines.append("")
    return "\n".join(lines)


def run_suite(
    root: Path,
    src: Path,
    stubs: Path,
    runtime: Path,
    pyright: str,
    *,
    stubtest: bool = True,
    pin: bool = True,
) -> Outcome:
    """Run both checkers (and stubtest) over the suite in *root* against the package in *src*.

    Raises:
        SuiteError: the suite is malformed or a checker cannot run.
    """
    outcome = Outcome()
    expectations = collect(root, outcome)
    files = sorted([*(root / "pass").glob("*.py"), *(root / "fail").glob("*.py")])
    env = dict(os.environ)
    # The package under test comes from *src* (not an installed copy), the vendor types from
    # the stub-only packages: mypy finds ``<name>-stubs`` on sys.path, not on MYPYPATH.
    env["MYPYPATH"] = str(src)
    env["PYTHONPATH"] = str(stubs)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with tempfile.TemporaryDirectory(prefix="execproto-typecheck-") as tmp:
        work = Path(tmp)
        (work / "mypy").mkdir()
        (work / "pyright").mkdir()
        diagnostics = run_mypy(files, env, work / "mypy", pin)
        diagnostics += run_pyright(
            pyright, root.resolve(), [src, stubs, runtime], env, work / "pyright", pin
        )
        compare(expectations, diagnostics, outcome)
        if stubtest:
            outcome.problems += run_stubtest(stubs, runtime, env, work)
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (0: every verdict as expected)."""
    parser = argparse.ArgumentParser(
        description="Judge typecheck/ with mypy and pyright and compare with its expectations."
    )
    here = Path(__file__).resolve().parent
    parser.add_argument("--root", type=Path, default=here, help="suite folder with pass/ and fail/")
    parser.add_argument("--src", type=Path, default=_REPO / "src", help="folder holding execproto")
    parser.add_argument("--stubs", type=Path, default=_REPO / "stubs", help="stub-only packages")
    parser.add_argument(
        "--runtime", type=Path, default=_REPO / "examples", help="what the stubs describe"
    )
    parser.add_argument(
        "--pyright",
        default=None,
        help="pyright executable (default: $PYRIGHT, else the one `make install` puts in the "
        "virtualenv of this Python, else pyright on PATH)",
    )
    parser.add_argument(
        "--no-stubtest", dest="stubtest", action="store_false", help="skip stubtest"
    )
    parser.add_argument(
        "--any-version", dest="pin", action="store_false", help="do not enforce pins"
    )
    args = parser.parse_args(argv)
    pyright = args.pyright or _checkers.find_pyright()
    if pyright is None:
        print(
            "typecheck: pyright not found; run `make install`, put it on PATH, set $PYRIGHT "
            "or pass --pyright",
            file=sys.stderr,
        )
        return 2
    # The checkers run in a temporary folder: a relative path must be anchored here first.
    if os.sep in pyright:
        pyright = os.path.abspath(pyright)
    try:
        outcome = run_suite(
            args.root.resolve(),
            args.src.resolve(),
            args.stubs.resolve(),
            args.runtime.resolve(),
            pyright,
            stubtest=args.stubtest,
            pin=args.pin,
        )
    except SuiteError as err:
        print(f"typecheck: {err}", file=sys.stderr)
        return 2
    print(render_matrix(outcome))
    for problem in outcome.problems:
        print(f"FAIL {problem}")
    cases = sum(cell[1] for (_, _, c), cell in outcome.cells.items() if c == "mypy")
    verdict = "ok" if outcome.ok else f"{len(outcome.problems)} problem(s)"
    print(
        f"typecheck: {cases} expectations x {len(CHECKERS)} checkers, stubtest {'on' if args.stubtest else 'off'}: {verdict}"
    )
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
