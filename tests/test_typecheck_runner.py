"""Tests of typecheck/run.py: the static conformance suite must be able to fail.

The tests marked ``slow`` run the real, pinned mypy and pyright (a few seconds each); find
them with ``pytest tests/test_typecheck_runner.py -m slow``. Each builds one mutated copy of
the suite or of ``src/`` and reuses a single checker run for every assertion about it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from execproto._cli import _checkers

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "typecheck"
FAMILIES = [
    "cache",
    "execution_interface",
    "operation_executor",
    "seed_extras",
    "tool_executor",
    "tool_provider",
]


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("typecheck_run", SUITE / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the defining module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load_runner()


@pytest.fixture(scope="module")
def pyright() -> str:
    path = _checkers.find_pyright()
    if path is None:
        pytest.skip("pyright not found; run `make install`, put it on PATH or set $PYRIGHT")
    return path


def _copy_suite(tmp_path: Path) -> Path:
    root = tmp_path / "typecheck"
    shutil.copytree(SUITE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the single occurrence of *old* in *path*; return its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    assert 1 == text.count(old), f"{old!r} must occur exactly once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    matches = [number for number, line in enumerate(lines, 1) if fragment in line]
    assert 1 == len(matches), f"{fragment!r} must occur on exactly one line of {path}"
    return matches[0]


def _run(root: Path, pyright: str, src: Path = REPO / "src") -> Any:
    return run.run_suite(
        root, src, REPO / "stubs", REPO / "examples", pyright, stubtest=root == SUITE
    )


# Parsing and comparison, without checkers.


def _write_fail_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pass").mkdir()
    (tmp_path / "fail").mkdir()
    path = tmp_path / "fail" / "demo_fail.py"
    path.write_text(body, encoding="utf-8")
    return path


def test_collect_rejects_a_one_sided_expectation_without_a_divergence_reason(
    tmp_path: Path,
) -> None:
    _write_fail_file(
        tmp_path,
        "x = 1  # expect: missing@assignment mypy[-] pyright[reportAssignmentType] member=a\n",
    )
    with pytest.raises(run.SuiteError, match="diverge"):
        run.collect(tmp_path, run.Outcome())


def test_collect_rejects_an_unknown_kind(tmp_path: Path) -> None:
    _write_fail_file(tmp_path, "x = 1  # expect: typo@assignment mypy[a] pyright[b] member=a\n")
    with pytest.raises(run.SuiteError, match="unknown kind"):
        run.collect(tmp_path, run.Outcome())


def test_compare_reports_every_uncovered_cell_unless_declared_not_applicable(
    tmp_path: Path,
) -> None:
    _write_fail_file(tmp_path, "# n/a: variance -- not generic\n")
    outcome = run.Outcome()
    run.compare(run.collect(tmp_path, outcome), [], outcome)
    uncovered = sorted(k for k in run.KINDS if any(f"{k!r}" in p for p in outcome.problems))
    assert sorted(set(run.KINDS) - {"variance"}) == uncovered


def test_compare_reports_an_error_on_a_line_without_expectation(tmp_path: Path) -> None:
    path = _write_fail_file(tmp_path, "x: int = 'a'\n")
    outcome = run.Outcome()
    error = run.Diagnostic("mypy", path.resolve(), 1, "assignment", "Incompatible types")
    run.compare(run.collect(tmp_path, outcome), [error], outcome)
    assert any("unexpected mypy error [assignment]" in p for p in outcome.problems)


def test_a_checker_that_cannot_run_is_a_suite_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-pyright")
    with pytest.raises(run.SuiteError, match="could not run"):
        run.run_pyright(missing, tmp_path, [], dict(os.environ), tmp_path, False)


def test_without_any_pyright_the_runner_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_checkers, "find_pyright", lambda: None)
    assert 2 == run.main([])
    assert "pyright not found; run `make install`" in capsys.readouterr().err


# Real checker runs.


@pytest.mark.slow
@pytest.mark.typecheck
def test_checkers_agree_with_every_expectation_of_the_repository_suite(pyright: str) -> None:
    outcome = _run(SUITE, pyright)
    assert [] == outcome.problems
    assert FAMILIES == sorted(outcome.families)
    matrix = run.render_matrix(outcome)
    assert "MISSING" not in matrix
    assert "FAIL" not in matrix


@pytest.mark.slow
@pytest.mark.typecheck
def test_checkers_catch_a_conforming_fail_case_a_wrong_code_a_wrong_member_and_a_stray_error(
    tmp_path: Path, pyright: str
) -> None:
    root = _copy_suite(tmp_path)
    provider = root / "fail" / "tool_provider_fail.py"
    _edit(
        provider,
        "class WithoutHasTool:\n    def get_tool(self, tool_name: str) -> Any: ...\n",
        "class WithoutHasTool:\n    def get_tool(self, tool_name: str) -> Any: ...\n"
        "    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError\n",
    )
    conforming = _line_of(provider, "without_has_tool: IToolProvider = WithoutHasTool()")
    cache = root / "fail" / "cache_fail.py"
    wrong_code = _edit(
        cache,
        "accept(WithoutAdd())  # expect: missing@argument mypy[arg-type]",
        "accept(WithoutAdd())  # expect: missing@argument mypy[assignment]",
    )
    executor = root / "fail" / "tool_executor_fail.py"
    wrong_member = _edit(
        executor,
        "IntOperationName()  # expect: param-type@assignment mypy[assignment] "
        "pyright[reportAssignmentType] member=execute\n",
        "IntOperationName()  # expect: param-type@assignment mypy[assignment] "
        "pyright[reportAssignmentType] member=execute_async\n",
    )
    stray_path = root / "pass" / "cache_pass.py"
    with stray_path.open("a", encoding="utf-8") as stream:
        stream.write('stray: int = "not an int"\n')
    stray = _line_of(stray_path, "stray: int")

    problems = "\n".join(_run(root, pyright).problems)

    for checker in ("mypy", "pyright"):
        assert f"{provider.resolve()}:{conforming}: {checker} accepts a line expected" in problems
        assert f"{executor.resolve()}:{wrong_member}: {checker} rejects with" in problems
        assert f"{stray_path.resolve()}:{stray}: unexpected {checker} error" in problems
    assert (
        f"{cache.resolve()}:{wrong_code}: mypy rejects for another reason: "
        "expected [assignment], got [arg-type]"
    ) in problems
    assert "not because of member execute_async" in problems


MUTATIONS = {
    "execute_async made sync": (
        "protocols.py",
        "    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:",
        "    def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:",
        ("tool_executor_fail.py", "not_awaited: int"),
    ),
    "typed execute_async made sync": (
        "typed.py",
        "    async def execute_async(self, tool: T_contra, operation_name: str, /, **params: Any) -> R_co:",
        "    def execute_async(self, tool: T_contra, operation_name: str, /, **params: Any) -> R_co:",
        ("tool_executor_fail.py", "sync_execute_async: ITypedToolExecutor"),
    ),
    "cache_key parameter typed int": (
        "protocols.py",
        "    def get_from_cache(self, cache_key: str) -> Any | None:",
        "    def get_from_cache(self, cache_key: int) -> Any | None:",
        ("cache_fail.py", "int_cache_key: ICacheProvider = IntCacheKey()"),
    ),
    "positional-only marker dropped": (
        "protocols.py",
        "    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:",
        "    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any:",
        ("tool_executor_fail.py", "some_executor().execute(tool=Calculator()"),
    ),
}


@pytest.mark.slow
@pytest.mark.typecheck
def test_checkers_fail_the_suite_when_protocol_signatures_in_src_are_broken(
    tmp_path: Path, pyright: str
) -> None:
    # One checker run for all mutations: each flips a different case, named below.
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    for module, old, new, _ in MUTATIONS.values():
        _edit(src / "execproto" / module, old, new)

    problems = "\n".join(_run(SUITE.resolve(), pyright, src=src).problems)

    for mutation, (_, _, _, (case_file, case_line)) in MUTATIONS.items():
        case = SUITE / "fail" / case_file
        line = _line_of(case, case_line)
        # Both checkers must read the broken copy, not the installed package.
        for checker in ("mypy", "pyright"):
            expected = f"{case.resolve()}:{line}: {checker} accepts a line expected"
            assert expected in problems, f"{checker} missed: {mutation}"
