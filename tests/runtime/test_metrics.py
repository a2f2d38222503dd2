"""Tests for execproto.runtime.metrics: bounded counters, snapshots, merging, summaries."""

from __future__ import annotations

import json
import math
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execproto.runtime.metrics import (
    DEFAULT_BUCKETS,
    OVERFLOW_KEY,
    MetricsCollector,
    MetricsSnapshot,
    default_metrics,
    format_summary,
    outcome_label,
    summarize,
)


class ToolFailure(Exception):
    """A failure raised by a test tool; its module-qualified name shows in error.type."""


def test_record_counts_calls_errors_and_duration_extremes_per_operation() -> None:
    collector = MetricsCollector()
    collector.record("search.query", 0.002)
    collector.record("search.query", 0.004, ValueError("bad"))
    collector.record("search.fetch", 0.010)

    operations = collector.snapshot()["operations"]

    assert ["search.fetch", "search.query"] == list(operations)
    query = operations["search.query"]
    assert (2, 1) == (query["count"], query["errors"])
    assert (0.002, 0.004) == (query["min_seconds"], query["max_seconds"])
    assert math.isclose(0.006, query["total_seconds"])
    assert (1, 0) == (operations["search.fetch"]["count"], operations["search.fetch"]["errors"])


def test_a_duration_on_a_bound_falls_in_that_bucket_and_slower_ones_in_the_last() -> None:
    collector = MetricsCollector(buckets=(0.1, 1.0))
    for duration in (0.0, 0.05, 0.1, 0.5, 1.0, 2.0, 3.0):
        collector.record("op", duration)

    snapshot = collector.snapshot()

    assert (0.1, 1.0) == snapshot["bucket_bounds"]
    assert (3, 2, 2) == snapshot["operations"]["op"]["bucket_counts"]


def test_snapshot_is_plain_json_serialisable_data() -> None:
    collector = MetricsCollector()
    collector.record("tool.op", 0.01, KeyError("k"))

    snapshot = collector.snapshot()
    decoded = json.loads(json.dumps(snapshot, allow_nan=False))

    assert list(DEFAULT_BUCKETS) == decoded["bucket_bounds"]
    assert {"KeyError": 1} == decoded["error_types"]
    assert (
        list(snapshot["operations"]["tool.op"]["bucket_counts"])
        == (decoded["operations"]["tool.op"]["bucket_counts"])
    )


def test_snapshot_is_a_copy_that_later_calls_do_not_change() -> None:
    collector = MetricsCollector()
    collector.record("tool.op", 0.01)
    before = collector.snapshot()

    collector.record("tool.op", 0.01)
    before["operations"].clear()

    assert 2 == collector.snapshot()["operations"]["tool.op"]["count"]


def test_operation_keys_beyond_the_limit_share_the_overflow_key() -> None:
    collector = MetricsCollector(max_operations=3)
    for index in range(10):
        collector.record(f"tool.op{index}", 0.001)

    operations = collector.snapshot()["operations"]

    assert {"tool.op0", "tool.op1", "tool.op2", OVERFLOW_KEY} == set(operations)
    assert 7 == operations[OVERFLOW_KEY]["count"]


def test_a_known_operation_is_still_counted_under_its_key_once_the_limit_is_reached() -> None:
    collector = MetricsCollector(max_operations=1)
    collector.record("tool.known", 0.001)
    collector.record("tool.unknown", 0.001)
    collector.record("tool.known", 0.001)

    operations = collector.snapshot()["operations"]

    assert 2 == operations["tool.known"]["count"]
    assert 1 == operations[OVERFLOW_KEY]["count"]


def test_an_overlong_operation_key_is_counted_under_the_overflow_key() -> None:
    collector = MetricsCollector(max_key_length=10)
    collector.record("x" * 11, 0.001)

    assert [OVERFLOW_KEY] == list(collector.snapshot()["operations"])


def test_error_types_beyond_the_limit_share_the_overflow_key() -> None:
    collector = MetricsCollector(max_error_types=1)
    collector.record("op", 0.001, ValueError())
    collector.record("op", 0.001, KeyError())
    collector.record("op", 0.001, ValueError())

    assert {OVERFLOW_KEY: 1, "ValueError": 2} == collector.snapshot()["error_types"]


def test_error_types_are_builtin_names_or_module_qualified_class_names() -> None:
    class Nested(Exception):
        pass

    collector = MetricsCollector()
    collector.record("op", 0.001, TimeoutError())
    collector.record("op", 0.001, ToolFailure())
    collector.record("op", 0.001, Nested())

    expected = {
        "TimeoutError": 1,
        f"{__name__}.ToolFailure": 1,
        f"{__name__}.{Nested.__qualname__}": 1,
    }
    assert expected == collector.snapshot()["error_types"]


@pytest.mark.parametrize("duration", [-0.001, math.inf, math.nan])
def test_record_rejects_a_duration_that_is_not_a_finite_non_negative_number(
    duration: float,
) -> None:
    collector = MetricsCollector()

    with pytest.raises(ValueError, match="duration must be a finite number"):
        collector.record("op", duration)
    assert {} == collector.snapshot()["operations"]


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("buckets", (), "buckets must be a non-empty, strictly increasing sequence"),
        ("buckets", (1.0, 0.5), "buckets must be a non-empty, strictly increasing sequence"),
        ("buckets", (0.0, 1.0), "of finite numbers > 0, got (0.0, 1.0) of type tuple"),
        ("buckets", (1.0, math.inf), "of finite numbers > 0, got (1.0, inf) of type tuple"),
        ("max_operations", 0, "max_operations must be an int >= 1, got 0 of type int"),
        ("max_error_types", -5, "max_error_types must be an int >= 1, got -5 of type int"),
        ("max_key_length", 0, "max_key_length must be an int >= 1, got 0 of type int"),
    ],
)
def test_collector_refuses_an_argument_out_of_range_with_a_value_error(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(ValueError, match=r"^MetricsCollector: ") as caught:
        MetricsCollector(**{argument: value})

    message = str(caught.value)
    assert message.startswith("MetricsCollector: ")
    assert expected in message


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("buckets", ("fast",), "buckets must be a non-empty, strictly increasing sequence"),
        ("buckets", 1.0, "of finite numbers > 0, got 1.0 of type float"),
        ("buckets", "0.1", "of finite numbers > 0, got '0.1' of type str"),
        ("max_operations", "10", "max_operations must be an int >= 1, got '10' of type str"),
        ("max_error_types", True, "max_error_types must be an int >= 1, got True of type bool"),
        ("max_key_length", 1.5, "max_key_length must be an int >= 1, got 1.5 of type float"),
    ],
)
def test_collector_refuses_an_argument_of_the_wrong_type_with_a_type_error(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as caught:
        MetricsCollector(**{argument: value})

    message = str(caught.value)
    assert message.startswith("MetricsCollector: ")
    assert expected in message


def test_default_metrics_is_one_collector_for_the_process() -> None:
    assert default_metrics() is default_metrics()
    assert isinstance(default_metrics(), MetricsCollector)


def test_usage_report_has_the_seed_totals_and_per_operation_counts() -> None:
    collector = MetricsCollector()
    for _ in range(3):
        collector.record("a.x", 0.001)
    collector.record("b.y", 0.001, ToolFailure())

    report = collector.get_usage_report()

    assert 4 == report["total_usage"]
    assert 1 == report["total_errors"]
    assert 0.25 == report["error_rate"]
    assert {"a.x": 3, "b.y": 1} == report["usage_by_operation"]
    assert {"b.y": 1} == report["errors_by_operation"]
    assert {f"{__name__}.ToolFailure": 1} == report["error_types"]


def test_usage_report_of_an_empty_collector_has_a_zero_error_rate() -> None:
    report = MetricsCollector().get_usage_report()

    assert (0, 0, 0.0) == (report["total_usage"], report["total_errors"], report["error_rate"])


def test_reset_forgets_every_recorded_call() -> None:
    collector = MetricsCollector()
    collector.record("op", 0.001, ValueError())

    collector.reset()

    expected = MetricsSnapshot(
        bucket_bounds=DEFAULT_BUCKETS, operations={}, error_types={}, outcomes={}
    )
    assert expected == collector.snapshot()


def test_merging_snapshots_adds_their_counters_as_if_recorded_in_one_collector() -> None:
    calls = [("a.x", 0.001, None), ("a.x", 0.3, ToolFailure()), ("b.y", 2.0, KeyError())]
    first, second, combined = MetricsCollector(), MetricsCollector(), MetricsCollector()
    for index, (key, duration, error) in enumerate(calls * 3):
        (first if index % 2 else second).record(key, duration, error)
        combined.record(key, duration, error)

    merged = MetricsCollector()
    merged.merge(first.snapshot())
    merged.merge(json.loads(json.dumps(second.snapshot())))  # as sent by another process

    expected, actual = combined.snapshot(), merged.snapshot()
    assert expected["error_types"] == actual["error_types"]
    for key, stats in expected["operations"].items():
        other = actual["operations"][key]
        assert (stats["count"], stats["errors"]) == (other["count"], other["errors"])
        assert stats["bucket_counts"] == other["bucket_counts"]
        assert (stats["min_seconds"], stats["max_seconds"]) == (
            other["min_seconds"],
            other["max_seconds"],
        )
        assert math.isclose(stats["total_seconds"], other["total_seconds"])


def test_merging_keeps_the_operation_limit() -> None:
    source = MetricsCollector()
    for index in range(5):
        source.record(f"tool.op{index}", 0.001)

    merged = MetricsCollector(max_operations=2)
    merged.merge(source.snapshot())

    assert {"tool.op0", "tool.op1", OVERFLOW_KEY} == set(merged.snapshot()["operations"])
    assert 3 == merged.snapshot()["operations"][OVERFLOW_KEY]["count"]


def test_record_outcome_counts_steps_per_operation_and_outcome() -> None:
    collector = MetricsCollector()
    collector.record_outcome("web.search", "completed")
    collector.record_outcome("web.search", "completed")
    collector.record_outcome("web.search", "failed E003")
    collector.record_outcome("report.compose", "cancelled E004")

    assert {
        "report.compose": {"cancelled E004": 1},
        "web.search": {"completed": 2, "failed E003": 1},
    } == collector.snapshot()["outcomes"]
    assert {} == collector.snapshot()["operations"]  # steps are not calls


def test_outcomes_beyond_the_limits_share_the_overflow_key() -> None:
    collector = MetricsCollector(max_operations=2)
    for index in range(4):
        collector.record_outcome(f"tool.op{index}", "completed")
    for index in range(40):
        collector.record_outcome("tool.op0", f"failed E{index}")

    outcomes = collector.snapshot()["outcomes"]
    assert {"tool.op0", "tool.op1", OVERFLOW_KEY} == set(outcomes)
    assert {"completed": 2} == outcomes[OVERFLOW_KEY]
    assert 32 == len(set(outcomes["tool.op0"]) - {OVERFLOW_KEY})
    assert 9 == outcomes["tool.op0"][OVERFLOW_KEY]
    assert 41 == sum(outcomes["tool.op0"].values())


def test_merging_adds_outcomes_and_reset_forgets_them() -> None:
    first, second = MetricsCollector(), MetricsCollector()
    first.record_outcome("a.x", "completed")
    second.record_outcome("a.x", "completed")
    second.record_outcome("a.x", "failed E003")

    first.merge(json.loads(json.dumps(second.snapshot())))

    assert {"a.x": {"completed": 2, "failed E003": 1}} == first.snapshot()["outcomes"]
    first.reset()
    assert {} == first.snapshot()["outcomes"]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [("completed", None, "completed"), ("failed", "E003", "failed E003")],
)
def test_outcome_label_joins_status_and_error_code(
    status: str, code: str | None, expected: str
) -> None:
    assert expected == outcome_label(status, code)


def test_merging_a_snapshot_with_other_buckets_is_rejected() -> None:
    source = MetricsCollector(buckets=(1.0,))
    source.record("op", 0.5)

    with pytest.raises(ValueError, match="same buckets"):
        MetricsCollector().merge(source.snapshot())


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0.0, max_value=1000.0, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=50,
    )
)
def test_buckets_partition_the_calls_and_extremes_match_the_durations(
    durations: list[float],
) -> None:
    collector = MetricsCollector()
    for duration in durations:
        collector.record("op", duration)

    stats = collector.snapshot()["operations"]["op"]

    assert len(durations) == stats["count"] == sum(stats["bucket_counts"])
    assert (min(durations), max(durations)) == (stats["min_seconds"], stats["max_seconds"])


def _deep_size(root: object) -> int:
    """Bytes held by *root* and the containers and slotted objects it reaches."""
    total = 0
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, type):
            continue
        # Numbers are counted at every occurrence: CPython shares small ints, so counting
        # each object once would make the size depend on the values of the counters.
        if not isinstance(obj, (int, float)):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            for slot in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, slot):
                    stack.append(getattr(obj, slot))
    return total


def _shape(value: object) -> object:
    """*value* with every number replaced by its type: the snapshot's size, not its content."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shape(item) for item in value]
    return type(value).__name__


_DURATIONS = (0.00005, 0.0003, 0.002, 0.004, 0.02, 0.2, 0.7, 3.0, 20.0, 400.0)


_OUTCOMES = ("completed", "failed E003", "cancelled E004", "timed_out E002")


def _fill(collector: MetricsCollector, calls: int, *, unique_names: bool) -> None:
    error = ToolFailure()
    for index in range(calls):
        name = f"tool.op{index}" if unique_names else f"tool.op{index % 5}"
        collector.record(name, _DURATIONS[index % 10], error if index % 7 == 0 else None)
        outcome = f"failed E{index}" if unique_names else _OUTCOMES[index % 4]
        collector.record_outcome(f"tool.op{index % 5}", outcome)
        collector.record_outcome(name, "completed")


@pytest.mark.parametrize("unique_names", [False, True], ids=["five-names", "hostile-names"])
def test_memory_and_snapshot_size_do_not_grow_with_the_number_of_calls(
    unique_names: bool,
) -> None:
    small, large = MetricsCollector(max_operations=50), MetricsCollector(max_operations=50)
    _fill(small, 1_000, unique_names=unique_names)
    _fill(large, 100_000, unique_names=unique_names)

    assert _deep_size(small) == _deep_size(large)
    assert _shape(small.snapshot()) == _shape(large.snapshot())
    assert 100_000 == large.get_usage_report()["total_usage"]


def test_threads_recording_the_same_new_operations_lose_no_call() -> None:
    collector = MetricsCollector(max_operations=20_000)
    threads_count, keys = 8, [f"tool.op{index}" for index in range(10_000)]
    barrier = threading.Barrier(threads_count)

    def work() -> None:
        barrier.wait()
        for key in keys:
            collector.record(key, 0.001)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    # Frequent thread switches make two threads that both find a new key missing race to
    # create it; without the collector's lock one of them would overwrite the other's count.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    counts = collector.get_usage_report()["usage_by_operation"]
    assert {threads_count} == set(counts.values())
    assert len(keys) == len(counts)


def test_summarize_estimates_percentiles_within_the_observed_range() -> None:
    collector = MetricsCollector(buckets=(0.01, 0.1, 1.0))
    for _ in range(90):
        collector.record("tool.op", 0.005)
    for _ in range(10):
        collector.record("tool.op", 0.5, ToolFailure())

    [row] = summarize(collector.snapshot())

    assert ("tool.op", 100, 10, 0.1) == (
        row["operation"],
        row["count"],
        row["errors"],
        row["error_rate"],
    )
    assert 0.005 <= row["p50_seconds"] <= 0.01
    assert 0.1 <= row["p95_seconds"] <= 0.5
    assert 0.5 == row["max_seconds"]
    assert math.isclose(0.0545, row["mean_seconds"])


def test_format_summary_prints_a_header_and_one_line_per_operation() -> None:
    collector = MetricsCollector()
    collector.record("search.query", 0.002)
    collector.record("search.query", 0.004, ToolFailure())
    collector.record("math.add", 0.001)

    lines = format_summary(collector.snapshot()).splitlines()

    assert 3 == len(lines)
    assert ["operation", "calls", "errors", "err%"] == lines[0].split()[:4]
    assert ["math.add", "1", "0", "0.0"] == lines[1].split()[:4]
    assert ["search.query", "2", "1", "50.0"] == lines[2].split()[:4]


def test_format_summary_adds_a_step_outcome_table_when_steps_were_recorded() -> None:
    collector = MetricsCollector()
    collector.record("math.add", 0.001)
    collector.record_outcome("math.add", "completed")
    collector.record_outcome("math.div", "failed E001")

    lines = format_summary(collector.snapshot()).splitlines()

    assert "" == lines[2]
    assert ["operation", "step", "outcome", "steps"] == lines[3].split()
    assert [["math.add", "completed", "1"], ["math.div", "failed", "E001", "1"]] == [
        line.split() for line in lines[4:]
    ]


def test_format_summary_of_an_empty_snapshot_is_the_header_only() -> None:
    snapshot = MetricsSnapshot(bucket_bounds=(1.0,), operations={}, error_types={}, outcomes={})

    assert 1 == len(format_summary(snapshot).splitlines())
