"""ToolExecutor and RetryPolicy: validation, threads, timeouts, retries, caching."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import logging
import pickle
import random
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from execproto.context import execution_context
from execproto.errors import (
    InvalidOperationError,
    OperationNotFoundError,
    OperationTimeoutError,
    RetryExhaustedError,
    ToolNotFoundError,
)
from execproto.protocols import IToolExecutor
from execproto.runtime.cache import MemoryCacheProvider
from execproto.runtime.executor import NAMESPACE_ATTRIBUTE, RetryPolicy, ToolExecutor
from execproto.runtime.monitoring import Monitor
from execproto.runtime.registry import ToolRegistry, operation
from execproto.typed import ITypedToolExecutor

# Bounds how long a test waits for an event that a correct executor sets at once; a broken
# executor makes the test fail after it, never pass. Not a measurement.
WAIT = 5.0

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class Flaky(ConnectionError):
    """A transient error the default retry policy retries."""


class Calculator:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def add(self, a: int, b: int = 0) -> int:
        self.calls.append("add")
        return a + b

    async def add_async(self, a: int, b: int = 0) -> int:
        self.calls.append("add_async")
        return a + b

    def echo(self, tool: str, operation_name: str) -> tuple[str, str]:
        return tool, operation_name

    def scale(self, x: Annotated[int, Field(gt=0)], factor: float = 1.0) -> float:
        return x * factor

    def untyped(self, value):  # type: ignore[no-untyped-def]
        return value

    def context(self) -> tuple[str, str]:
        return request_id.get(), threading.current_thread().name

    def fail(self, error: BaseException) -> None:
        self.calls.append("fail")
        raise error

    @property
    def evaluated(self) -> str:
        self.calls.append("property evaluated")
        raise AssertionError("evaluated")

    def _private(self) -> None:
        self.calls.append("private ran")


class Mailer:
    """Non-idempotent by default: never retried, never cached."""

    def __init__(self) -> None:
        self.sent = 0

    def send_email(self, to: str) -> str:
        self.sent += 1
        raise Flaky(f"smtp down for {to}")

    def compose(self, to: str) -> str:
        self.sent += 1
        return f"mail to {to}"


class Service:
    """Idempotent operations that fail a given number of times first."""

    def __init__(self, failures: int = 0, error: type[Exception] = Flaky) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    @operation(idempotent=True)
    def get(self, key: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return f"value of {key}"

    @operation(idempotent=True)
    async def get_async(self, key: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return f"value of {key}"

    @operation(idempotent=True)
    def nothing(self) -> None:
        self.calls += 1

    @operation(idempotent=True, cacheable=False)
    def now(self) -> int:
        self.calls += 1
        return self.calls

    @operation(cacheable=True)
    def render(self, text: str) -> str:
        self.calls += 1
        return text.upper()

    @operation(idempotent=True)
    def lookup(self, item: object) -> str:
        self.calls += 1
        return "found"


class Other:
    """A second tool with the same operation name as Service."""

    @operation(idempotent=True)
    def get(self, key: str) -> str:
        return f"other {key}"


class Blocking:
    """Sync operations that block on events, to observe threads and timeouts."""

    def __init__(self, parties: int = 1) -> None:
        self.barrier = threading.Barrier(parties, timeout=WAIT)
        self.release = threading.Event()
        self.entered = threading.Event()
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def meet(self) -> str:
        # Passes only if all parties are inside at the same time: a serialised executor
        # breaks the barrier (BrokenBarrierError) instead of passing.
        with self.lock:
            self.threads.add(threading.current_thread().name)
        self.barrier.wait()
        return "met"

    def wait_for_loop(self) -> bool:
        self.entered.set()
        return self.release.wait(WAIT)

    @operation(timeout=0.05)
    def stuck(self) -> str:
        self.release.wait(WAIT)
        return "late"

    @operation(timeout=0.05)
    async def stuck_async(self) -> str:
        await asyncio.Event().wait()
        return "never"

    @operation(timeout=WAIT)
    def own_timeout(self) -> None:
        raise TimeoutError("the tool's own timeout")

    @operation(timeout=WAIT)
    async def own_timeout_async(self) -> None:
        raise TimeoutError("the tool's own timeout")

    @operation(idempotent=True, timeout=0.05)
    def stuck_idempotent(self) -> str:
        self.release.wait(WAIT)
        return "late"


class DictCache:
    """A minimal ICacheProvider without lookup(): a cached None looks like a miss."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.keys: list[tuple[str, str, str, dict[str, Any]]] = []

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        self.keys.append((operation_type, user_id, task_id, kwargs))
        return repr((operation_type, user_id, task_id, args, sorted(kwargs.items())))

    def get_from_cache(self, cache_key: str) -> Any | None:
        return self.data.get(cache_key)

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self.data[cache_key] = value


class BrokenStoreCache(DictCache):
    def add_to_cache(self, cache_key: str, value: Any) -> None:
        raise OSError("disk full")


class RecordingMonitor:
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    @contextmanager
    def track(self, tool_name: str, operation_name: str) -> Iterator[RecordingMonitor]:
        self.events.append(("enter", tool_name, operation_name))
        try:
            yield self
        except BaseException as err:
            self.events.append(("error", type(err).__name__))
            raise
        self.events.append(("exit",))

    def set_result(self, result: object) -> None:
        self.events.append(("result", repr(result)))


def no_sleep_policy(**overrides: Any) -> tuple[RetryPolicy, list[float]]:
    delays: list[float] = []

    async def async_sleep(delay: float) -> None:
        delays.append(delay)

    policy = RetryPolicy(
        **{
            "sleep": delays.append,
            "async_sleep": async_sleep,
            "random": lambda: 0.5,
            "jitter": "none",
            **overrides,
        }
    )
    return policy, delays


def call(executor: ToolExecutor, path: str, tool: object, name: str, **params: Any) -> Any:
    """Run one call through ``execute`` (path "sync") or ``execute_async`` (path "async")."""
    if path == "sync":
        return executor.execute(tool, name, **params)
    return asyncio.run(executor.execute_async(tool, name, **params))


@pytest.fixture
def executor() -> Iterator[ToolExecutor]:
    with ToolExecutor() as executor:
        yield executor


# -- conformance and basic calls ----------------------------------------------------------


def test_executor_conforms_to_both_executor_protocols(executor: ToolExecutor) -> None:
    assert isinstance(executor, IToolExecutor)
    assert isinstance(executor, ITypedToolExecutor)


async def test_sync_and_async_operations_through_both_paths(executor: ToolExecutor) -> None:
    tool = Calculator()

    assert 5 == await executor.execute_async(tool, "add", a=2, b=3)
    assert 5 == await executor.execute_async(tool, "add_async", a=2, b=3)
    assert 5 == await asyncio.to_thread(executor.execute, tool, "add", a=2, b=3)
    assert 5 == await asyncio.to_thread(executor.execute, tool, "add_async", a=2, b=3)


@settings(max_examples=20, deadline=None)
@given(st.integers(), st.integers())
def test_sync_and_async_paths_agree(a: int, b: int) -> None:
    with ToolExecutor() as executor:
        tool = Calculator()
        expected = executor.execute(tool, "add", a=a, b=b)

        assert expected == asyncio.run(executor.execute_async(tool, "add_async", a=a, b=b))
        assert expected == executor.execute(tool, "add_async", a=a, b=b)


async def test_parameters_named_tool_and_operation_name_reach_the_operation(
    executor: ToolExecutor,
) -> None:
    tool = Calculator()

    result = await executor.execute_async(tool, "echo", tool="t", operation_name="o")

    assert ("t", "o") == result
    assert ("t", "o") == executor.execute(tool, "echo", tool="t", operation_name="o")


async def test_execute_of_an_async_operation_inside_a_running_loop_is_refused(
    executor: ToolExecutor,
) -> None:
    tool = Calculator()

    with pytest.raises(RuntimeError, match="execute_async"):
        executor.execute(tool, "add_async", a=1)
    assert [] == tool.calls


def test_a_sync_function_returning_a_coroutine_is_run(executor: ToolExecutor) -> None:
    class Wrapped:
        def hidden_async(self) -> Any:
            async def inner() -> str:
                return "ran"

            return inner()

    assert "ran" == executor.execute(Wrapped(), "hidden_async")
    assert "ran" == asyncio.run(executor.execute_async(Wrapped(), "hidden_async"))


# -- what may be invoked ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["evaluated", "_private", "__init__", "calls", "missing"])
async def test_only_operations_can_be_invoked(executor: ToolExecutor, name: str) -> None:
    tool = Calculator()

    with pytest.raises(OperationNotFoundError):
        executor.execute(tool, name)
    with pytest.raises(OperationNotFoundError):
        await executor.execute_async(tool, name)
    assert [] == tool.calls


def test_unknown_operation_is_a_value_error_naming_the_operations(
    executor: ToolExecutor,
) -> None:
    with pytest.raises(ValueError, match="operations of Calculator: add, add_async"):
        executor.execute(Calculator(), "subtract")


# -- parameters ---------------------------------------------------------------------------


def test_missing_parameter_is_named_and_nothing_runs(executor: ToolExecutor) -> None:
    tool = Calculator()

    with pytest.raises(InvalidOperationError, match="missing a required argument: 'a'"):
        executor.execute(tool, "add", b=1)
    assert [] == tool.calls


async def test_unexpected_parameter_is_named_and_nothing_runs(executor: ToolExecutor) -> None:
    tool = Calculator()

    with pytest.raises(InvalidOperationError, match="unexpected keyword argument 'c'"):
        await executor.execute_async(tool, "add_async", a=1, c=2)
    assert [] == tool.calls


def test_parameters_are_converted_to_their_annotated_types(executor: ToolExecutor) -> None:
    assert 5 == executor.execute(Calculator(), "add", a="2", b=3)


def test_invalid_parameter_type_is_named(executor: ToolExecutor) -> None:
    tool = Calculator()

    with pytest.raises(InvalidOperationError, match=r"parameter 'a'.*got 'two' of type str"):
        executor.execute(tool, "add", a="two")
    assert [] == tool.calls


def test_annotated_constraints_are_checked(executor: ToolExecutor) -> None:
    with pytest.raises(InvalidOperationError, match="parameter 'x'"):
        executor.execute(Calculator(), "scale", x=0)
    assert 3.0 == executor.execute(Calculator(), "scale", x=2, factor=1.5)


def test_unannotated_parameters_pass_through(executor: ToolExecutor) -> None:
    value = object()

    assert value is executor.execute(Calculator(), "untyped", value=value)


class Greeter(Protocol):
    def greet(self) -> str: ...


class Host:
    def call(self, greeter: Greeter, times: int = 1) -> str:
        return greeter.greet() * times


class English:
    def greet(self) -> str:
        return "hello"


def test_annotations_that_cannot_be_checked_at_run_time_are_not_validated(
    executor: ToolExecutor,
) -> None:
    assert "hello" == executor.execute(Host(), "call", greeter=English())
    # The other parameters are still checked and converted.
    assert "hellohello" == executor.execute(Host(), "call", greeter=English(), times="2")
    with pytest.raises(InvalidOperationError, match="parameter 'times'"):
        executor.execute(Host(), "call", greeter=English(), times="twice")


def test_annotations_that_cannot_be_resolved_leave_the_others_validated(
    executor: ToolExecutor,
) -> None:
    class Local:
        pass

    class Tool:
        def run(self, item: Local, count: int) -> int:
            return count

    assert 3 == executor.execute(Tool(), "run", item=Local(), count="3")


@pytest.mark.parametrize("path", ["sync", "async"])
def test_values_of_exactly_the_annotated_type_pass_and_near_misses_are_converted(
    executor: ToolExecutor, path: str
) -> None:
    class Kinds:
        def kinds(self, n: int, x: float, s: str, flag: bool) -> list[object]:
            return [n, x, s, flag]

    class Text(str):
        pass

    text = "a string long enough not to be interned by accident"
    exact = call(executor, path, Kinds(), "kinds", n=2**70, x=float("inf"), s=text, flag=False)
    near = call(executor, path, Kinds(), "kinds", n=True, x=2, s=Text("t"), flag=1)

    assert [2**70, float("inf"), text, False] == exact
    assert text is exact[2]
    assert [(1, int), (2.0, float), ("t", str), (True, bool)] == [(v, type(v)) for v in near]
    with pytest.raises(InvalidOperationError, match=r"parameter 'n'.*got 2.5 of type float"):
        call(executor, path, Kinds(), "kinds", n=2.5, x=1.0, s="s", flag=True)


def test_static_and_class_method_operations_bind_like_attribute_access(
    executor: ToolExecutor,
) -> None:
    class Binding:
        @staticmethod
        def static(a: int) -> int:
            return a

        @classmethod
        def klass(cls, a: int) -> tuple[str, int]:
            return cls.__name__, a

        def method(self, a: int, /, *rest: int) -> tuple[bool, int]:
            return isinstance(self, Binding), a

    tool = Binding()

    assert 1 == executor.execute(tool, "static", a=1)
    assert ("Binding", 2) == asyncio.run(executor.execute_async(tool, "klass", a=2))
    assert 4 == executor.execute(tool, "static", a="4")
    with pytest.raises(InvalidOperationError, match="positional"):
        executor.execute(tool, "method", a=3)


def test_type_validation_can_be_switched_off() -> None:
    with ToolExecutor(validate_types=False) as executor:
        assert "22" == executor.execute(Calculator(), "add", a="2", b="2")


def test_signatures_beyond_keywords_are_bound_by_the_signature(executor: ToolExecutor) -> None:
    class Shapes:
        def positional_only(self, a: int, /) -> int:
            return a

        def open_ended(self, a: int, **rest: int) -> int:
            return a + sum(rest.values())

    with pytest.raises(InvalidOperationError, match="positional"):
        executor.execute(Shapes(), "positional_only", a=1)
    assert 6 == executor.execute(Shapes(), "open_ended", a=1, b=2, c=3)


# -- tools by name ------------------------------------------------------------------------


def test_registered_name_can_stand_for_the_tool() -> None:
    registry = ToolRegistry({"calc": Calculator()})

    with ToolExecutor(registry) as executor:
        assert 3 == executor.execute("calc", "add", a=1, b=2)
        with pytest.raises(ToolNotFoundError):
            executor.execute("calculator", "add", a=1)
        with pytest.raises(OperationNotFoundError, match="calc has no operation"):
            executor.execute("calc", "nope")


def test_any_tool_provider_can_resolve_names() -> None:
    class Provider:
        def __init__(self) -> None:
            self.tools = {"calc": Calculator()}

        def get_tool(self, tool_name: str) -> Any:
            return self.tools[tool_name]

        def has_tool(self, tool_name: str) -> bool:
            return tool_name in self.tools

    cache = DictCache()
    with ToolExecutor(Provider(), cache=cache) as executor:
        assert 3 == executor.execute("calc", "add", a=1, b=2)
        executor.execute(Service(), "get", key="k")

    assert ["tests.runtime.test_executor.Service.get"] == [key[0] for key in cache.keys]


def test_a_name_without_a_registry_is_refused(executor: ToolExecutor) -> None:
    with pytest.raises(InvalidOperationError, match="give the executor a registry"):
        executor.execute("calc", "add", a=1)


# -- threads and the event loop -----------------------------------------------------------


async def test_sync_operations_run_in_parallel_from_execute_async() -> None:
    tool = Blocking(parties=5)

    with ToolExecutor(max_workers=5) as executor:
        results = await asyncio.gather(*(executor.execute_async(tool, "meet") for _ in range(5)))

    assert ["met"] * 5 == results
    assert 5 == len(tool.threads)


async def test_event_loop_keeps_running_while_a_sync_operation_runs(
    executor: ToolExecutor,
) -> None:
    tool = Blocking()
    call = asyncio.ensure_future(executor.execute_async(tool, "wait_for_loop"))
    # Only the loop can release the operation: if the operation held the loop, this
    # coroutine would not run until the operation had given up waiting (and returned False).
    await asyncio.to_thread(tool.entered.wait, WAIT)
    tool.release.set()

    assert await call is True


async def test_contextvars_reach_the_worker_thread(executor: ToolExecutor) -> None:
    request_id.set("req-42")

    value, thread = await executor.execute_async(Calculator(), "context")

    assert "req-42" == value
    assert thread.startswith("execproto-tool")


async def test_pool_is_bounded_by_max_workers() -> None:
    tool = Calculator()
    with ToolExecutor(max_workers=2) as executor:
        results = await asyncio.gather(
            *(executor.execute_async(tool, "context") for _ in range(20))
        )

    assert 2 >= len({thread for _, thread in results})


def test_execute_from_many_threads_at_once(executor: ToolExecutor) -> None:
    tool = Calculator()
    results: list[int] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        for _ in range(50):
            value = executor.execute(tool, "add", a=index, b=1)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(i + 1 for i in range(8) for _ in range(50)) == sorted(results)


# -- timeouts -----------------------------------------------------------------------------


async def test_async_operation_past_its_timeout_raises_and_is_cancelled(
    executor: ToolExecutor,
) -> None:
    with pytest.raises(OperationTimeoutError, match=r"within 0\.05 s") as caught:
        await executor.execute_async(Blocking(), "stuck_async")

    assert isinstance(caught.value, TimeoutError)
    assert "cancelled" in str(caught.value)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_sync_operation_past_its_timeout_raises(executor: ToolExecutor, path: str) -> None:
    tool = Blocking()
    try:
        with pytest.raises(OperationTimeoutError, match="keeps running in its worker thread"):
            call(executor, path, tool, "stuck")
    finally:
        tool.release.set()


def test_executor_default_timeout_applies_to_unmarked_operations() -> None:
    tool = Blocking()
    with ToolExecutor(timeout=0.05) as executor:
        try:
            with pytest.raises(OperationTimeoutError):
                executor.execute(tool, "wait_for_loop")
        finally:
            tool.release.set()


@pytest.mark.parametrize("name", ["own_timeout", "own_timeout_async"])
async def test_the_tools_own_timeout_error_is_not_mistaken_for_the_executors(
    executor: ToolExecutor, name: str
) -> None:
    with pytest.raises(TimeoutError, match="the tool's own timeout") as caught:
        await executor.execute_async(Blocking(), name)

    assert not isinstance(caught.value, OperationTimeoutError)


def test_timeouts_of_idempotent_operations_are_retried() -> None:
    policy, delays = no_sleep_policy(max_attempts=2)
    tool = Blocking()
    with ToolExecutor(retry=policy) as executor:
        try:
            with pytest.raises(RetryExhaustedError) as caught:
                executor.execute(tool, "stuck_idempotent")
        finally:
            tool.release.set()

    assert 2 == caught.value.attempts
    assert isinstance(caught.value.__cause__, OperationTimeoutError)
    assert 1 == len(delays)


async def test_cancelling_the_caller_cancels_an_async_operation_with_a_timeout(
    executor: ToolExecutor,
) -> None:
    started = asyncio.Event()
    cleaned_up = asyncio.Event()

    class Slow:
        @operation(timeout=WAIT)
        async def run(self) -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                cleaned_up.set()

    call = asyncio.ensure_future(executor.execute_async(Slow(), "run"))
    await started.wait()
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    # The operation's task is cancelled too, not left waiting forever.
    await asyncio.wait_for(cleaned_up.wait(), WAIT)


async def test_cancelling_the_caller_of_a_sync_operation_leaves_the_loop_running(
    executor: ToolExecutor,
) -> None:
    tool = Blocking()
    call = asyncio.ensure_future(executor.execute_async(tool, "wait_for_loop"))
    await asyncio.to_thread(tool.entered.wait, WAIT)
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    tool.release.set()
    assert 3 == await executor.execute_async(Calculator(), "add", a=1, b=2)


async def test_a_burst_of_sync_operations_gets_each_its_own_result() -> None:
    with ToolExecutor(max_workers=2) as executor:
        results = await asyncio.gather(
            *(executor.execute_async(Calculator(), "add", a=i, b=i) for i in range(200))
        )

    assert [2 * i for i in range(200)] == results


async def test_a_cancelled_sync_call_still_queued_never_runs() -> None:
    tool = Blocking()
    counter = Calculator()
    with ToolExecutor(max_workers=1) as executor:
        first = asyncio.ensure_future(executor.execute_async(tool, "wait_for_loop"))
        await asyncio.to_thread(tool.entered.wait, WAIT)
        queued = asyncio.ensure_future(executor.execute_async(counter, "add", a=1))
        await asyncio.sleep(0)  # let it reach the pool's queue
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        tool.release.set()
        assert await first
        assert 5 == await executor.execute_async(counter, "add", a=2, b=3)

    assert ["add"] == counter.calls


def test_a_result_arriving_after_its_loop_closed_is_dropped_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tool = Blocking()
    with ToolExecutor() as executor:
        with pytest.raises(OperationTimeoutError):
            asyncio.run(executor.execute_async(tool, "stuck"))
        tool.release.set()
    # Leaving the with block waited for the thread, whose result found the loop closed.

    assert [] == [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["get", "get_async"])
def test_idempotent_operation_is_retried_on_retryable_errors(name: str) -> None:
    policy, delays = no_sleep_policy(max_attempts=3, base_delay=0.5, multiplier=3.0)
    tool = Service(failures=2)
    with ToolExecutor(retry=policy) as executor:
        result = executor.execute(tool, name, key="k")

    assert "value of k" == result
    assert 3 == tool.calls
    assert [0.5, 1.5] == delays


async def test_async_path_retries_with_the_async_sleep() -> None:
    policy, delays = no_sleep_policy(max_attempts=3, base_delay=0.25)
    tool = Service(failures=1)
    with ToolExecutor(retry=policy) as executor:
        assert "value of k" == await executor.execute_async(tool, "get_async", key="k")

    assert [0.25] == delays


@pytest.mark.parametrize("path", ["sync", "async"])
def test_non_idempotent_operation_is_never_retried_and_its_error_is_raised_unchanged(
    path: str,
) -> None:
    policy, delays = no_sleep_policy(max_attempts=5)
    mailer = Mailer()
    with ToolExecutor(retry=policy) as executor, pytest.raises(Flaky) as caught:
        call(executor, path, mailer, "send_email", to="a@example.com")

    assert 1 == mailer.sent
    assert [] == delays
    assert "smtp down for a@example.com" == str(caught.value)


def test_non_retryable_error_is_raised_unchanged_after_one_attempt() -> None:
    policy, delays = no_sleep_policy(max_attempts=5)
    tool = Service(failures=1, error=KeyError)
    with ToolExecutor(retry=policy) as executor, pytest.raises(KeyError):
        executor.execute(tool, "get", key="k")

    assert 1 == tool.calls
    assert [] == delays


def test_original_exception_object_reaches_the_caller(executor: ToolExecutor) -> None:
    error = ValueError("the tool's own error")

    with pytest.raises(ValueError, match="the tool's own error") as caught:
        executor.execute(Calculator(), "fail", error=error)

    assert error is caught.value


async def test_an_async_operations_own_error_reaches_execute_async_unchanged(
    executor: ToolExecutor,
) -> None:
    error = ValueError("the async tool's own error")

    class Failing:
        async def fail(self) -> None:
            raise error

    with pytest.raises(ValueError, match="the async tool's own error") as caught:
        await executor.execute_async(Failing(), "fail")

    assert error is caught.value
    assert caught.value.__context__ is None


@pytest.mark.parametrize("name", ["get", "get_async"])
def test_exhausted_retries_raise_retry_exhausted_chained_from_the_last_error(
    name: str,
) -> None:
    policy, delays = no_sleep_policy(max_attempts=3)
    tool = Service(failures=10)
    with ToolExecutor(retry=policy) as executor, pytest.raises(RetryExhaustedError) as caught:
        executor.execute(tool, name, key="k")

    error = caught.value
    assert 3 == error.attempts
    assert 3 == tool.calls
    assert 2 == len(delays)
    assert isinstance(error.__cause__, Flaky)
    assert "failure 3" == str(error.__cause__)
    assert repr(error.__cause__) in str(error)


@pytest.mark.parametrize("name", ["get", "get_async"])
async def test_exhausted_retries_from_execute_async_are_chained_like_from_execute(
    name: str,
) -> None:
    policy, delays = no_sleep_policy(max_attempts=3)
    tool = Service(failures=10)
    with ToolExecutor(retry=policy) as executor, pytest.raises(RetryExhaustedError) as caught:
        await executor.execute_async(tool, name, key="k")

    assert 3 == caught.value.attempts
    assert 3 == tool.calls
    assert [0.1, 0.2] == delays
    assert "failure 3" == str(caught.value.__cause__)
    assert caught.value.__cause__ is caught.value.__context__


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_non_retryable_error_after_a_retry_is_raised_as_itself(path: str) -> None:
    # Attempts were not exhausted: the operation failed for a reason retrying cannot fix,
    # and "retry later, or allow more attempts" would be the wrong advice.
    second = KeyError("second")

    class Worsening:
        def __init__(self) -> None:
            self.errors: list[Exception] = [Flaky("first"), second]
            self.calls = 0

        @operation(idempotent=True)
        def get(self) -> None:
            self.calls += 1
            raise self.errors.pop(0)

    policy, delays = no_sleep_policy(max_attempts=5)
    tool = Worsening()
    with ToolExecutor(retry=policy) as executor, pytest.raises(KeyError) as caught:
        call(executor, path, tool, "get")

    assert second is caught.value
    assert 2 == tool.calls
    assert 1 == len(delays)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_retry_exhausted_only_when_the_last_error_was_retryable(path: str) -> None:
    class Alternating:
        def __init__(self) -> None:
            self.errors: list[Exception] = [Flaky("first"), TimeoutError("second")]

        @operation(idempotent=True)
        def get(self) -> None:
            raise self.errors.pop(0)

    policy, _ = no_sleep_policy(max_attempts=2)
    with ToolExecutor(retry=policy) as executor, pytest.raises(RetryExhaustedError) as caught:
        call(executor, path, Alternating(), "get")

    assert 2 == caught.value.attempts
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_retry_policy_with_one_attempt_never_retries() -> None:
    policy, _ = no_sleep_policy(max_attempts=1)
    tool = Service(failures=1)
    with ToolExecutor(retry=policy) as executor, pytest.raises(Flaky):
        executor.execute(tool, "get", key="k")

    assert 1 == tool.calls


def test_cancellation_is_never_retried() -> None:
    class Cancelled:
        def __init__(self) -> None:
            self.calls = 0

        @operation(idempotent=True)
        async def run(self) -> None:
            self.calls += 1
            raise asyncio.CancelledError

    policy, _ = no_sleep_policy(max_attempts=3, retry_on=(BaseException,))
    tool = Cancelled()
    with ToolExecutor(retry=policy) as executor, pytest.raises(asyncio.CancelledError):
        asyncio.run(executor.execute_async(tool, "run"))

    assert 1 == tool.calls


# -- RetryPolicy --------------------------------------------------------------------------


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, max_delay=5.0, jitter="none")

    assert [1.0, 2.0, 4.0, 5.0, 5.0] == [policy.delay(n) for n in range(1, 6)]
    assert 5.0 == policy.delay(100_000)


def test_full_and_equal_jitter() -> None:
    full = RetryPolicy(base_delay=4.0, jitter="full", random=lambda: 0.25)
    equal = RetryPolicy(base_delay=4.0, jitter="equal", random=lambda: 0.25)

    assert 1.0 == full.delay(1)
    assert 2.5 == equal.delay(1)


@settings(max_examples=50, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    jitter=st.sampled_from(["full", "equal", "none"]),
    base=st.floats(min_value=0.0, max_value=100.0),
    maximum=st.floats(min_value=0.0, max_value=100.0),
)
def test_delay_is_always_within_zero_and_max_delay(
    attempt: int, draw: float, jitter: Any, base: float, maximum: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=maximum, jitter=jitter, random=lambda: draw)

    assert 0.0 <= policy.delay(attempt) <= maximum


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": 1.5}, TypeError),
        ({"max_attempts": True}, TypeError),
        ({"base_delay": -1.0}, ValueError),
        ({"max_delay": float("inf")}, ValueError),
        ({"multiplier": 0.5}, ValueError),
        ({"jitter": "half"}, ValueError),
        ({"retry_on": ValueError}, TypeError),
        ({"retry_on": (ValueError, "x")}, TypeError),
    ],
)
def test_retry_policy_refuses_bad_settings(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        RetryPolicy(**kwargs)


def test_default_policy_retries_transient_errors_only() -> None:
    policy = RetryPolicy()

    assert policy.retries(ConnectionResetError(), 1)
    assert policy.retries(OperationTimeoutError("x"), 1)
    assert not policy.retries(ValueError(), 1)
    assert not policy.retries(ConnectionError(), 3)


# -- caching ------------------------------------------------------------------------------


def test_idempotent_results_are_cached() -> None:
    tool = Service()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        first = executor.execute(tool, "get", key="k")
        second = executor.execute(tool, "get", key="k")
        third = asyncio.run(executor.execute_async(tool, "get", key="k"))

    assert ["value of k"] * 3 == [first, second, third]
    assert 1 == tool.calls


def test_non_idempotent_results_are_never_cached() -> None:
    mailer = Mailer()
    cache = DictCache()
    with ToolExecutor(cache=cache) as executor:
        executor.execute(mailer, "compose", to="a")
        executor.execute(mailer, "compose", to="a")

    assert 2 == mailer.sent
    assert [] == cache.keys


def test_cacheable_flag_overrides_the_idempotent_default() -> None:
    tool = Service()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        assert [1, 2] == [executor.execute(tool, "now") for _ in range(2)]
        executor.execute(tool, "render", text="a")
        executor.execute(tool, "render", text="a")

    assert 3 == tool.calls


def test_cache_keys_are_scoped_by_user_and_task() -> None:
    tool = Service()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        for user, task in [("u1", "t1"), ("u2", "t1"), ("u1", "t2"), ("u1", "t1")]:
            with execution_context(user_id=user, task_id=task):
                executor.execute(tool, "get", key="k")

    assert 3 == tool.calls


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", ""]), st.sampled_from(["t1", "t2"]))))
def test_each_user_and_task_gets_its_own_results(scopes: list[tuple[str, str]]) -> None:
    tool = Service()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        for user, task in scopes:
            with execution_context(user_id=user, task_id=task):
                executor.execute(tool, "get", key="k")

    assert len(set(scopes)) == tool.calls


def test_cache_keys_are_scoped_by_tool() -> None:
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        service = executor.execute(Service(), "get", key="k")
        other = executor.execute(Other(), "get", key="k")

    assert ("value of k", "other k") == (service, other)


def test_keys_name_the_tool_by_class_path_then_registered_name_then_namespace() -> None:
    cache = DictCache()
    registry = ToolRegistry()
    named = registry.register("search_en", Service())
    spaced = Service()
    setattr(spaced, NAMESPACE_ATTRIBUTE, "fr")
    with ToolExecutor(registry, cache=cache) as executor:
        executor.execute(Service(), "get", key="k")
        executor.execute(named, "get", key="k")
        executor.execute(spaced, "get", key="k")

    expected = [
        "tests.runtime.test_executor.Service.get",
        "search_en.get",
        "tests.runtime.test_executor.Service[fr].get",
    ]
    assert expected == [key[0] for key in cache.keys]


class _Plain:
    pass


class _ClassNamespace:
    __execproto_namespace__ = "class-level"


class _Slotted:
    __slots__ = ("value",)


class _OwnDict:
    @property
    def __dict__(self) -> dict[str, object]:  # type: ignore[override]
        return {NAMESPACE_ATTRIBUTE: "from a property"}


class _Dynamic:
    def __getattr__(self, name: str) -> str:
        return "dynamic"


def _with_namespace(tool: object, namespace: str) -> object:
    setattr(tool, NAMESPACE_ATTRIBUTE, namespace)
    return tool


@pytest.mark.parametrize(
    "tool",
    [
        _Plain(),
        _with_namespace(_Plain(), "instance-level"),
        _ClassNamespace(),
        _with_namespace(_ClassNamespace(), "instance wins over a plain class value"),
        _Slotted(),
        _OwnDict(),
        _Dynamic(),
        _Plain,
    ],
    ids=["plain", "instance", "class", "both", "slots", "dict-property", "getattr", "a-class"],
)
def test_the_namespace_is_read_as_getattr_static_reads_it(tool: object) -> None:
    # Whatever shortcut the executor takes, the identity is what getattr_static implies.
    executor = ToolExecutor()
    base = f"{type(tool).__module__}.{type(tool).__qualname__}"
    namespace = inspect.getattr_static(tool, NAMESPACE_ATTRIBUTE, None)
    expected = base if namespace is None else f"{base}[{namespace}]"

    assert expected == executor.tool_identity(tool)


def test_namespace_must_be_a_plain_string() -> None:
    class Configured(Service):
        @property
        def __execproto_namespace__(self) -> str:
            raise AssertionError("evaluated")

    with ToolExecutor(cache=DictCache()) as executor, pytest.raises(TypeError, match="plain str"):
        executor.execute(Configured(), "get", key="k")


def test_equivalent_calls_share_a_key_with_defaults_filled_in() -> None:
    class Defaults:
        def __init__(self) -> None:
            self.calls = 0

        @operation(idempotent=True)
        def get(self, key: str, limit: int = 10) -> int:
            self.calls += 1
            return limit

    tool = Defaults()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        executor.execute(tool, "get", key="k")
        executor.execute(tool, "get", key="k", limit=10)

    assert 1 == tool.calls


def test_unencodable_arguments_mean_no_caching_not_failure() -> None:
    tool = Service()
    item = object()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        assert "found" == executor.execute(tool, "lookup", item=item)
        assert "found" == executor.execute(tool, "lookup", item=item)

    assert 2 == tool.calls


def test_a_cached_none_is_a_hit_with_a_lookup_cache() -> None:
    tool = Service()
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        executor.execute(tool, "nothing")
        executor.execute(tool, "nothing")
        asyncio.run(executor.execute_async(tool, "nothing"))

    assert 1 == tool.calls


def test_a_cached_none_is_a_miss_through_get_from_cache() -> None:
    tool = Service()
    with ToolExecutor(cache=DictCache()) as executor:
        executor.execute(tool, "nothing")
        executor.execute(tool, "nothing")

    assert 2 == tool.calls


def test_failed_calls_are_not_cached() -> None:
    policy, _ = no_sleep_policy(max_attempts=1)
    tool = Service(failures=1)
    with ToolExecutor(cache=MemoryCacheProvider(), retry=policy) as executor:
        with pytest.raises(Flaky):
            executor.execute(tool, "get", key="k")
        assert "value of k" == executor.execute(tool, "get", key="k")


def test_a_cache_that_cannot_store_does_not_lose_the_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        ToolExecutor(cache=BrokenStoreCache()) as executor,
        caplog.at_level(logging.WARNING, logger="execproto.runtime.executor"),
    ):
        result = executor.execute(Service(), "get", key="k")

    assert "value of k" == result
    assert ["could not cache a result"] == [
        r.getMessage().split(" under")[0] for r in caplog.records
    ]


class BrokenReadCache(DictCache):
    def get_from_cache(self, cache_key: str) -> Any | None:
        raise ConnectionError("cache server down")


class BrokenLookupCache(MemoryCacheProvider):
    def lookup(self, cache_key: str, /) -> tuple[bool, Any]:
        raise ConnectionError("cache server down")

    async def lookup_async(self, cache_key: str, /) -> tuple[bool, Any]:
        raise ConnectionError("cache server down")


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize("cache_type", [BrokenReadCache, BrokenLookupCache])
def test_a_cache_that_cannot_be_read_is_a_miss_not_a_failure(
    caplog: pytest.LogCaptureFixture, path: str, cache_type: type[Any]
) -> None:
    tool = Service()
    with (
        ToolExecutor(cache=cache_type()) as executor,
        caplog.at_level(logging.WARNING, logger="execproto.runtime.executor"),
    ):
        result = call(executor, path, tool, "get", key="k")

    assert "value of k" == result
    assert 1 == tool.calls
    assert any("treated as a miss" in r.getMessage() for r in caplog.records)


class SlowCache(DictCache):
    """A third-party sync cache whose reads wait until the event loop has run meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.loop_ran = threading.Event()
        self.released: list[bool] = []
        self.threads: list[str] = []

    def get_from_cache(self, cache_key: str) -> Any | None:
        self.threads.append(threading.current_thread().name)
        self.released.append(self.loop_ran.wait(WAIT))
        return super().get_from_cache(cache_key)

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self.threads.append(threading.current_thread().name)
        super().add_to_cache(cache_key, value)


async def test_a_slow_sync_cache_does_not_stop_the_event_loop() -> None:
    cache = SlowCache()

    async def tick() -> None:
        await asyncio.sleep(0)
        cache.loop_ran.set()

    with ToolExecutor(cache=cache) as executor:
        ticker = asyncio.ensure_future(tick())
        result = await executor.execute_async(Service(), "get_async", key="k")
        await ticker

    assert "value of k" == result
    assert [True] == cache.released
    assert threading.current_thread().name not in cache.threads


class NonBlockingCache(DictCache):
    __execproto_nonblocking__ = True


async def test_a_cache_marked_nonblocking_is_called_on_the_loop() -> None:
    cache = NonBlockingCache()
    calls: list[str] = []

    def recording_get(cache_key: str) -> Any | None:
        calls.append(threading.current_thread().name)
        return DictCache.get_from_cache(cache, cache_key)

    cache.get_from_cache = recording_get  # type: ignore[method-assign]
    with ToolExecutor(cache=cache) as executor:
        await executor.execute_async(Service(), "get_async", key="k")

    assert [threading.current_thread().name] == calls


def test_cache_must_be_a_cache_provider() -> None:
    with pytest.raises(TypeError, match="ICacheProvider"):
        ToolExecutor(cache={})  # type: ignore[arg-type]


# -- lifecycle and hooks ------------------------------------------------------------------


def test_closed_executor_refuses_calls() -> None:
    executor = ToolExecutor()
    executor.close()
    executor.close()

    assert executor.closed
    with pytest.raises(RuntimeError, match="closed"):
        executor.execute(Calculator(), "add", a=1)


async def test_async_context_manager_closes() -> None:
    async with ToolExecutor() as executor:
        assert 2 == await executor.execute_async(Calculator(), "add", a=2)

    assert executor.closed
    with pytest.raises(RuntimeError, match="closed"):
        await executor.execute_async(Calculator(), "add", a=2)


def test_monitor_tracks_each_execution() -> None:
    monitor = RecordingMonitor()
    with ToolExecutor(monitor=monitor) as executor:
        executor.execute(Calculator(), "add", a=1)
        asyncio.run(executor.execute_async(Calculator(), "add_async", a=2))
        with pytest.raises(ValueError, match="boom"):
            executor.execute(Calculator(), "fail", error=ValueError("boom"))

    expected = [
        ("enter", "Calculator", "add"),
        ("result", "1"),
        ("exit",),
        ("enter", "Calculator", "add_async"),
        ("result", "2"),
        ("exit",),
        ("enter", "Calculator", "fail"),
        ("error", "ValueError"),
    ]
    assert expected == monitor.events


def test_the_monitoring_monitor_plugs_in() -> None:
    monitor = Monitor(tracing=False)
    registry = ToolRegistry({"calc": Calculator()})
    with ToolExecutor(registry, monitor=monitor) as executor:
        executor.execute("calc", "add", a=1)
        with pytest.raises(ValueError, match="boom"):
            asyncio.run(executor.execute_async("calc", "fail", error=ValueError("boom")))

    operations = monitor.metrics.snapshot()["operations"]
    assert (1, 0) == (operations["calc.add"]["count"], operations["calc.add"]["errors"])
    assert (1, 1) == (operations["calc.fail"]["count"], operations["calc.fail"]["errors"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"max_workers": 0}, ValueError),
    ],
)
def test_executor_refuses_bad_settings(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ToolExecutor(**kwargs)


# -- memory ---------------------------------------------------------------------------------


async def test_tool_classes_made_per_connection_are_collected_when_unused() -> None:
    references: list[weakref.ref[type]] = []
    with ToolExecutor(cache=MemoryCacheProvider()) as executor:
        for index in range(1000):

            class PerConnection(Calculator):
                offset = index

                def run(self, x: int) -> int:
                    return x + self.offset

                @operation(idempotent=True)
                async def chained(self, a: int) -> int:
                    return super().add(a)  # a __class__ cell refers to the class

            tool = PerConnection()
            assert index + 1 == executor.execute(tool, "run", x=1)
            assert index + 1 == await executor.execute_async(tool, "run", x=1)
            assert 2 == await executor.execute_async(tool, "chained", a=2)
            references.append(weakref.ref(PerConnection))
        del PerConnection, tool
        gc.collect()

        assert 1 >= sum(reference() is not None for reference in references)


# -- pickling -------------------------------------------------------------------------------


async def test_a_pickled_executor_executes_with_the_same_settings() -> None:
    registry = ToolRegistry({"calculator": Calculator()})
    policy = RetryPolicy(max_attempts=2, base_delay=0.5)
    with ToolExecutor(registry, retry=policy, timeout=WAIT, max_workers=2) as executor:
        executor.execute("calculator", "add", a=1)  # the pool and the handoff exist
        await executor.execute_async("calculator", "add", a=1)

        copy = pickle.loads(pickle.dumps(executor))

    with copy:
        assert 3 == copy.execute("calculator", "add", a=1, b=2)
        assert 3 == await copy.execute_async("calculator", "add_async", a=1, b=2)
        assert 5 == await copy.execute_async("calculator", "add", a=2, b=3)
        assert repr(executor).replace("closed", "open") == repr(copy)
        with pytest.raises(InvalidOperationError, match="'x'"):
            copy.execute("calculator", "scale", x="x")


def test_a_closed_executor_unpickles_closed() -> None:
    executor = ToolExecutor()
    executor.close()

    copy = pickle.loads(pickle.dumps(executor))

    assert copy.closed
    with pytest.raises(RuntimeError, match="closed"):
        copy.execute(Calculator(), "add", a=1)


def test_a_pickled_retry_policy_draws_from_its_own_processs_generator() -> None:
    policy = RetryPolicy(base_delay=1.0)
    copy = pickle.loads(pickle.dumps(policy))

    random.seed(7)
    expected = policy.delay(1)
    random.seed(7)

    assert expected == copy.delay(1)
