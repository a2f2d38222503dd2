"""Tests for ``execproto check`` (execproto._cli.check)."""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from examples.third_party import SyncOnlyExecutor

from execproto._cli import _checkers, _static
from execproto._cli import check as _cli_check
from execproto._cli.main import main
from execproto.conformance import check
from execproto.protocols import IToolExecutor

REPO = Path(__file__).resolve().parents[2]


def test_sync_only_executor_fails_and_names_execute_async(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert isinstance(SyncOnlyExecutor(), IToolExecutor)
    code = main(["check", "examples.third_party:SyncOnlyExecutor", "--protocol", "IToolExecutor"])
    out = capsys.readouterr().out
    assert 1 == code
    assert "execute_async" in out
    assert "not_async" in out


def test_conforming_class_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor"])
    assert "conforms" in capsys.readouterr().out


def test_an_instance_can_be_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["check", "examples.third_party:echo_executor", "-p", "IToolExecutor"])


def test_without_protocol_every_protocol_is_listed_and_one_match_suffices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 0 == main(["check", "examples.third_party:EchoExecutor", "--json"])
    results = json.loads(capsys.readouterr().out)["results"]
    verdicts = {result["protocol"]: result["conforms"] for result in results}
    assert True is verdicts["IToolExecutor"]
    assert False is verdicts["ICacheProvider"]
    assert {"ExecutionInterface", "VersionedInterface", "ITypedToolExecutor"} <= set(verdicts)


def test_without_protocol_nothing_matching_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert 1 == main(["check", "examples.third_party:NotAnExecutor"])
    out = capsys.readouterr().out
    assert "not listed; name one with --protocol" in out


def test_every_requested_protocol_must_conform(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor", "-p", "IToolProvider"]
    )
    out = capsys.readouterr().out
    assert 1 == code
    assert "get_tool" in out


def test_json_output_carries_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "examples.third_party:SyncOnlyExecutor", "-p", "IToolExecutor", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert 1 == code
    assert "examples.third_party:SyncOnlyExecutor" == payload["target"]
    [result] = payload["results"]
    assert [("execute_async", "not_async")] == [
        (problem["member"], problem["kind"]) for problem in result["problems"]
    ]


def test_own_protocol_by_module_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "check",
            "examples.third_party:SyncOnlyExecutor",
            "-p",
            "execproto.protocols:IToolExecutor",
        ]
    )
    assert 1 == code


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no_such_module_xyz:Thing"], "cannot import module 'no_such_module_xyz'"),
        (
            ["examples.third_party:Nope"],
            "expected a class or object named 'Nope' in module 'examples.third_party'",
        ),
        (["examples.third_party"], "expected module:Name"),
        (["examples.third_party:EchoExecutor", "-p", "IFoo"], "unknown protocol 'IFoo'"),
        (
            ["examples.third_party:EchoExecutor", "-p", "examples.third_party:EchoExecutor"],
            "not a Protocol class",
        ),
    ],
)
def test_bad_input_exits_two_with_a_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert 2 == main(["check", *arguments])
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.startswith("execproto check: error: ")


def test_a_missing_name_is_named_once_with_close_matches_offered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main(["check", "examples.third_party:EchoExecutr"])
    err = capsys.readouterr().err
    assert 1 == err.count("'EchoExecutr'")
    assert "did you mean 'EchoExecutor'" in err


def test_a_missing_nested_name_says_where_the_lookup_stopped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main(["check", "examples.third_party:EchoExecutor.nope"])
    err = capsys.readouterr().err
    assert "named 'nope' in examples.third_party:EchoExecutor (a type)" in err


def test_a_module_that_fails_on_import_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert 2 == main(["check", "explodes_on_import:Thing"])
    assert "RuntimeError: boom" in capsys.readouterr().err


# --- warnings, --strict, cannot verify -------------------------------------------------------


def test_warnings_are_listed_under_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "examples.third_party:SeedStyleExecutor", "-p", "IToolExecutor"])
    out = capsys.readouterr().out
    assert 0 == code
    assert "IToolExecutor  conforms, 2 warnings" in out
    assert "IToolExecutor: conforms, 2 warnings" in out
    assert "IToolExecutor.execute [keyword_collision] (warning)" in out
    assert "add '/' after 'operation_name'" in out


def test_strict_makes_warnings_problems(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "examples.third_party:SeedStyleExecutor", "-p", "IToolExecutor", "--strict"]
    )
    out = capsys.readouterr().out
    assert 1 == code
    assert "IToolExecutor  does not conform" in out
    assert "IToolExecutor.execute [keyword_collision]\n" in out


def test_json_carries_warnings_and_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "examples.third_party:SeedStyleExecutor", "-p", "IToolExecutor", "--json"])
    payload = json.loads(capsys.readouterr().out)
    [result] = payload["results"]
    assert (False, True, "conforms, 2 warnings") == (
        payload["strict"],
        result["conforms"],
        result["verdict"],
    )
    assert ["keyword_collision", "keyword_collision"] == [w["kind"] for w in result["warnings"]]


_UNINTROSPECTABLE = """
from typing import Any


class Proxy:
    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class CExecutor:
    execute = staticmethod(getattr)  # C functions without a signature
    execute_async = staticmethod(getattr)


proxy = Proxy(object())
"""


@pytest.fixture
def unintrospectable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"unintrospectable_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(_UNINTROSPECTABLE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize(
    ("attribute", "reason"),
    [("proxy", "answers attribute lookups in __getattr__"), ("CExecutor", "cannot read getattr")],
)
def test_what_cannot_be_introspected_is_cannot_verify_not_a_traceback(
    unintrospectable: str, attribute: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{unintrospectable}:{attribute}"
    assert 0 == main(["check", target, "-p", "IToolExecutor"])
    captured = capsys.readouterr()
    assert "IToolExecutor  cannot verify" in captured.out
    assert reason in captured.out
    assert "[cannot_verify] (warning)" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert 1 == main(["check", target, "-p", "IToolExecutor", "--strict"])
    captured = capsys.readouterr()
    assert "IToolExecutor  cannot verify" in captured.out
    assert "(warning)" not in captured.out


def test_an_object_the_check_cannot_read_at_all_is_cannot_verify(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the class's metaclass fought back")

    monkeypatch.setattr(_cli_check, "check", explode)
    assert 0 == main(["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor"])
    out = capsys.readouterr().out
    assert "cannot verify" in out
    assert "RuntimeError: the class's metaclass fought back" in out
    assert 1 == main(
        ["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor", "--strict"]
    )


# --- output: a table on a terminal, plain text into a pipe -----------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _results() -> list[_cli_check._Result]:
    from examples.third_party import SyncOnlyExecutor

    return [_cli_check._Result("IToolExecutor", check(SyncOnlyExecutor, IToolExecutor))]


_BOX = {chr(code) for code in range(0x2500, 0x2580)}


def test_plain_text_into_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "examples.third_party:SyncOnlyExecutor", "-p", "IToolExecutor"])
    out = capsys.readouterr().out
    assert 1 == code
    assert "IToolExecutor  does not conform" in out
    assert "IToolExecutor.execute_async [not_async]" in out
    assert "fix:      define it as 'async def execute_async(...)'" in out
    assert set() == _BOX & set(out)


def test_a_table_drawn_by_rich_on_a_terminal() -> None:
    pytest.importorskip("rich")
    stream = _Terminal()
    _cli_check._render("x:y", _results(), True, stream)
    out = stream.getvalue()
    assert _BOX & set(out)
    assert "does not conform" in out
    assert "IToolExecutor.execute_async [not_async]" in out


def test_plain_text_on_a_terminal_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    stream = _Terminal()
    _cli_check._render("x:y", _results(), True, stream)
    assert "IToolExecutor  does not conform" in stream.getvalue()
    assert set() == _BOX & set(stream.getvalue())


def test_rich_output_keeps_the_heading_and_square_brackets_verbatim() -> None:
    pytest.importorskip("rich")
    stream = _Terminal()
    [result] = _results()
    result.static["mypy"] = _static.StaticVerdict(False, "bad [return-value]")
    result.static["pyright"] = _static.StaticVerdict(True, "accepted")
    _cli_check._render("examples.third_party:EchoExecutor", [result], True, stream)
    out = stream.getvalue()
    assert "execproto check examples.third_party:EchoExecutor" == out.splitlines()[0]
    assert "bad [return-value]" in out


# --- --static ----------------------------------------------------------------------------


def _diagnostic(checker: str, path: Path, line: int, text: str, severity: str = "error") -> Any:
    code = "assignment" if checker == "mypy" else "reportAssignmentType"
    return _checkers.Diagnostic(checker, path.resolve(), line, code, text, severity)


def _read(diagnostics: list[Any], path: Path, checker: str = "mypy") -> dict[str, Any]:
    pattern = _static._MYPY_ANY if checker == "mypy" else _static._PYRIGHT_ANY
    line_of = {9: "IToolExecutor", 11: "ICacheProvider"}
    return _static.verdicts(diagnostics, path, line_of, 6, pattern)


def test_static_errors_on_a_protocol_line_reject_with_the_whole_message(tmp_path: Path) -> None:
    path = tmp_path / "generated.py"
    message = 'Incompatible types\nFollowing member(s) of "X" have conflicts:\n    execute'
    verdicts = _read([_diagnostic("mypy", path, 11, message)], path)
    assert True is verdicts["IToolExecutor"].accepted
    coded = message.replace("Incompatible types", "Incompatible types [assignment]", 1)
    assert (False, coded) == (
        verdicts["ICacheProvider"].accepted,
        verdicts["ICacheProvider"].detail,
    )


def test_static_errors_elsewhere_make_acceptance_inconclusive(tmp_path: Path) -> None:
    path = tmp_path / "generated.py"
    verdicts = _read([_diagnostic("mypy", path, 1, "Cannot find module")], path)
    assert None is verdicts["IToolExecutor"].accepted
    assert verdicts["IToolExecutor"].detail.startswith("inconclusive; the checker said:\n")
    assert "Cannot find module [assignment]" in verdicts["IToolExecutor"].detail


@pytest.mark.parametrize(
    ("checker", "revealed"),
    [
        ("mypy", 'Revealed type is "Any"'),
        ("pyright", 'Type of "_target_module.Exec" is "Unknown"'),
        ("pyright", 'Type of "_target_module.Exec" is "type[Unknown]"'),
    ],
)
def test_static_on_an_untyped_object_is_inconclusive_not_a_rejection(
    tmp_path: Path, checker: str, revealed: str
) -> None:
    path = tmp_path / "generated.py"
    diagnostics = [
        _diagnostic(checker, path, 6, revealed, "note" if checker == "mypy" else "information"),
        _diagnostic(checker, path, 9, 'Returning Any from function declared to return "X"'),
    ]
    verdict = _read(diagnostics, path, checker)["IToolExecutor"]
    assert None is verdict.accepted
    assert verdict.detail.startswith("inconclusive: the object is untyped (Any)")


def test_static_on_a_typed_object_reads_its_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "generated.py"
    diagnostics = [
        _diagnostic(
            "pyright", path, 6, 'Type of "_target_module.Exec" is "type[Exec]"', "information"
        ),
        _diagnostic("pyright", path, 9, "not assignable"),
    ]
    assert False is _read(diagnostics, path, "pyright")["IToolExecutor"].accepted


def test_generated_static_check_reveals_and_assigns_classes_and_instances() -> None:
    from execproto.typed import ITypedToolExecutor

    source, line_of, reveal = _static.generate(
        "examples.third_party", "EchoExecutor", True, {"ITypedToolExecutor": ITypedToolExecutor}
    )
    lines = source.splitlines()
    [(line, name)] = line_of.items()
    assert "ITypedToolExecutor" == name
    assert "    return value" == lines[line - 1]
    assert "[Any, Any]" in lines[line - 2]
    assert "reveal_type(_target_module.EchoExecutor)" == lines[reveal - 1]
    source, line_of, _ = _static.generate(
        "examples.third_party", "echo_executor", False, {"IToolExecutor": IToolExecutor}
    )
    [(line, _)] = line_of.items()
    expected = "check_0: _p_IToolExecutor = _target_module.echo_executor"
    assert expected == source.splitlines()[line - 1]


@pytest.mark.parametrize("missing", [["mypy"], ["pyright"], ["mypy", "pyright"]])
def test_static_without_the_checkers_exits_2_naming_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, missing: list[str]
) -> None:
    monkeypatch.setattr(_static, "missing_checkers", lambda: missing)
    code = main(["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor", "--static"])
    captured = capsys.readouterr()
    assert 2 == code
    assert "pip install 'execproto[typecheck]'" in captured.err
    assert " and ".join(missing) in captured.err
    assert "make install" not in captured.err + captured.out


def test_missing_checkers_are_found_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_checkers, "find_pyright", lambda: None)
    monkeypatch.setattr(_static.importlib.util, "find_spec", lambda name: None)
    assert ["mypy", "pyright"] == _static.missing_checkers()


def test_static_keeps_the_users_mypypath(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, str] = {}

    def fake_mypy(files: Any, *, cwd: Path, env: dict[str, str], **kwargs: Any) -> list[Any]:
        seen.update(env)
        return []

    monkeypatch.setenv("MYPYPATH", os.pathsep.join(["/users/stubs", "/more/stubs"]))
    monkeypatch.setattr(_checkers, "run_mypy", fake_mypy)
    path = tmp_path / "generated.py"
    _static._mypy(path, ["/target/root"], {9: "IToolExecutor"}, 6)
    assert ["/target/root", "/users/stubs", "/more/stubs"] == seen["MYPYPATH"].split(os.pathsep)


def test_no_hint_tells_a_pip_user_to_run_make_install() -> None:
    sources = [Path(_cli_check.__file__), Path(_static.__file__), Path(_checkers.__file__)]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        hints = [line for line in text.splitlines() if "make install" in line and 'f"' in line]
        assert [] == hints, source


@pytest.mark.typecheck
@pytest.mark.slow
def test_static_runs_mypy_and_pyright_side_by_side(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pyright = _checkers.find_pyright()
    if pyright is None:
        pytest.skip("pyright is not installed (pip install 'execproto[typecheck]')")
    monkeypatch.setenv("PYRIGHT", pyright)
    code = main(
        [
            "check",
            "examples.third_party:SyncOnlyExecutor",
            "-p",
            "IToolExecutor",
            "-p",
            "ICacheProvider",
            "--static",
            "--json",
        ]
    )
    results = {r["protocol"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert 1 == code
    # IToolExecutor returns Any, so neither checker can see the sync execute_async.
    assert {"mypy": True, "pyright": True} == {
        checker: verdict["accepted"]
        for checker, verdict in results["IToolExecutor"]["static"].items()
    }
    assert {"mypy": False, "pyright": False} == {
        checker: verdict["accepted"]
        for checker, verdict in results["ICacheProvider"]["static"].items()
    }
    # The whole message: pyright's explanation, not its first line.
    assert "is not present" in results["ICacheProvider"]["static"]["pyright"]["detail"]
    main(["check", "examples.third_party:SeedStyleExecutor", "-p", "IToolExecutor", "--static"])
    out = capsys.readouterr().out
    # mypy rejects the keyword-capable 'tool' (pyright accepts): its member listing is shown.
    assert "IToolExecutor  conforms, 2 warnings  rejects  accepts" in out
    assert "Following member(s) of" in out
    assert "def execute(self, Any, str, /, **params: Any) -> Any" in out


@pytest.mark.typecheck
@pytest.mark.slow
def test_static_on_an_installed_untyped_package_is_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pyright = _checkers.find_pyright()
    if pyright is None:
        pytest.skip("pyright is not installed (pip install 'execproto[typecheck]')")
    monkeypatch.setenv("PYRIGHT", pyright)
    # A folder named site-packages on PYTHONPATH: the checkers treat what is there as
    # installed, and mypy does not read an installed package without py.typed.
    site = tmp_path / "site-packages"
    package = site / f"untyped_vendor_{os.getpid()}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            class Executor:
                def execute(self, tool, name, /, **params):
                    return None

                async def execute_async(self, tool, name, /, **params):
                    return None
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    code = main(["check", f"{package.name}:Executor", "-p", "IToolExecutor", "--static", "--json"])
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert 0 == code
    mypy = result["static"]["mypy"]
    assert None is mypy["accepted"]
    assert mypy["detail"].startswith("inconclusive: the object is untyped (Any)")
    assert "Returning Any" not in mypy["detail"].splitlines()[0]
