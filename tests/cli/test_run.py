"""``execproto run``: plans, tools modules, output, exit codes; in-process and as a process."""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from execproto._cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
_counter = itertools.count()

TOOLS = """
from execproto.runtime.registry import ToolRegistry


class Maths:
    def add(self, a: int, b: int) -> int:
        return a + b

    async def table(self, n: int) -> dict:
        return {"rows": [n * i for i in range(4)]}

    def fail(self) -> None:
        raise RuntimeError("maths broke")


def register(registry: ToolRegistry) -> None:
    registry.register("maths", Maths())
"""


@pytest.fixture
def main(monkeypatch: pytest.MonkeyPatch) -> Any:
    # `execproto check` is written separately; until it exists the parser is built without it.
    if importlib.util.find_spec("execproto._cli.check") is None:
        monkeypatch.delitem(cli._COMMANDS, "check")
    return cli.main


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a tools module with the given source; return its (unique) module name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source: str = TOOLS) -> str:
        name = f"cli_tools_{next(_counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


def plan_file(tmp_path: Path, plan: Any) -> str:
    path = tmp_path / f"plan_{next(_counter)}.json"
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return str(path)


SEQUENCE = [
    {"operation": "maths.add", "params": {"a": 2, "b": 3}},
    {"operation": "maths.table", "params": {"n": "$result[0]"}},
    {"operation": "maths.add", "params": {"a": "$result[1].rows.3", "b": 1}},
]


def test_runs_a_sequence_and_prints_a_table(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", plan_file(tmp_path, SEQUENCE), "--tools", tools()])
    out, err = capsys.readouterr()
    assert 0 == code
    assert "3/3 steps completed" in out
    assert "maths.table" in out
    assert "[3/3] #2 maths.add: completed" in err


def test_json_output_holds_every_step_with_index_and_id(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(), "--json", "--quiet"])
    out, err = capsys.readouterr()
    steps = json.loads(out)
    assert 0 == code
    assert "" == err
    assert [0, 1, 2] == [step["index"] for step in steps]
    assert [5, {"rows": [0, 5, 10, 15]}, 16] == [step["result"] for step in steps]
    assert ["completed"] * 3 == [step["status"] for step in steps]


def test_a_failed_step_exits_1(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = {"mode": "parallel", "operations": [{"operation": "maths.fail"}, SEQUENCE[0]]}
    code = main(["run", plan_file(tmp_path, plan), "--tools", tools(), "--json", "--quiet"])
    steps = json.loads(capsys.readouterr().out)
    assert 1 == code
    assert [("failed", "E003"), ("completed", None)] == [
        (step["status"], step["error_code"]) for step in steps
    ]


def test_stop_on_failure_flag_stops_the_sequence(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = [{"operation": "maths.fail"}, SEQUENCE[0]]
    code = main(
        ["run", plan_file(tmp_path, plan), "--tools", tools(), "--json", "--stop-on-failure"]
    )
    steps = json.loads(capsys.readouterr().out)
    assert 1 == code
    assert ["failed", "cancelled"] == [step["status"] for step in steps]


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"operations": [SEQUENCE[0], {"operation": "maths"}]}, "plan item 1"),
        ([SEQUENCE[0], {"operation": "maths.add", "parms": {}}], "plan item 1"),
        ({"mode": "fast", "operations": []}, "mode must be one of"),
        ({"mode": "dag", "operations": [SEQUENCE[0]]}, "needs an 'id'"),
        ({"operations": [], "retries": 3}, "unknown key(s) ['retries']"),
        ({"mode": "parallel"}, "'operations' list"),
        (
            [
                {"id": "a", "operation": "maths.add", "depends_on": ["b"]},
                {"id": "b", "operation": "maths.add", "depends_on": ["a"]},
            ],
            "cycle",
        ),
    ],
)
def test_a_malformed_plan_exits_2_naming_the_problem(
    main: Any,
    tools: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    plan: Any,
    message: str,
) -> None:
    code = main(["run", plan_file(tmp_path, plan), "--tools", tools()])
    out, err = capsys.readouterr()
    assert 2 == code
    assert message in err
    assert "" == out


def test_a_missing_plan_file_exits_2(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == main(["run", str(tmp_path / "absent.json"), "--tools", tools()])
    assert "cannot read the plan" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "neither a function register(registry)"),
        ("registry = 42\n", "'registry' is int"),
        ("raise ImportError('missing dependency')\n", "missing dependency"),
        ("def register(registry):\n    raise KeyError('k')\n", "register(registry) raised"),
    ],
)
def test_a_tools_module_without_tools_exits_2(
    main: Any,
    tools: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    message: str,
) -> None:
    assert 2 == main(["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(source)])
    assert message in capsys.readouterr().err


def test_a_module_level_registry_is_used(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = TOOLS + "\nregistry = ToolRegistry()\nregister(registry)\ndel register\n"
    assert 0 == main(["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(source), "--quiet"])


def test_an_unknown_engine_exits_2_listing_the_installed_ones(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(), "--engine", "warp"]
    assert 2 == main(args)
    assert "'local'" in capsys.readouterr().err


def test_the_failing_example_plan_reports_each_kind_of_failure(
    main: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = main(
        ["run", "examples/failing_plan.json", "--tools", "examples.tools", "--json", "--quiet"]
    )
    steps = json.loads(capsys.readouterr().out)
    assert 1 == code
    assert [
        ("completed", None),
        # A transient ConnectionError, then the unknown currency's KeyError, which is not
        # retryable: the step fails with the tool's own error (E003), not E005.
        ("failed", "E003"),
        ("completed", None),
        ("failed", "E001"),
        ("cancelled", "E004"),
    ] == [(step["status"], step["error_code"]) for step in steps]
    assert "KeyError" in steps[1]["error_message"]
    assert "'yen'" in steps[4]["error_message"]


_EXAMPLE_ARGS = ("--tools", "examples.tools", "--json")
_WITHOUT_CHECK = (
    "import sys; from execproto._cli import main as cli; del cli._COMMANDS['check']; "
    "sys.exit(cli.main(sys.argv[1:]))"
)


def test_the_example_plan_runs_as_a_process() -> None:
    entry = ["-m", "execproto"]
    if importlib.util.find_spec("execproto._cli.check") is None:
        # Until `execproto check` exists, the same main() without it.
        entry = ["-c", _WITHOUT_CHECK]
    completed = subprocess.run(
        [sys.executable, *entry, "run", "examples/plan.json", *_EXAMPLE_ARGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == completed.returncode, completed.stderr
    steps = json.loads(completed.stdout)
    assert ["search", "rates", "analyze", "background", "summary", "report"] == [
        step["id"] for step in steps
    ]
    assert ["completed"] * 6 == [step["status"] for step in steps]
    assert 2 == steps[1]["result"]["call"]  # the first call failed and was retried
    assert "[6/6]" in completed.stderr


def test_metrics_prints_the_per_operation_summary_after_the_step_table(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = [*SEQUENCE, {"operation": "maths.fail"}]
    code = main(["run", plan_file(tmp_path, plan), "--tools", tools(), "--metrics", "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert 1 == code
    table_end = lines.index("3/4 steps completed")
    calls = lines.index(next(line for line in lines if line.startswith("operation ")))
    assert table_end < calls
    assert ["maths.add", "2", "0"] == lines[calls + 1].split()[:3]
    assert ["maths.fail", "1", "1", "100.0"] == lines[calls + 2].split()[:4]
    assert ["maths.table", "1", "0"] == lines[calls + 3].split()[:3]
    outcomes = lines.index(next(line for line in lines if "step outcome" in line))
    assert [
        ["maths.add", "completed", "2"],
        ["maths.fail", "failed", "E003", "1"],
        ["maths.table", "completed", "1"],
    ] == [line.split() for line in lines[outcomes + 1 :]]


def test_metrics_with_json_wraps_steps_and_metrics_in_one_object(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(), "--json", "--quiet"]
    code = main([*args, "--metrics"])
    document = json.loads(capsys.readouterr().out)
    assert 0 == code
    assert [0, 1, 2] == [step["index"] for step in document["steps"]]
    assert [("maths.add", 2, 0), ("maths.table", 1, 0)] == [
        (row["operation"], row["count"], row["errors"]) for row in document["metrics"]["operations"]
    ]
    assert {"maths.add": {"completed": 2}, "maths.table": {"completed": 1}} == (
        document["metrics"]["step_outcomes"]
    )
    assert {} == document["metrics"]["error_types"]


def test_without_metrics_no_summary_is_printed(
    main: Any, tools: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["run", plan_file(tmp_path, SEQUENCE), "--tools", tools(), "--quiet"])
    assert "step outcome" not in capsys.readouterr().out
