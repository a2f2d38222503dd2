"""Tests for ``execproto check`` (execproto._cli.check)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from examples.third_party import SyncOnlyExecutor

from execproto._cli import _checkers
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


def test_seed_style_executor_conforms(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_check, "_rich_console", lambda stream: None)
    code = main(["check", "examples.third_party:SeedStyleExecutor", "-p", "IToolExecutor"])
    out = capsys.readouterr().out
    assert 0 == code
    assert "IToolExecutor  conforms" in out


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


def test_plain_text_when_rich_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_check, "_rich_console", lambda stream: None)
    code = main(["check", "examples.third_party:SyncOnlyExecutor", "-p", "IToolExecutor"])
    out = capsys.readouterr().out
    assert 1 == code
    assert "IToolExecutor  does not conform" in out
    assert "IToolExecutor.execute_async [not_async]" in out
    assert "fix:      define it as 'async def execute_async(...)'" in out


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


def test_rich_output_keeps_a_long_target_name_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("rich")
    assert 0 == main(["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor"])
    lines = capsys.readouterr().out.splitlines()
    assert "execproto check examples.third_party:EchoExecutor" == lines[0].strip()


def test_rich_output_shows_square_brackets_in_cells_verbatim() -> None:
    pytest.importorskip("rich")
    stream = io.StringIO()
    report = check(object(), IToolExecutor)
    result = _cli_check._Result("IToolExecutor", report)
    result.static["mypy"] = _cli_check._StaticVerdict(False, "bad [return-value]")
    result.static["pyright"] = _cli_check._StaticVerdict(True, "accepted")
    _cli_check._render("x:y", [result], True, stream)
    assert "[return-value]" in stream.getvalue()


def test_a_module_that_fails_on_import_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert 2 == main(["check", "explodes_on_import:Thing"])
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_static_verdicts_map_errors_to_the_protocol_line() -> None:
    line_of = {6: "IToolExecutor", 9: "ICacheProvider"}
    verdicts = _cli_check._verdicts([(9, "incompatible")], line_of, None)
    assert True is verdicts["IToolExecutor"].accepted
    assert (False, "incompatible") == (
        verdicts["ICacheProvider"].accepted,
        verdicts["ICacheProvider"].detail,
    )


def test_static_errors_elsewhere_make_acceptance_inconclusive() -> None:
    verdicts = _cli_check._verdicts([(2, "cannot find module")], {6: "IToolExecutor"}, None)
    assert None is verdicts["IToolExecutor"].accepted
    assert "inconclusive: cannot find module" == verdicts["IToolExecutor"].detail


def test_static_checker_failure_is_reported_not_accepted() -> None:
    verdicts = _cli_check._verdicts([], {6: "IToolExecutor"}, "not installed")
    assert (None, "not installed") == (
        verdicts["IToolExecutor"].accepted,
        verdicts["IToolExecutor"].detail,
    )


def test_generated_static_check_assigns_classes_and_instances() -> None:
    source, line_of = _cli_check._generate(
        "examples.third_party", "EchoExecutor", True, {"ITypedToolExecutor": _typed_executor()}
    )
    lines = source.splitlines()
    [(line, name)] = line_of.items()
    assert "ITypedToolExecutor" == name
    assert "    return value" == lines[line - 1]
    assert "[Any, Any]" in lines[line - 2]
    source, line_of = _cli_check._generate(
        "examples.third_party", "echo_executor", False, {"IToolExecutor": IToolExecutor}
    )
    [(line, _)] = line_of.items()
    expected = "check_0: _p_IToolExecutor = _target_module.echo_executor"
    assert expected == source.splitlines()[line - 1]


def _typed_executor() -> object:
    from execproto.typed import ITypedToolExecutor

    return ITypedToolExecutor


@pytest.mark.typecheck
@pytest.mark.slow
def test_static_runs_mypy_and_pyright_side_by_side(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pyright = _checkers.find_pyright()
    if pyright is None:
        pytest.skip("pyright is not installed (run `make install` or set $PYRIGHT)")
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


def test_static_without_pyright_says_not_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_checkers, "find_pyright", lambda: None)
    monkeypatch.setattr(
        _cli_check,
        "_mypy",
        lambda path, roots, line_of: _cli_check._verdicts([], line_of, "skipped"),
    )
    main(
        ["check", "examples.third_party:EchoExecutor", "-p", "IToolExecutor", "--static", "--json"]
    )
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["static"]["pyright"]["detail"].startswith("not installed")
    assert "skipped" == result["static"]["mypy"]["detail"]
