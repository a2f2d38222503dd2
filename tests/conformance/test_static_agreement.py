"""One verdict: ``check()`` against the recorded static verdict of every case in ``typecheck/``.

Every site of ``typecheck/pass`` and ``typecheck/fail`` where a value meets a protocol type
(see ``_typecheck_cases``) is run through ``check()`` and compared with what mypy and pyright
say there, as recorded by the ``# expect:`` markers (no marker: both accept). Where the two
checkers agree, ``check()`` must agree too, naming the member and the kind of mismatch the
marker names, unless the case is in ``DIFFERENCES`` with its reason. Where they disagree,
``DIVERGENCES`` says which side the runtime takes for that kind of case, and why. Every
entry of both tables must still be needed: a stale one fails too.

New cases in ``typecheck/`` are picked up as they are; one the runtime disagrees with fails
here until it is explained below (or the runtime is fixed).
"""

from __future__ import annotations

import enum
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from execproto.conformance import ConformanceReport, ProblemKind, check
from tests.conformance import _typecheck_cases as cases

_ASYNC_KINDS = {ProblemKind.NOT_ASYNC, ProblemKind.UNEXPECTED_ASYNC}


class Reason(enum.Enum):
    """Why the runtime verdict differs from the checkers' agreed one, for a kind of case."""

    ASYNC_BEYOND_THE_SPEC = (
        "async-ness is a problem at run time even where a `-> Any` result hides it from the "
        "checkers: a coroutine is an Any, so they accept a sync method for an async one and "
        "the reverse (the typed variants make them agree)"
    )
    DEFAULT_BODY_IS_NOT_ABSTRACT = (
        "a protocol method with a body that only raises NotImplementedError is implicitly "
        "abstract for the checkers, so an explicit subclass that does not override it cannot "
        "be instantiated statically; at run time it is a default (no @abstractmethod), which "
        "the protocol documents as the behaviour of an implementation without plugins"
    )


@dataclass(frozen=True)
class Divergence:
    """What the runtime says where the checkers disagree, for one kind of case."""

    runtime_accepts: bool
    reason: str
    # Must hold of the report of every case of this kind (the reason is verified, not told).
    holds: Callable[[ConformanceReport], bool]


# Cases where the runtime verdict differs from the one mypy and pyright agree on, keyed by
# (file, site) as `_typecheck_cases` names them.
DIFFERENCES: dict[tuple[str, str], Reason] = {
    ("pass/any_typed_pass.py", "sync_for_async: IToolExecutor = SyncExecuteAsync()"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("pass/any_typed_pass.py", "async_for_sync: IToolExecutor = AsyncExecute()"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("pass/any_typed_pass.py", "sync_operation: IOperationExecutor = SyncOperation()"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("pass/any_typed_pass.py", "async_get_tool: IToolProvider = AsyncGetTool()"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("pass/any_typed_pass.py", "async_object_tool: ITypedToolProvider[object] = AsyncGetTool()"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("pass/any_typed_pass.py", "take(SyncExecuteAsync()) -> executor"): Reason.ASYNC_BEYOND_THE_SPEC,
    ("fail/execution_interface_fail.py", "default_register = DefaultRegister()"): Reason.DEFAULT_BODY_IS_NOT_ABSTRACT,
}  # fmt: skip

# Where exactly one checker rejects: (expectation kind, the checker that accepts) -> what the
# runtime says.
DIVERGENCES: dict[tuple[str, str], Divergence] = {
    ("param-name", "mypy"): Divergence(
        runtime_accepts=False,
        reason=(
            "mypy ignores the names of positional-or-keyword parameters when it matches a "
            "protocol; the typing spec and pyright do not, and a caller passing the "
            "protocol's name by keyword fails at run time: the runtime rejects, with pyright"
        ),
        holds=lambda report: any(p.kind is ProblemKind.SIGNATURE for p in report.problems),
    ),
    ("param-kind", "pyright"): Divergence(
        runtime_accepts=True,
        reason=(
            "a positional-or-keyword parameter where the protocol's is positional-only before "
            "**params: pyright and isinstance accept it, mypy rejects it because a key of "
            "**params could collide with it. The runtime accepts and warns "
            "(keyword_collision); check(strict=True) rejects"
        ),
        holds=lambda report: any(w.kind is ProblemKind.KEYWORD_COLLISION for w in report.warnings),
    ),
}

# Expectation kinds that are no conformance question: nothing for check() to compare.
NOT_CONFORMANCE = {
    "call": "a caller's use of a protocol member (pins the protocol's own shape from outside)",
}

# The problem kinds check() reports for each kind of expectation (kinds not listed: any).
EXPECTED_KINDS: dict[str, set[ProblemKind]] = {
    "missing": {ProblemKind.MISSING},
    "param-type": {ProblemKind.ANNOTATION},
    "return": {ProblemKind.ANNOTATION},
    "extra-param": {ProblemKind.SIGNATURE},
    "sync-for-async": {ProblemKind.NOT_ASYNC},
    "async-for-sync": {ProblemKind.UNEXPECTED_ASYNC},
    "variance": {ProblemKind.ANNOTATION},
    "param-name": {ProblemKind.SIGNATURE},
}


@dataclass
class Outcome:
    """The runtime's verdict on one site."""

    accepts: bool
    reports: list[ConformanceReport]
    detail: str


def _runtime(site: cases.Site) -> Outcome:
    if site.raised is not None:
        # Python itself refusing to instantiate an abstract class is a rejection; anything
        # else that raised leaves no runtime value to check.
        abstract = isinstance(site.raised, TypeError) and "abstract" in str(site.raised)
        if abstract:
            return Outcome(False, [], str(site.raised))
        return Outcome(True, [], f"no runtime value: {type(site.raised).__name__}: {site.raised}")
    reports = [check(pair.subject, pair.protocol) for pair in site.pairs]
    detail = "; ".join(report.format() for report in reports if not report.ok)
    return Outcome(all(report.ok for report in reports), reports, detail)


def _members_named(outcome: Outcome) -> set[str]:
    if not outcome.reports:
        return {word.strip("'\",.") for word in outcome.detail.split()}
    return {p.member for report in outcome.reports for p in report.problems}


def _kinds(outcome: Outcome) -> set[ProblemKind]:
    return {p.kind for report in outcome.reports for p in report.problems}


@dataclass
class Comparison:
    """Every site compared: the differences found, and what the tables explain."""

    unexplained: list[str]
    used_differences: set[tuple[str, str]]
    used_divergences: set[tuple[str, str]]
    compared: int


def _compare(
    suite: Path = cases.SUITE,
    differences: dict[tuple[str, str], Reason] | None = None,
) -> Comparison:
    differences = DIFFERENCES if differences is None else differences
    expectations = cases.expectations(suite)
    sites = cases.sites(suite)
    unexplained: list[str] = []
    used_differences: set[tuple[str, str]] = set()
    used_divergences: set[tuple[str, str]] = set()
    sited: set[tuple[Any, int]] = set()
    by_file: dict[Path, list[Any]] = {}
    for (path, _), expectation in expectations.items():
        by_file.setdefault(path, []).append(expectation)
    for site in sites:
        marks = [
            expectation
            for expectation in by_file.get(site.path.resolve(), [])
            if site.first_line <= expectation.line <= site.last_line
        ]
        sited.update((m.path, m.line) for m in marks)
        outcome = _runtime(site)
        key = (site.file, site.key)
        where = f"{site.file}:{site.first_line} [{site.context}] {site.key}"
        accepting = sorted({c for m in marks for c, v in m.verdicts.items() if v is None})
        kinds = sorted({m.kind for m in marks})
        if marks and accepting:  # one checker accepts: a divergence
            rule = DIVERGENCES.get((kinds[0], accepting[0])) if len(kinds) == 1 else None
            if rule is None:
                unexplained.append(
                    f"{where}: the checkers disagree ({', '.join(accepting)} accepts a "
                    f"{'/'.join(kinds)} case) and DIVERGENCES has no rule for it; runtime "
                    f"{'accepts' if outcome.accepts else 'rejects'}: {outcome.detail}"
                )
                continue
            used_divergences.add((kinds[0], accepting[0]))
            if rule.runtime_accepts != outcome.accepts or not any(
                rule.holds(r) for r in outcome.reports
            ):
                unexplained.append(
                    f"{where}: DIVERGENCES says the runtime "
                    f"{'accepts' if rule.runtime_accepts else 'rejects'} ({rule.reason}); it "
                    f"{'accepts' if outcome.accepts else 'rejects'}: {outcome.detail}"
                )
            continue
        static_accepts = not marks
        reason = differences.get(key)
        if static_accepts == outcome.accepts:
            if reason is not None:
                continue  # stale: reported below, as the entry is not marked used
            problem = _reason_mismatch(marks, outcome)
            if problem is not None:
                unexplained.append(f"{where}: both reject, but {problem}")
            continue
        if reason is None:
            unexplained.append(
                f"{where}: the checkers {'accept' if static_accepts else 'reject'}, the runtime "
                f"{'accepts' if outcome.accepts else 'rejects'} ({outcome.detail or 'no problem'});"
                f" explain it in DIFFERENCES or fix the runtime"
            )
            continue
        if reason is Reason.ASYNC_BEYOND_THE_SPEC and not _kinds(outcome) <= _ASYNC_KINDS:
            unexplained.append(f"{where}: recorded as {reason.name}, but: {outcome.detail}")
            continue
        used_differences.add(key)
    for location, expectation in sorted(expectations.items()):
        if location not in sited and expectation.kind not in NOT_CONFORMANCE:
            unexplained.append(
                f"{expectation.path.name}:{expectation.line}: a {expectation.kind!r} expectation "
                f"that no site covers; teach tests/conformance/_typecheck_cases.py its shape"
            )
    return Comparison(unexplained, used_differences, used_divergences, len(sites))


def _reason_mismatch(marks: list[Any], outcome: Outcome) -> str | None:
    """Whether check() rejects for the reason the markers record: the member and the kind."""
    named = _members_named(outcome)
    for mark in marks:
        missing = [member for member in mark.members if member not in named]
        if missing:
            return f"check() does not name member {', '.join(missing)}: {outcome.detail}"
        expected = EXPECTED_KINDS.get(mark.kind)
        if expected is not None and outcome.reports and not expected & _kinds(outcome):
            return (
                f"check() reports {sorted(k.value for k in _kinds(outcome))}, not "
                f"{sorted(k.value for k in expected)} ({mark.kind}): {outcome.detail}"
            )
    return None


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return _compare()


def test_check_gives_the_checkers_verdict_on_every_case(comparison: Comparison) -> None:
    assert comparison.compared > 100  # the whole suite, not an empty glob
    assert [] == comparison.unexplained


def test_every_recorded_difference_still_occurs(comparison: Comparison) -> None:
    assert set() == set(DIFFERENCES) - comparison.used_differences


def test_every_divergence_rule_is_still_needed(comparison: Comparison) -> None:
    assert set() == set(DIVERGENCES) - comparison.used_divergences


# --- the comparison must be able to fail ----------------------------------------------------


def _suite_copy(tmp_path: Path) -> Path:
    root = tmp_path / "typecheck"
    shutil.copytree(cases.SUITE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_case_the_checkers_accept_and_the_runtime_rejects_is_unexplained(
    tmp_path: Path,
) -> None:
    suite = _suite_copy(tmp_path)
    _append(
        suite / "pass" / "tool_provider_pass.py",
        "\n\nclass PlantedAsync:\n"
        "    def get_tool(self, tool_name: str) -> Any: ...\n"
        "    async def has_tool(self, tool_name: str) -> Any: ...\n\n\n"
        "planted: IToolProvider = PlantedAsync()\n",
    )
    [found] = _compare(suite).unexplained
    assert "planted: IToolProvider = PlantedAsync()" in found
    assert "the checkers accept, the runtime rejects" in found


def test_a_rejected_case_the_runtime_accepts_is_unexplained(tmp_path: Path) -> None:
    suite = _suite_copy(tmp_path)
    _append(
        suite / "fail" / "tool_provider_fail.py",
        "\n\nplanted: IToolProvider = DictLike()  # expect: missing@assignment "
        "mypy[assignment] pyright[reportAssignmentType] member=has_tool\n",
    )
    _append(
        suite / "fail" / "tool_provider_fail.py",
        "\n\nclass DictLike:\n"
        "    def get_tool(self, tool_name: str) -> Any: ...\n"
        "    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError\n",
    )
    # Defined after its use: the line raises NameError, so move the class up instead.
    text = (suite / "fail" / "tool_provider_fail.py").read_text(encoding="utf-8")
    head, planted, tail = text.partition("\n\nplanted: IToolProvider")
    line, _, rest = tail.partition("\n")
    (suite / "fail" / "tool_provider_fail.py").write_text(
        head + rest + planted + line + "\n", encoding="utf-8"
    )
    [found] = _compare(suite).unexplained
    assert "the checkers reject, the runtime accepts" in found


def test_a_rejection_for_another_member_is_unexplained(tmp_path: Path) -> None:
    suite = _suite_copy(tmp_path)
    path = suite / "fail" / "tool_provider_fail.py"
    text = path.read_text(encoding="utf-8")
    old = "without_has_tool: IToolProvider = WithoutHasTool()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=has_tool"
    assert 1 == text.count(old)
    path.write_text(text.replace(old, old.replace("member=has_tool", "member=get_tool")))
    [found] = _compare(suite).unexplained
    assert "does not name member get_tool" in found


def test_a_rejection_of_another_kind_is_unexplained(tmp_path: Path) -> None:
    suite = _suite_copy(tmp_path)
    path = suite / "fail" / "tool_provider_fail.py"
    text = path.read_text(encoding="utf-8")
    old = "without_has_tool: IToolProvider = WithoutHasTool()  # expect: missing@assignment"
    path.write_text(text.replace(old, old.replace("missing@", "return@")))
    [found] = _compare(suite).unexplained
    assert "check() reports ['missing'], not ['annotation'] (return)" in found


def test_an_expectation_no_site_covers_is_unexplained(tmp_path: Path) -> None:
    suite = _suite_copy(tmp_path)
    _append(
        suite / "fail" / "tool_provider_fail.py",
        "\n\nprint(WithoutHasTool().has_tool)  # expect: missing@call "
        "mypy[attr-defined] pyright[reportAttributeAccessIssue] member=has_tool\n",
    )
    [found] = _compare(suite).unexplained
    assert "a 'missing' expectation that no site covers" in found


def test_a_difference_that_no_longer_occurs_is_stale() -> None:
    planted = {**DIFFERENCES, ("pass/tool_provider_pass.py", "subclass: IToolProvider = SubclassProvider()"): Reason.ASYNC_BEYOND_THE_SPEC}  # fmt: skip
    comparison = _compare(differences=planted)
    assert {("pass/tool_provider_pass.py", "subclass: IToolProvider = SubclassProvider()")} == (
        set(planted) - comparison.used_differences
    )


def test_an_unrecorded_difference_is_unexplained() -> None:
    key = ("pass/any_typed_pass.py", "take(SyncExecuteAsync()) -> executor")
    without = {k: v for k, v in DIFFERENCES.items() if k != key}
    [found] = _compare(differences=without).unexplained
    assert "take(SyncExecuteAsync())" in found
