"""The execution context in contextvars."""

from __future__ import annotations

import asyncio

import pytest

from execproto.context import (
    CallContext,
    ExecutionContext,
    current_call,
    current_context,
    enter_call,
    execution_context,
    exit_call,
    tool_call_id,
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


def test_outside_any_call_there_is_no_current_call() -> None:
    assert None is current_call()


def test_a_call_starts_at_one_attempt_and_is_current_until_exited() -> None:
    call = CallContext("step-1")
    token = enter_call(call)
    try:
        assert call is current_call()
        assert ("step-1", 1, False) == (call.call_id, call.attempts, call.claimed)
    finally:
        exit_call(token)
    assert None is current_call()


def test_nested_calls_restore_the_outer_one() -> None:
    with tool_call_id("outer") as outer:
        with tool_call_id("inner") as inner:
            assert inner is current_call()
        assert outer is current_call()
    assert ("outer", "inner") == (outer.call_id, inner.call_id)


def test_a_call_reaches_tasks_and_threads() -> None:
    async def scenario() -> tuple[CallContext | None, CallContext | None, CallContext]:
        with tool_call_id("c1") as call:
            in_task = await asyncio.create_task(asyncio.sleep(0, current_call()))
            in_thread = await asyncio.to_thread(current_call)
        return in_task, in_thread, call

    in_task, in_thread, call = asyncio.run(scenario())
    assert (call, call) == (in_task, in_thread)


@pytest.mark.parametrize("bad", ["", 7, None])
def test_tool_call_id_rejects_what_is_not_a_non_empty_str(bad: object) -> None:
    with pytest.raises(TypeError, match="call_id must be a non-empty str"), tool_call_id(bad):  # type: ignore[arg-type]
        pass
