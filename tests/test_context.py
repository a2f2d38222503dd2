"""The execution context in contextvars."""

from __future__ import annotations

import asyncio

import pytest

from execproto.context import (
    AttemptCounter,
    ExecutionContext,
    current_context,
    execution_context,
    record_attempt,
)


def test_outside_any_block_the_context_is_empty() -> None:
    assert ExecutionContext("", "") == current_context()


def test_nested_blocks_restore_the_outer_context() -> None:
    with execution_context(user_id="u1", task_id="t1"):
        with execution_context(user_id="u2", task_id="t2") as inner:
            assert inner == current_context()
        assert ExecutionContext("u1", "t1") == current_context()
    assert ExecutionContext() == current_context()


def test_context_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), execution_context(user_id="u1"):
        raise RuntimeError("boom")
    assert ExecutionContext() == current_context()


def test_context_reaches_tasks_and_threads_but_not_siblings() -> None:
    async def read() -> ExecutionContext:
        return current_context()

    async def scenario() -> tuple[ExecutionContext, ExecutionContext, ExecutionContext]:
        with execution_context(user_id="u1", task_id="t1"):
            in_task = await asyncio.create_task(read())
            in_thread = await asyncio.to_thread(current_context)
        sibling = await asyncio.create_task(read())
        return in_task, in_thread, sibling

    in_task, in_thread, sibling = asyncio.run(scenario())
    assert ExecutionContext("u1", "t1") == in_task
    assert ExecutionContext("u1", "t1") == in_thread
    assert ExecutionContext() == sibling


def test_non_string_identifiers_are_rejected() -> None:
    with pytest.raises(TypeError, match="user_id must be a str, got 42 of type int"):
        ExecutionContext(user_id=42)  # type: ignore[arg-type]


def test_an_attempt_counter_starts_at_one_and_takes_reported_attempts() -> None:
    with AttemptCounter() as counter:
        assert 1 == counter.attempts
        record_attempt(3)
    assert 3 == counter.attempts


def test_reports_outside_a_counter_or_after_it_change_nothing() -> None:
    record_attempt(5)  # no counter: nothing to report to, and no error
    with AttemptCounter() as counter:
        pass
    record_attempt(2)
    assert 1 == counter.attempts


def test_nested_counters_restore_the_outer_one() -> None:
    with AttemptCounter() as outer:
        with AttemptCounter() as inner:
            record_attempt(2)
        record_attempt(4)
    assert (4, 2) == (outer.attempts, inner.attempts)
