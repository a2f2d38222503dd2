"""Reusable pytest suites that prove an implementation keeps its protocol's promises.

A protocol says which methods exist; a contract says what they must do. Each suite checks
the guarantees written in the docstring of its protocol (:mod:`execproto.protocols`). To
prove an implementation, subclass the suite in a test module (the subclass's name must start
with ``Test`` so that pytest collects it) and implement its factory method::

    from execproto.testing import CacheProviderContract

    class TestMyCache(CacheProviderContract):
        maxsize = 128  # opt in to the size checks: the cache below holds at most 128 entries

        def make_cache(self):
            return MyCache(maxsize=128)

What a caller must know:

* Factories are plain methods, called once per test (or per hypothesis example), so each
  test gets a fresh implementation. After the test, :meth:`dispose` closes it (``close()``,
  awaited when it returns an awaitable); override it for other clean-up.
* Asynchronous methods are driven by :meth:`run`, which calls :func:`asyncio.run`: the
  suites need no async test plugin and work unchanged under pytest-asyncio's auto mode.
  Override :meth:`run` to drive another event loop; it must not be called from a running
  loop.
* Property checks run with the suite's ``hypothesis_settings`` (25 examples, no deadline);
  override the class attribute to run more.
* Optional behaviour is declared with class attributes (``maxsize``, ``ttl``,
  ``concurrency_limit``, ``supports_result_references``, ``cache_factory``) or by overriding
  an optional hook (``make_cache_with_clock``, ``register_tool``, ``unregister_tool``). A
  test whose behaviour is not declared is skipped with a message that says how to opt in.
* The implementation runs the kit's own tools (:class:`~execproto.testing.Calculator`,
  :class:`~execproto.testing.Probe`), which record what was done to them; they are shared
  Python objects, so an implementation that runs operations in other processes needs its
  own proof.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from hypothesis.strategies import SearchStrategy

from execproto.models import ErrorCode, TaskStatus
from execproto.testing import strategies
from execproto.testing._clock import ManualClock
from execproto.testing._tools import Calculator, ContractToolError, Probe

__all__ = [
    "CONTRACT_TASKS",
    "CacheProviderContract",
    "ExecutionInterfaceContract",
    "OperationExecutorContract",
    "ToolExecutorContract",
    "ToolProviderContract",
]

T = TypeVar("T")

# Each hypothesis-driven contract check builds a fresh implementation per example; a few
# dozen examples find the broken implementations in the kit's own tests while keeping a
# suite's run short on a small CI machine. Users raise it with a hypothesis profile.
# differing_executors is suppressed because running one suite method for several subclasses
# (several implementations) in one session is the point of a reusable suite; each example
# builds its implementation from `self`, so nothing leaks between them.
_EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
    ],
)
# How long the blocking-operation check waits for the event loop to release it. Bounds the
# hang on an implementation that blocks the loop; never compared with a measured time.
_GATE_TIMEOUT = 5.0


def _raised_from(error: BaseException, expected: type[BaseException]) -> bool:
    """Return whether *error* is *expected* or chains to one through ``__cause__``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, expected):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


class _Contract:
    """What every suite shares: driving coroutines, disposing of implementations, and the
    hypothesis settings of the property checks."""

    hypothesis_settings: ClassVar[settings] = _EXAMPLES
    """Settings of every hypothesis-driven check of the suite; override to run more (or
    fewer) examples, e.g. ``hypothesis_settings = settings(max_examples=500)``."""

    def examples(
        self, **strategies_: SearchStrategy[Any]
    ) -> Callable[[Callable[..., None]], Callable[[], None]]:
        """Decorate a check to run once per example drawn from *strategies_*, with
        :attr:`hypothesis_settings`; call the decorated check with no arguments.

        Raises:
            hypothesis.errors.HypothesisException: the strategies are invalid.
        """

        def decorate(check: Callable[..., None]) -> Callable[[], None]:
            return self.hypothesis_settings(given(**strategies_)(check))

        return decorate

    def run(self, awaitable: Coroutine[Any, Any, T]) -> T:
        """Run *awaitable* to completion on a fresh event loop and return its result.

        Override to drive another loop (uvloop, a loop your implementation owns).

        Raises:
            RuntimeError: called from a running event loop.
            Exception: whatever *awaitable* raised.
        """
        return asyncio.run(awaitable)

    def dispose(self, implementation: Any) -> None:
        """Release what *implementation* holds once a test is done with it.

        The default awaits ``implementation.aclose()`` when it exists, or else calls
        ``implementation.close()`` and runs its result when that is awaitable. Override for
        other clean-up.

        Raises:
            Exception: whatever ``aclose()`` or ``close()`` raised.
        """
        close = getattr(implementation, "aclose", None)
        if not callable(close):
            close = getattr(implementation, "close", None)
        if callable(close):
            result = close()
            if isinstance(result, Awaitable):
                self.run(_awaited(result))  # pyright: ignore[reportUnknownArgumentType]

    @contextmanager
    def _using(self, implementation: T) -> Generator[T, None, None]:
        try:
            yield implementation
        finally:
            self.dispose(implementation)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _not_provided(suite: object, method: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(suite).__name__} must implement {method}() to build the implementation under "
        f"test; see the docstring of {type(suite).__mro__[1].__name__}"
    )


class ToolProviderContract(_Contract):
    """The :class:`~execproto.protocols.IToolProvider` contract.

    Implement :meth:`make_provider`. Override :meth:`register_tool` and
    :meth:`unregister_tool` when the provider can gain and lose tools after it is built;
    the checks of dynamic registration run only then.
    """

    def make_provider(self, tools: Mapping[str, Any]) -> Any:
        """Return a new provider that holds exactly *tools* (name to tool object).

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_provider")

    def register_tool(self, provider: Any, name: str, tool: Any) -> None:
        """Make *tool* available from *provider* as *name* (optional hook).

        Raises:
            NotImplementedError: not overridden; the checks that need it are skipped.
        """
        raise NotImplementedError

    def unregister_tool(self, provider: Any, name: str) -> None:
        """Remove the tool *name* from *provider* (optional hook).

        Raises:
            NotImplementedError: not overridden; the checks that need it are skipped.
        """
        raise NotImplementedError

    def _require_hook(self, name: str) -> None:
        if getattr(type(self), name) is getattr(ToolProviderContract, name):
            pytest.skip(f"override {name}() to check dynamic registration")

    def _tools(self) -> dict[str, Any]:
        return {"calc": Calculator(), "probe": Probe(), "ünïcode_tool": Calculator()}

    def test_registered_tools_are_found(self) -> None:
        tools = self._tools()
        with self._using(self.make_provider(tools)) as provider:
            for name, tool in tools.items():
                assert True is provider.has_tool(name), f"has_tool({name!r})"
                assert tool is provider.get_tool(name), f"get_tool({name!r}) is not the tool"

    def test_unregistered_name_is_not_found(self) -> None:
        with self._using(self.make_provider(self._tools())) as provider:
            for name in ("missing", "Calc", "calc ", "calc.add", ""):
                assert False is provider.has_tool(name), f"has_tool({name!r})"
                with pytest.raises(LookupError):
                    provider.get_tool(name)

    def test_provider_attributes_are_not_tools(self) -> None:
        # A provider that looks names up with getattr(self, name) "finds" its own members.
        with self._using(self.make_provider(self._tools())) as provider:
            for name in ("get_tool", "has_tool", "__class__", "__dict__", "__init__"):
                assert False is provider.has_tool(name), f"has_tool({name!r})"
                with pytest.raises(LookupError):
                    provider.get_tool(name)

    def test_has_tool_agrees_with_get_tool(self) -> None:
        @self.examples(
            names=st.lists(strategies.identifiers(), unique=True, max_size=5),
            probe=strategies.identifiers(),
        )
        def check(names: list[str], probe: str) -> None:
            tools = {name: Calculator() for name in names}
            # Near misses of the registered names catch case folding, prefix and strip matches.
            near = [variant for name in names for variant in (name.upper(), name[:-1], f"{name} ")]
            with self._using(self.make_provider(tools)) as provider:
                for name in [*names, probe, *near]:
                    try:
                        found = provider.get_tool(name)
                    except LookupError:
                        found = None
                        assert False is provider.has_tool(name), f"get_tool({name!r}) raised"
                    else:
                        assert True is provider.has_tool(name), f"get_tool({name!r}) succeeded"
                        assert found is not None, f"get_tool({name!r}) returned None"
                    assert (name in tools) == (found is not None), name

        check()

    def test_lookup_does_not_touch_the_tool(self) -> None:
        tool = Calculator()
        with self._using(self.make_provider({"calc": tool})) as provider:
            provider.get_tool("calc")
            provider.has_tool("calc")
            assert [] == tool.calls
            assert 0 == tool.status_reads

    def test_registered_tool_is_found(self) -> None:
        self._require_hook("register_tool")
        tool = Calculator()
        with self._using(self.make_provider({})) as provider:
            self.register_tool(provider, "late", tool)
            assert True is provider.has_tool("late")
            assert tool is provider.get_tool("late")

    def test_unregistered_tool_is_no_longer_found(self) -> None:
        self._require_hook("unregister_tool")
        with self._using(self.make_provider({"calc": Calculator(), "keep": Probe()})) as provider:
            self.unregister_tool(provider, "calc")
            assert False is provider.has_tool("calc")
            with pytest.raises(LookupError):
                provider.get_tool("calc")
            assert True is provider.has_tool("keep")

    def test_concurrent_lookups_while_tools_change(self) -> None:
        stable = Calculator()
        dynamic = all(
            getattr(type(self), name) is not getattr(ToolProviderContract, name)
            for name in ("register_tool", "unregister_tool")
        )
        errors: list[BaseException] = []
        threads_count, rounds = 4, 200
        start = threading.Barrier(threads_count + 1)
        with self._using(self.make_provider({"stable": stable})) as provider:

            def look_up() -> None:
                start.wait()
                try:
                    for _ in range(rounds):
                        assert provider.has_tool("stable")
                        assert stable is provider.get_tool("stable")
                except BaseException as err:  # reported on the main thread
                    errors.append(err)

            def churn() -> None:
                start.wait()
                try:
                    for index in range(rounds if dynamic else 0):
                        self.register_tool(provider, f"churn{index}", Probe())
                        self.unregister_tool(provider, f"churn{index}")
                except BaseException as err:
                    errors.append(err)

            threads = [threading.Thread(target=look_up) for _ in range(threads_count)]
            threads.append(threading.Thread(target=churn))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert [] == errors


class ToolExecutorContract(_Contract):
    """The :class:`~execproto.protocols.IToolExecutor` contract.

    Implement :meth:`make_executor`. The executor runs the kit's
    :class:`~execproto.testing.Calculator`, passed to it as the ``tool`` argument.
    """

    def make_executor(self) -> Any:
        """Return a new executor.

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_executor")

    def _both(self, executor: Any, tool: Any, name: str, /, **params: Any) -> tuple[Any, Any]:
        return (
            executor.execute(tool, name, **params),
            self.run(_awaited(executor.execute_async(tool, name, **params))),
        )

    def test_sync_operation_returns_its_result(self) -> None:
        with self._using(self.make_executor()) as executor:
            assert 5 == executor.execute(Calculator(), "add", a=2, b=3)

    def test_async_operation_is_awaited(self) -> None:
        with self._using(self.make_executor()) as executor:
            assert 6 == self.run(
                _awaited(executor.execute_async(Calculator(), "multiply", a=2, b=3))
            )

    def test_sync_and_async_paths_agree_on_both_kinds_of_operation(self) -> None:
        tool = Calculator()
        with self._using(self.make_executor()) as executor:
            assert (5, 5) == self._both(executor, tool, "add", a=2, b=3)
            assert (6, 6) == self._both(executor, tool, "multiply", a=2, b=3)

    def test_sync_and_async_paths_return_the_same_value(self) -> None:
        @self.examples(value=strategies.json_values())
        def check(value: Any) -> None:
            with self._using(self.make_executor()) as executor:
                sync, async_ = self._both(executor, Calculator(), "echo", value=value)
                assert value == sync
                assert sync == async_

        check()

    def test_parameters_named_tool_and_operation_name_reach_the_operation(self) -> None:
        expected = {"tool": "t", "operation_name": "o"}
        with self._using(self.make_executor()) as executor:
            assert (expected, expected) == self._both(
                executor, Calculator(), "describe", tool="t", operation_name="o"
            )

    def test_unknown_operation_raises_value_error(self) -> None:
        with self._using(self.make_executor()) as executor:
            for name in ("missing", "", "add.extra"):
                with pytest.raises(ValueError):  # noqa: PT011 - the contract names only ValueError
                    executor.execute(Calculator(), name)
                with pytest.raises(ValueError):  # noqa: PT011
                    self.run(_awaited(executor.execute_async(Calculator(), name)))

    def test_private_names_are_not_operations(self) -> None:
        tool = Calculator()
        with self._using(self.make_executor()) as executor:
            for name in ("_secret", "__init__", "__class__", "_record"):
                with pytest.raises(ValueError):  # noqa: PT011
                    executor.execute(tool, name)
                with pytest.raises(ValueError):  # noqa: PT011
                    self.run(_awaited(executor.execute_async(tool, name)))
        assert [] == tool.calls

    def test_properties_and_data_attributes_are_not_operations(self) -> None:
        tool = Calculator()
        with self._using(self.make_executor()) as executor:
            for name in ("status", "label", "calls"):
                with pytest.raises(ValueError):  # noqa: PT011
                    executor.execute(tool, name)
                with pytest.raises(ValueError):  # noqa: PT011
                    self.run(_awaited(executor.execute_async(tool, name)))
        assert 0 == tool.status_reads, "the property was evaluated"

    def test_unacceptable_parameters_raise_value_error_before_running(self) -> None:
        tool = Calculator()
        with self._using(self.make_executor()) as executor:
            for params in ({"a": 1}, {"a": 1, "b": 2, "c": 3}, {"x": 1, "y": 2}):
                with pytest.raises(ValueError):  # noqa: PT011
                    executor.execute(tool, "add", **params)
                with pytest.raises(ValueError):  # noqa: PT011
                    self.run(_awaited(executor.execute_async(tool, "multiply", **params)))
        assert [] == tool.calls

    def test_operation_error_reaches_the_caller(self) -> None:
        with self._using(self.make_executor()) as executor:
            for name in ("fail", "fail_async"):
                with pytest.raises(Exception) as sync_error:  # noqa: PT011 - checked below
                    executor.execute(Calculator(), name, message="boom")
                with pytest.raises(Exception) as async_error:  # noqa: PT011
                    self.run(_awaited(executor.execute_async(Calculator(), name, message="boom")))
                for caught in (sync_error.value, async_error.value):
                    assert _raised_from(caught, ContractToolError), (
                        f"{name}: expected ContractToolError itself or as __cause__, got {caught!r}"
                    )

    def test_async_path_does_not_block_the_event_loop(self) -> None:
        tool = _GateTool()

        async def scenario(executor: Any) -> bool:
            tool.loop = asyncio.get_running_loop()
            tool.entered = asyncio.Event()
            call = asyncio.ensure_future(executor.execute_async(tool, "wait_for_gate"))
            entered = asyncio.ensure_future(tool.entered.wait())
            # The gate opens from the event loop: if the operation holds the loop, this
            # coroutine cannot run until the operation gave up waiting.
            await asyncio.wait({call, entered}, return_when=asyncio.FIRST_COMPLETED)
            entered.cancel()
            tool.gate.set()
            return bool(await call)

        with self._using(self.make_executor()) as executor:
            assert True is self.run(scenario(executor)), "execute_async blocked the event loop"

    def test_concurrent_execution_from_threads(self) -> None:
        results: dict[int, Any] = {}
        errors: list[BaseException] = []
        tool = Calculator()
        threads_count = 4
        start = threading.Barrier(threads_count)
        with self._using(self.make_executor()) as executor:

            def work(worker: int) -> None:
                start.wait()
                try:
                    for index in range(25):
                        results[worker * 100 + index] = executor.execute(
                            tool, "add", a=worker * 100, b=index
                        )
                except BaseException as err:  # reported on the main thread
                    errors.append(err)

            threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert [] == errors
        assert {key: key for key in results} == results
        assert threads_count * 25 == len(results)


class _GateTool:
    """A blocking synchronous operation that only the event loop can release."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.entered: asyncio.Event | None = None
        self.gate = threading.Event()

    def wait_for_gate(self) -> bool:
        if self.loop is not None and self.entered is not None:
            self.loop.call_soon_threadsafe(self.entered.set)
        return self.gate.wait(_GATE_TIMEOUT)


class CacheProviderContract(_Contract):
    """The :class:`~execproto.protocols.ICacheProvider` contract.

    Implement :meth:`make_cache`. Declare what bounds the cache's memory, as the protocol
    requires one: ``maxsize`` (the cache from :meth:`make_cache` holds at most that many
    entries), ``ttl`` (entries expire after that many seconds; also override
    :meth:`make_cache_with_clock` so the suite can move time without sleeping), or
    ``memory_bound`` (a sentence naming another bound, e.g. the server's eviction policy).
    Set ``cache_factory = "module:callable"`` (a zero-argument callable importable in a fresh
    interpreter) to check that keys are the same in another process.
    """

    maxsize: ClassVar[int | None] = None
    ttl: ClassVar[float | None] = None
    memory_bound: ClassVar[str | None] = None
    cache_factory: ClassVar[str | None] = None

    def make_cache(self) -> Any:
        """Return a new, empty cache.

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_cache")

    def make_cache_with_clock(self, clock: Callable[[], float]) -> Any:
        """Return a new, empty cache that reads the time (in seconds) from *clock*.

        Required when ``ttl`` is declared.

        Raises:
            NotImplementedError: not overridden.
        """
        raise NotImplementedError(
            f"{type(self).__name__} declares ttl={self.ttl!r} but does not implement "
            f"make_cache_with_clock(clock); implement it so the suite can move time"
        )

    def test_miss_returns_none(self) -> None:
        with self._using(self.make_cache()) as cache:
            key = cache.generate_cache_key("calc.add", "u1", "t1", (1, 2), {})
            assert None is cache.get_from_cache(key)

    def test_round_trip(self) -> None:
        @self.examples(value=strategies.json_values())
        def check(value: Any) -> None:
            with self._using(self.make_cache()) as cache:
                key = cache.generate_cache_key("calc.echo", "u1", "t1", (), {"value": 1})
                cache.add_to_cache(key, value)
                assert value == cache.get_from_cache(key)

        check()

    def test_add_replaces_the_value(self) -> None:
        with self._using(self.make_cache()) as cache:
            key = cache.generate_cache_key("calc.add", "u1", "t1", (1, 2), {})
            cache.add_to_cache(key, "first")
            cache.add_to_cache(key, "second")
            assert "second" == cache.get_from_cache(key)

    def test_values_are_kept_apart_per_key(self) -> None:
        with self._using(self.make_cache()) as cache:
            keys = [cache.generate_cache_key("calc.add", "u", "t", (n,), {}) for n in range(5)]
            for index, key in enumerate(keys):
                cache.add_to_cache(key, f"value {index}")
            assert [f"value {index}" for index in range(5)] == [
                cache.get_from_cache(key) for key in keys
            ]

    def test_key_is_deterministic(self) -> None:
        with self._using(self.make_cache()) as cache, self._using(self.make_cache()) as other:
            first = cache.generate_cache_key("calc.add", "u1", "t1", (1, "x"), {"a": 1, "b": 2})
            again = cache.generate_cache_key("calc.add", "u1", "t1", (1, "x"), {"a": 1, "b": 2})
            reordered = other.generate_cache_key("calc.add", "u1", "t1", (1, "x"), {"b": 2, "a": 1})
            assert isinstance(first, str)
            assert first == again
            assert first == reordered, "equal keyword arguments gave different keys"

    def test_key_depends_on_every_part_of_the_context(self) -> None:
        base: tuple[str, str, str, tuple[Any, ...], dict[str, Any]] = (
            "calc.add",
            "u1",
            "t1",
            (1, 2),
            {"scale": 1},
        )
        variants: dict[str, tuple[Any, ...]] = {
            "operation": ("calc.multiply", *base[1:]),
            "user": (base[0], "u2", *base[2:]),
            "task": (*base[:2], "t2", *base[3:]),
            "positional argument": (*base[:3], (1, 3), base[4]),
            "keyword argument": (*base[:4], {"scale": 2}),
            "keyword name": (*base[:4], {"factor": 1}),
            "argument kind": (*base[:3], (1, 2, 1), {}),
        }
        with self._using(self.make_cache()) as cache:
            key = cache.generate_cache_key(*base)
            same = [
                part for part, args in variants.items() if cache.generate_cache_key(*args) == key
            ]
        assert [] == same, f"the key ignores a change of: {', '.join(same)}"

    def test_key_tells_types_apart(self) -> None:
        with self._using(self.make_cache()) as cache:
            keys = {
                repr(value): cache.generate_cache_key("calc.echo", "u", "t", (value,), {})
                for value in (1, 1.0, True, "1", None, "None", (1,), [1])
            }
        assert len(keys) == len(set(keys.values())), f"colliding keys: {keys}"

    def test_different_contexts_get_different_keys(self) -> None:
        @self.examples(drawn=strategies.key_input_variants())
        def check(drawn: tuple[strategies.KeyInput, list[strategies.KeyInput]]) -> None:
            base, variants = drawn
            parts = ("operation", "user", "task", "args", "kwargs")
            with self._using(self.make_cache()) as cache:
                key = cache.generate_cache_key(*base)
                same = [
                    part
                    for part, variant in zip(parts, variants, strict=True)
                    if cache.generate_cache_key(*variant) == key
                ]
            assert [] == same, f"the key ignores a change of: {', '.join(same)}"

        check()

    def test_unencodable_argument_raises_type_error(self) -> None:
        with self._using(self.make_cache()) as cache:
            with pytest.raises(TypeError):
                cache.generate_cache_key("calc.echo", "u", "t", (_Opaque(),), {})
            with pytest.raises(TypeError):
                cache.generate_cache_key("calc.echo", "u", "t", (), {"value": _Opaque()})

    def test_concurrent_use_from_threads(self) -> None:
        errors: list[BaseException] = []
        threads_count = 4
        start = threading.Barrier(threads_count)
        with self._using(self.make_cache()) as cache:

            def work(worker: int) -> None:
                start.wait()
                try:
                    for index in range(50):
                        key = cache.generate_cache_key("calc.add", f"u{worker}", "t", (index,), {})
                        cache.add_to_cache(key, (worker, index))
                        found = cache.get_from_cache(key)
                        # Another thread may have evicted it from a bounded cache, never
                        # replaced it with its own value.
                        assert found in (None, (worker, index)), found
                except BaseException as err:  # reported on the main thread
                    errors.append(err)

            threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert [] == errors

    def test_declares_a_memory_bound(self) -> None:
        assert (self.maxsize, self.ttl, self.memory_bound) != (None, None, None), (
            f"{type(self).__name__} declares no memory bound; the protocol requires one: set "
            f"maxsize, ttl, or memory_bound (a sentence naming the bound)"
        )

    def test_size_stays_within_maxsize(self) -> None:
        if self.maxsize is None:
            pytest.skip("declare maxsize to check the size bound")
        with self._using(self.make_cache()) as cache:
            keys = [
                cache.generate_cache_key("calc.add", "u", "t", (index,), {})
                for index in range(3 * self.maxsize)
            ]
            for index, key in enumerate(keys):
                cache.add_to_cache(key, index)
            kept = [
                index for index, key in enumerate(keys) if cache.get_from_cache(key) is not None
            ]
        assert len(kept) <= self.maxsize, f"{len(kept)} entries kept, maxsize={self.maxsize}"
        assert len(keys) - 1 in kept, "the most recent entry was not kept"

    def test_entries_expire_after_ttl(self) -> None:
        if self.ttl is None:
            pytest.skip("declare ttl (and make_cache_with_clock) to check expiry")
        clock = ManualClock()
        with self._using(self.make_cache_with_clock(clock)) as cache:
            early = cache.generate_cache_key("calc.add", "u", "t", (1,), {})
            late = cache.generate_cache_key("calc.add", "u", "t", (2,), {})
            cache.add_to_cache(early, "early")
            clock.advance(self.ttl * 0.5)
            assert "early" == cache.get_from_cache(early), "expired before ttl"
            cache.add_to_cache(late, "late")
            clock.advance(self.ttl * 0.75)
            assert None is cache.get_from_cache(early), "still there after ttl"
            assert "late" == cache.get_from_cache(late), "expired before its own ttl"
            clock.advance(self.ttl)
            assert None is cache.get_from_cache(late), "still there after ttl"
            cache.add_to_cache(early, "again")
            assert "again" == cache.get_from_cache(early)

    def test_behaves_like_a_dict(self) -> None:
        machine = strategies.cache_state_machine(self.make_cache, maxsize=self.maxsize)
        run_state_machine_as_test(
            machine, settings=settings(self.hypothesis_settings, stateful_step_count=30)
        )

    def test_keys_are_the_same_in_another_process(self) -> None:
        if self.cache_factory is None:
            pytest.skip('set cache_factory = "module:callable" to compare keys across processes')
        arguments: tuple[Any, ...] = (
            "calc.add",
            "u1",
            "t1",
            (1, "x", [1.5, None], {"b": 2, "a": 1}),
            {"k": {"z": [True], "y": "é"}},
        )
        with self._using(self.make_cache()) as cache:
            expected = cache.generate_cache_key(*arguments)
        script = (
            "import importlib, sys\n"
            "module, _, name = sys.argv[1].partition(':')\n"
            "cache = getattr(importlib.import_module(module), name)()\n"
            f"print(cache.generate_cache_key(*{arguments!r}))\n"
        )
        keys: list[str] = []
        for seed in ("1", "2"):
            environment = {
                **os.environ,
                "PYTHONHASHSEED": seed,
                "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
            }
            completed = subprocess.run(
                [sys.executable, "-c", script, self.cache_factory],
                capture_output=True,
                text=True,
                env=environment,
                check=False,
            )
            assert 0 == completed.returncode, completed.stderr
            keys.append(completed.stdout.strip())
        assert [expected, expected] == keys


class _Opaque:
    """A value with no canonical encoding: only its identity distinguishes instances."""


class OperationExecutorContract(_Contract):
    """The :class:`~execproto.protocols.IOperationExecutor` contract.

    Implement :meth:`make_operation_executor`; the executor must run the tools it is given
    under the given names (``"calc.add"`` runs ``tools["calc"].add``). Declare
    ``concurrency_limit`` (the most operations the executor runs at once in batch and
    parallel modes) to check that it is honoured, ``supports_result_references = True``
    to check ``"$result[N].path"`` references in sequences, and ``supports_dependencies =
    True`` to check items with ``id``/``depends_on`` in parallel runs (an item starts after
    the items it depends on; it is skipped, never run, when one of them failed).
    """

    concurrency_limit: ClassVar[int | None] = None
    supports_result_references: ClassVar[bool] = False
    supports_dependencies: ClassVar[bool] = False

    def make_operation_executor(self, tools: Mapping[str, Any]) -> Any:
        """Return a new operation executor that runs *tools* (name to tool object).

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_operation_executor")

    def _build(self) -> tuple[Any, Calculator, Probe]:
        calc, probe = Calculator(), Probe()
        return self.make_operation_executor({"calc": calc, "probe": probe}), calc, probe

    def test_execute_operation_runs_sync_and_async_operations(self) -> None:
        executor, _, _ = self._build()

        async def scenario() -> tuple[Any, Any]:
            return (
                await executor.execute_operation("calc.add", {"a": 2, "b": 3}),
                await executor.execute_operation("calc.multiply", {"a": 2, "b": 3}),
            )

        with self._using(executor):
            assert (5, 6) == self.run(scenario())

    def test_malformed_spec_raises_value_error(self) -> None:
        executor, calc, _ = self._build()
        with self._using(executor):
            for spec in strategies.MALFORMED_SPECS:
                with pytest.raises(ValueError):  # noqa: PT011 - the contract names only ValueError
                    self.run(_awaited(executor.execute_operation(spec, {"a": 1, "b": 2})))
        assert [] == calc.calls

    def test_unknown_tool_raises_lookup_error(self) -> None:
        executor, _, _ = self._build()
        with self._using(executor), pytest.raises(LookupError):
            self.run(_awaited(executor.execute_operation("missing.add", {"a": 1, "b": 2})))

    def test_names_that_are_not_operations_are_refused(self) -> None:
        executor, calc, _ = self._build()
        with self._using(executor):
            for spec in ("calc.missing", "calc.status", "calc.label"):
                with pytest.raises((ValueError, LookupError)):
                    self.run(_awaited(executor.execute_operation(spec, {})))
        assert ([], 0) == (calc.calls, calc.status_reads)

    def test_operation_error_reaches_the_caller(self) -> None:
        executor, _, _ = self._build()
        with self._using(executor), pytest.raises(Exception) as caught:  # noqa: PT011
            self.run(_awaited(executor.execute_operation("calc.fail", {"message": "boom"})))
        assert _raised_from(caught.value, ContractToolError), caught.value

    def _staggered(self, count: int) -> list[dict[str, Any]]:
        # Earlier operations yield more often, so they finish last.
        return [
            {"operation": "probe.hold", "params": {"value": index, "yields": count - index}}
            for index in range(count)
        ]

    def test_batch_returns_results_in_input_order(self) -> None:
        executor, _, _ = self._build()
        with self._using(executor):
            results = self.run(_awaited(executor.batch_execute_operations(self._staggered(8))))
        assert list(range(8)) == list(results)

    def test_batch_returns_exceptions_in_place(self) -> None:
        executor, _, _ = self._build()
        operations = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self._using(executor):
            results = list(self.run(_awaited(executor.batch_execute_operations(operations))))
        assert 3 == len(results), results
        assert (2, 4) == (results[0], results[2])
        assert isinstance(results[1], BaseException), results[1]
        assert _raised_from(results[1], ContractToolError), results[1]

    def test_parallel_returns_step_results_in_input_order(self) -> None:
        executor, _, _ = self._build()
        with self._using(executor):
            steps = self.run(_awaited(executor.execute_parallel_operations(self._staggered(8))))
        assert 8 == len(steps)
        assert list(range(8)) == [step.result for step in steps]
        assert [True] * 8 == [step.completed for step in steps]
        assert [TaskStatus.COMPLETED] * 8 == [TaskStatus(step.status) for step in steps]

    def test_parallel_reports_failures_as_failed_steps_with_codes(self) -> None:
        executor, _, _ = self._build()
        operations: list[dict[str, Any]] = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "missing.add", "params": {"a": 1, "b": 1}},
            {"operation": "not a spec", "params": {}},
            {"operation": "calc.add", "params": {"a": 1}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self._using(executor):
            steps = self.run(_awaited(executor.execute_parallel_operations(operations)))
        assert 6 == len(steps)
        assert (2, 4) == (steps[0].result, steps[5].result)
        assert [
            (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR),
            (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR),
            (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR),
            (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR),
        ] == [(TaskStatus(step.status), step.error_code) for step in steps[1:5]]
        assert [False] * 4 == [step.completed for step in steps[1:5]]
        assert "boom" in (steps[1].error_message or ""), steps[1]

    def test_parallel_operations_run_concurrently(self) -> None:
        if self.concurrency_limit is not None and self.concurrency_limit < 2:
            pytest.skip("a concurrency limit below 2 runs operations one at a time")
        executor, _, _ = self._build()
        meet = {"operation": "probe.meet", "params": {"parties": 2}}
        with self._using(executor):
            steps = self.run(_awaited(executor.execute_parallel_operations([meet, meet])))
        assert [True, True] == [step.result for step in steps], "operations ran one at a time"

    def _check_limit(self, method: str) -> None:
        limit = self.concurrency_limit
        if limit is None:
            pytest.skip("declare concurrency_limit to check that it is honoured")
        executor, _, probe = self._build()
        operations = self._staggered(3 * limit + 1)
        with self._using(executor):
            results = self.run(_awaited(getattr(executor, method)(operations)))
        assert 3 * limit + 1 == len(results)
        assert probe.max_in_flight <= limit, f"{probe.max_in_flight} ran at once, limit {limit}"

    def test_batch_honours_the_concurrency_limit(self) -> None:
        self._check_limit("batch_execute_operations")

    def test_parallel_honours_the_concurrency_limit(self) -> None:
        self._check_limit("execute_parallel_operations")

    def test_sequence_runs_operations_one_after_another(self) -> None:
        executor, _, probe = self._build()
        with self._using(executor):
            steps = self.run(
                _awaited(executor.execute_operations_sequence(self._staggered(5), "u1", "t1"))
            )
        assert list(range(5)) == [step.result for step in steps]
        assert list(range(5)) == probe.started
        assert 1 == probe.max_in_flight

    def _failing_plan(self) -> list[dict[str, Any]]:
        return [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]

    def test_sequence_stops_after_a_failure_when_asked(self) -> None:
        executor, calc, _ = self._build()
        with self._using(executor):
            steps = self.run(
                _awaited(
                    executor.execute_operations_sequence(
                        self._failing_plan(), "u1", "t1", stop_on_failure=True
                    )
                )
            )
        assert ["add", "fail"] == calc.calls, "an operation ran after the failure"
        assert 3 == len(steps), "one result per operation"
        assert (True, 2) == (steps[0].completed, steps[0].result)
        assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR) == (
            TaskStatus(steps[1].status),
            steps[1].error_code,
        )
        assert TaskStatus.COMPLETED != TaskStatus(steps[2].status)
        assert False is steps[2].completed

    def test_sequence_runs_everything_without_stop_on_failure(self) -> None:
        executor, calc, _ = self._build()
        with self._using(executor):
            steps = self.run(
                _awaited(executor.execute_operations_sequence(self._failing_plan(), "u1", "t1"))
            )
        assert ["add", "fail", "multiply"] == calc.calls
        assert [True, False, True] == [step.completed for step in steps]
        assert (2, 4) == (steps[0].result, steps[2].result)
        assert ErrorCode.EXECUTION_ERROR == steps[1].error_code

    def _check_callback(self, make_callback: Callable[[list[Any]], Any]) -> None:
        executor, _, _ = self._build()
        calls: list[Any] = []
        with self._using(executor):
            steps = self.run(
                _awaited(
                    executor.execute_operations_sequence(
                        self._failing_plan(), "u1", "t1", save_callback=make_callback(calls)
                    )
                )
            )
        assert [("u1", "t1", index, step) for index, step in enumerate(steps)] == calls

    def test_sequence_calls_a_sync_save_callback_after_each_step(self) -> None:
        def make(calls: list[Any]) -> Callable[..., None]:
            def save(user_id: str, task_id: str, index: int, step: Any) -> None:
                calls.append((user_id, task_id, index, step))

            return save

        self._check_callback(make)

    def test_sequence_awaits_an_async_save_callback_after_each_step(self) -> None:
        def make(calls: list[Any]) -> Callable[..., Any]:
            async def save(user_id: str, task_id: str, index: int, step: Any) -> None:
                await asyncio.sleep(0)
                calls.append((user_id, task_id, index, step))

            return save

        self._check_callback(make)

    def test_sequence_keeps_results_when_the_callback_fails(self) -> None:
        executor, _, _ = self._build()

        def save(user_id: str, task_id: str, index: int, step: Any) -> None:
            raise ContractToolError(f"cannot save step {index}")

        plan = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self._using(executor):
            steps = self.run(
                _awaited(executor.execute_operations_sequence(plan, "u1", "t1", False, save))
            )
        assert [2, 4] == [step.result for step in steps]

    def test_sequence_resolves_result_references(self) -> None:
        if not self.supports_result_references:
            pytest.skip("set supports_result_references = True to check $result references")

        @self.examples(plan=strategies.referencing_plans(spec="calc.echo"))
        def check(plan: strategies.ReferencingPlan) -> None:
            executor, _, _ = self._build()
            with self._using(executor):
                steps = self.run(
                    _awaited(executor.execute_operations_sequence(plan.items, "u1", "t1"))
                )
            assert plan.expected == [step.result for step in steps]

        check()

    def test_sequence_bad_reference_fails_the_step_with_e001(self) -> None:
        if not self.supports_result_references:
            pytest.skip("set supports_result_references = True to check $result references")
        for reference in strategies.BAD_REFERENCES:
            executor, calc, _ = self._build()
            plan = [
                {"operation": "calc.echo", "params": {"value": {"k": "v"}}},
                {"operation": "calc.echo", "params": {"value": reference}},
            ]
            with self._using(executor):
                steps = self.run(_awaited(executor.execute_operations_sequence(plan, "u1", "t1")))
            assert (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR) == (
                TaskStatus(steps[1].status),
                steps[1].error_code,
            ), reference
            assert ["echo"] == calc.calls, f"{reference}: the tool was called"

    def _require_dependencies(self) -> None:
        if not self.supports_dependencies:
            pytest.skip("set supports_dependencies = True to check id/depends_on plans")

    def test_dependencies_run_before_their_dependants(self) -> None:
        self._require_dependencies()
        executor, _, probe = self._build()
        plan = [
            {
                "id": "last",
                "depends_on": ["middle"],
                "operation": "probe.hold",
                "params": {"value": "last"},
            },
            {
                "id": "middle",
                "depends_on": ["first"],
                "operation": "probe.hold",
                "params": {"value": "middle"},
            },
            {"id": "first", "operation": "probe.hold", "params": {"value": "first", "yields": 5}},
        ]
        with self._using(executor):
            steps = self.run(_awaited(executor.execute_parallel_operations(plan)))
        assert ["first", "middle", "last"] == probe.started
        assert ["last", "middle", "first"] == [step.result for step in steps]

    def test_dependants_of_a_failure_are_skipped(self) -> None:
        self._require_dependencies()
        executor, calc, _ = self._build()
        plan = [
            {"id": "broken", "operation": "calc.fail", "params": {"message": "boom"}},
            {
                "id": "after",
                "depends_on": ["broken"],
                "operation": "calc.add",
                "params": {"a": 1, "b": 1},
            },
            {"id": "free", "operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self._using(executor):
            steps = self.run(_awaited(executor.execute_parallel_operations(plan)))
        assert 3 == len(steps)
        assert "add" not in calc.calls, "a dependant of a failed item ran"
        assert [False, False, True] == [step.completed for step in steps]
        assert 4 == steps[2].result


class _PlainToolExecutor:
    """A minimal conforming tool executor, offered to ``register_executor``."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        result: Any = getattr(tool, operation_name)(**params)
        if isinstance(result, Awaitable):
            return await result  # pyright: ignore[reportUnknownVariableType]
        return result


async def _sum_task(input_data: dict[str, Any], context: dict[str, Any]) -> Any:
    await asyncio.sleep(0)
    return sum(input_data["values"])


async def _context_task(input_data: dict[str, Any], context: dict[str, Any]) -> Any:
    return {"input": dict(input_data), "context": dict(context)}


async def _failing_task(input_data: dict[str, Any], context: dict[str, Any]) -> Any:
    raise ContractToolError(str(input_data.get("message", "task failed")))


CONTRACT_TASKS: Mapping[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]] = {
    "sum": _sum_task,
    "context": _context_task,
    "fail": _failing_task,
}


class ExecutionInterfaceContract(_Contract):
    """The :class:`~execproto.protocols.ExecutionInterface` contract.

    Implement :meth:`make_execution_interface`; the interface must run the tools it is given
    under the given names and the tasks under theirs. A task is an async callable
    ``task(input_data, context)`` that returns the task's result.
    """

    def make_execution_interface(
        self,
        tools: Mapping[str, Any],
        tasks: Mapping[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]],
    ) -> Any:
        """Return a new execution interface that runs *tools* and *tasks*.

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_execution_interface")

    def _build(self) -> tuple[Any, Calculator, Probe]:
        calc, probe = Calculator(), Probe()
        interface = self.make_execution_interface({"calc": calc, "probe": probe}, CONTRACT_TASKS)
        return interface, calc, probe

    def test_execute_operation_runs_sync_and_async_operations(self) -> None:
        interface, _, _ = self._build()

        async def scenario() -> tuple[Any, Any]:
            return (
                await interface.execute_operation("calc.add", {"a": 2, "b": 3}),
                await interface.execute_operation("calc.multiply", {"a": 2, "b": 3}),
            )

        with self._using(interface):
            assert (5, 6) == self.run(scenario())

    def test_unknown_tool_raises_lookup_error(self) -> None:
        interface, _, _ = self._build()
        with self._using(interface), pytest.raises(LookupError):
            self.run(_awaited(interface.execute_operation("missing.add", {"a": 1, "b": 2})))

    def test_batch_operations_return_results_in_input_order(self) -> None:
        interface, _, _ = self._build()
        operations = [
            {"operation": "probe.hold", "params": {"value": index, "yields": 6 - index}}
            for index in range(6)
        ]
        with self._using(interface):
            results = self.run(_awaited(interface.batch_execute_operations(operations)))
        assert list(range(6)) == list(results)

    def test_execute_task_passes_input_and_context(self) -> None:
        interface, _, _ = self._build()

        async def scenario() -> tuple[Any, Any]:
            return (
                await interface.execute_task("sum", {"values": [1, 2, 3]}, {}),
                await interface.execute_task("context", {"x": 1}, {"user_id": "u1"}),
            )

        with self._using(interface):
            total, echoed = self.run(scenario())
        assert 6 == total
        assert {"x": 1} == echoed["input"]
        assert "u1" == echoed["context"].get("user_id")

    def test_unknown_task_raises_lookup_error(self) -> None:
        interface, _, _ = self._build()
        with self._using(interface), pytest.raises(LookupError):
            self.run(_awaited(interface.execute_task("missing", {}, {})))

    def test_task_error_reaches_the_caller(self) -> None:
        interface, _, _ = self._build()
        with self._using(interface), pytest.raises(Exception) as caught:  # noqa: PT011
            self.run(_awaited(interface.execute_task("fail", {"message": "boom"}, {})))
        assert _raised_from(caught.value, ContractToolError), caught.value

    def test_batch_tasks_return_one_result_per_task_in_input_order(self) -> None:
        interface, _, _ = self._build()
        tasks: list[dict[str, Any]] = [
            {"task_name": "sum", "input_data": {"values": [index, 1]}, "context": {}}
            for index in range(5)
        ]
        tasks.insert(2, {"task_name": "fail", "input_data": {"message": "boom"}, "context": {}})
        with self._using(interface):
            results = list(self.run(_awaited(interface.batch_execute_tasks(tasks))))
        assert 6 == len(results), results
        assert [1, 2, 3, 4, 5] == results[:2] + results[3:]
        assert isinstance(results[2], BaseException), results[2]

    def test_register_executor_works_or_says_it_is_unsupported(self) -> None:
        interface, _, _ = self._build()
        with self._using(interface):
            try:
                outcome = interface.register_executor("contract", _PlainToolExecutor())
            except NotImplementedError:
                return
            assert None is outcome
