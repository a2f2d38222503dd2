"""The benchmarks still run (on tiny sizes) and report what they measured; no time is asserted."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import json
import shutil
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pyperf  # type: ignore[import-untyped]
import pytest
from benchmarks import GROUPS, PROFILES, main, run
from benchmarks._cli import parser, select
from benchmarks._harness import Measurement, RowResult, Subject, Timing, measure
from benchmarks._peers import FRAMEWORKS, held_open
from benchmarks._report import format_markdown, format_table, to_json, write_pyperf
from benchmarks._rows import OptionalSubjects
from benchmarks._scaleout import redis_server

SMOKE = PROFILES["smoke"]
TINY = Timing(rounds=3, warmup=1, round_ns=1_000)
PEER_GROUPS = [name for name in GROUPS if name.startswith("peers-")]
#: The top-level modules of the frameworks the peer rows import.
PEER_MODULES = {"agents", "langchain_core", "langgraph", "mcp", "pydantic_ai"}


def _fixed(ns_per_loop: int, name: str = "fixed") -> Subject:
    return Subject(name, "subject", lambda loops: loops * ns_per_loop)


# Closing the in-process cluster of the Dask row may warn about comms closed under it.
@pytest.mark.filterwarnings("ignore:.*[Cc]losed.*:RuntimeWarning:distributed")
def test_every_group_runs_on_smoke_sizes_and_times_its_anchor_first() -> None:
    # The peer groups have their own test, which skips when a framework is not installed.
    rows, ok = run(SMOKE, [name for name in GROUPS if name not in PEER_GROUPS])

    assert ok
    grouped = {
        name
        for name in GROUPS
        if not name.startswith(("scale-", "monitoring-memory")) and name not in PEER_GROUPS
    }
    assert grouped <= {row.name for row in rows}
    # Every row is measured; only the Redis row may lack its server, on a machine without one.
    missing: set[str] = {"redis-server"} if shutil.which("redis-server") is None else set()
    for row in rows:
        if set(row.unavailable) == missing and row.name == "redis-cache-hit":
            continue
        assert {} == row.unavailable, row.name
        assert "anchor" == row.measurements[0].kind, row.name
        assert 1.0 == row.measurements[0].ratio, row.name
        assert all(m.median > 0 for m in row.measurements), row.name


def _missing_frameworks() -> list[str]:
    missing: list[str] = []
    for name in FRAMEWORKS:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def _peer_rows() -> list[RowResult]:
    rows, ok = run(SMOKE, PEER_GROUPS)
    assert ok
    return rows


def test_the_peer_rows_time_every_framework_or_skip_when_one_is_not_installed() -> None:
    rows = _peer_rows()

    assert PEER_GROUPS == [row.name for row in rows]
    for row in rows:
        assert "anchor" == row.measurements[0].kind, row.name
        assert all(m.median > 0 for m in row.measurements), row.name
    missing = _missing_frameworks()
    if missing:
        for row in rows:
            for name, reason in row.unavailable.items():
                assert "pip install -r requirements-bench.txt" in reason, (row.name, name)
        pytest.skip(f"not installed: {', '.join(missing)} (pip install -r requirements-bench.txt)")
    for row in rows:
        assert {} == row.unavailable, row.name


def test_without_the_frameworks_the_peer_rows_time_execproto_and_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = importlib.import_module

    def no_frameworks(name: str, package: str | None = None) -> Any:
        if name.partition(".")[0] in PEER_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_frameworks)

    [row] = GROUPS["peers-call"](SMOKE)

    measured = [m.name for m in row.measurements]
    assert [
        "execproto OperationExecutor.execute_operation",
        "direct await add(1, 2)",
        "execproto ToolExecutor.execute_async",
    ] == measured
    assert row.unavailable
    for name, reason in row.unavailable.items():
        assert reason.startswith("ImportError: No module named"), name
        assert "pip install -r requirements-bench.txt" in reason, name
    assert "LangChain @tool .ainvoke: not available (ImportError" in format_table([row])


@pytest.mark.parametrize(("group", "wrong"), [("peers-call", 9), ("peers-parallel", 7)])
def test_a_peer_that_gives_a_wrong_answer_is_not_timed(
    monkeypatch: pytest.MonkeyPatch, group: str, wrong: int
) -> None:
    if _missing_frameworks():
        pytest.skip("the peer frameworks are not all installed")

    async def subtract(a: int, b: int) -> int:
        """Return a - b."""
        return a - b

    # Every peer (and the raw gather) is given the module's ``add``; execproto's tool keeps
    # the right one.
    subtract.__name__ = "add"
    monkeypatch.setattr("benchmarks._peers.add", subtract)

    [row] = GROUPS[group](SMOKE)

    assert wrong == len(row.unavailable)
    for name, reason in row.unavailable.items():
        assert not name.startswith("execproto"), name
        assert reason.startswith("AssertionError: the subject gave a wrong result"), name
    # Without its anchor (the raw gather, wrong too) the parallel row is not measured at all.
    assert all(m.name.startswith("execproto") for m in row.measurements)
    assert ("peers-parallel" == group) == (not row.measurements)


def test_held_open_exits_the_context_in_the_task_that_entered_it() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    @asynccontextmanager
    async def recording() -> AsyncGenerator[str, None]:
        tasks.append(asyncio.current_task())
        yield "entered"
        tasks.append(asyncio.current_task())

    loop = asyncio.new_event_loop()
    try:
        with held_open(loop, recording()) as value:
            loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()

    assert "entered" == value
    assert 2 == len(tasks)
    assert tasks[0] is tasks[1]


def test_held_open_raises_what_entering_the_context_raised() -> None:
    @asynccontextmanager
    async def failing() -> AsyncGenerator[None, None]:
        raise RuntimeError("no server")
        yield

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="no server"), held_open(loop, failing()):
            pass
    finally:
        loop.close()


def test_the_metrics_memory_rows_size_the_snapshot_and_peak_of_every_subject() -> None:
    rows = GROUPS["monitoring-memory"](SMOKE)

    assert [f"monitoring-memory-{n}" for n in SMOKE.metrics_calls] == [row.name for row in rows]
    for row in rows:
        assert ["anchor", "subject"] == [m.kind for m in row.measurements]
        assert all(m.snapshot_bytes and m.peak_bytes for m in row.measurements), row.name
    few, many = ([m.snapshot_bytes or 0 for m in row.measurements] for row in rows)
    # Ten times the calls: a log of them grows with them, the collector's snapshot does not.
    assert many[0] > 5 * few[0]
    assert many[1] < 2 * few[1]


def test_the_redis_row_is_listed_as_not_available_without_redis_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def nowhere(name: str) -> None:
        del name

    monkeypatch.setattr("shutil.which", nowhere)

    [row] = GROUPS["redis-cache-hit"](SMOKE)

    assert [] == row.measurements
    assert "not found on PATH" in row.unavailable["redis-server"]
    assert "redis-server: not available (not found on PATH" in format_table([row])


def test_the_benchmark_redis_server_is_stopped_when_the_block_ends() -> None:
    redis = pytest.importorskip("redis", reason="the redis extra is not installed")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")

    with redis_server(binary) as url, redis.Redis.from_url(url) as client:
        assert client.ping()

    with pytest.raises(redis.ConnectionError), redis.Redis.from_url(url) as client:
        client.ping()


def test_main_writes_every_selected_row_to_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.json"

    status = main(
        ["--profile", "smoke", "--only", "cache-key", "--only", "parallel", "--json", str(path)]
    )

    data = json.loads(path.read_text(encoding="utf-8"))
    assert 0 == status
    assert ["cache-key", "parallel"] == [row["name"] for row in data["rows"]]
    assert "smoke" == data["profile"]
    assert data["machine"]["cpu_count"] >= 1
    assert "cache key generation" in capsys.readouterr().out


def test_only_with_an_unknown_name_exits_with_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "no-such-benchmark"])

    assert 2 == exit_info.value.code
    assert "no-such-benchmark" in capsys.readouterr().err


def test_the_full_profile_is_the_default_and_quick_selects_the_quick_one() -> None:
    assert "full" == parser().parse_args([]).profile
    assert "quick" == parser().parse_args(["--quick"]).profile
    assert "smoke" == parser().parse_args(["--profile", "smoke"]).profile


def test_only_prefers_the_exact_group_name_and_otherwise_matches_parts() -> None:
    assert ["parallel"] == select(["parallel"])
    assert ["conforms-conforming", "conforms-non-conforming"] == select(["conforms"])


def test_measure_rejects_subjects_that_do_not_start_with_the_anchor() -> None:
    with pytest.raises(ValueError, match="anchor first"):
        measure([_fixed(100)], TINY)


def test_measure_reports_time_per_operation_and_the_per_round_ratio() -> None:
    anchor = Subject("anchor", "anchor", lambda loops: loops * 100)
    batch = Subject("batch", "subject", lambda loops: 5_000, workload=True, ops=10)

    measured = measure([anchor, _fixed(250), batch], TINY)

    assert [100.0, 250.0, 500.0] == [m.median for m in measured]
    assert [1.0, 2.5, 5.0] == [m.ratio for m in measured]
    assert [3, 3, 3] == [len(m.ns_per_op) for m in measured]


def _row(target: float | None, *ratios: float) -> RowResult:
    row = RowResult(name="r", title="r", anchor="a", target=target)
    row.measurements = [Measurement("a", "anchor", [1.0], [1.0])]
    row.measurements += [Measurement(f"s{i}", "subject", [r], [r]) for i, r in enumerate(ratios)]
    return row


def test_a_row_meets_its_target_only_when_every_execproto_subject_does() -> None:
    assert "met" == _row(1.0, 0.5, 1.0).verdict
    assert "missed" == _row(1.0, 0.5, 1.01).verdict
    assert "not available" == _row(1.0).verdict
    assert "-" == _row(None, 9.0).verdict


def test_a_subject_that_cannot_be_built_or_answers_wrongly_is_listed_with_the_reason() -> None:
    row = RowResult(name="r", title="r", anchor="a", target=1.0)
    optional = OptionalSubjects(row)

    def missing() -> Subject:
        raise ImportError("execproto.nothing has no 'thing' yet")

    optional.add("missing", missing)
    optional.add("wrong", lambda: _fixed(1, "wrong"), lambda: False)
    optional.add("fine", lambda: _fixed(1, "fine"), lambda: True)

    assert ["fine"] == [s.name for s in optional.subjects]
    assert "ImportError: execproto.nothing has no 'thing' yet" == row.unavailable["missing"]
    assert row.unavailable["wrong"].startswith("AssertionError")
    assert "missing: not available (ImportError" in format_table([row])


def test_pyperf_export_can_be_loaded_back_by_pyperf(tmp_path: Path) -> None:
    row = _row(1.0, 2.0)
    path = tmp_path / "suite.json"

    write_pyperf([row], path)

    suite = pyperf.BenchmarkSuite.load(str(path))  # pyright: ignore[reportUnknownMemberType]
    names: list[str] = suite.get_benchmark_names()  # pyright: ignore[reportUnknownVariableType]
    assert ["r/a", "r/s0"] == sorted(names)


def test_markdown_has_one_table_line_per_measurement_and_per_missing_subject() -> None:
    row = _row(1.0, 2.0)
    row.unavailable["absent"] = "ImportError: not yet"

    text = format_markdown(json.loads(json.dumps(to_json([row], "smoke"))))

    table = [line for line in text.splitlines() if line.startswith("| r |")]
    assert 3 == len(table)
    assert "**missed**" in table[1]
    assert "not available: ImportError: not yet" in table[2]


def test_a_snapshot_size_is_shown_after_the_peak_in_the_table_and_the_markdown() -> None:
    row = _row(None, 2.0)
    row.measurements[1].peak_bytes = 5 * 1024
    row.measurements[1].snapshot_bytes = 2048

    text = format_markdown(json.loads(json.dumps(to_json([row], "smoke"))))

    assert "5 KiB; snapshot 2 KiB" in format_table([row])
    assert "| 5 KiB; snapshot 2 KiB |" in text
