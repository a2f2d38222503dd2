"""Reusable pytest suites that prove an implementation keeps its protocol's promises.

A protocol says which methods exist; a contract says what they must do. Each suite checks
the guarantees written in the docstring of its protocol (:mod:`execproto.protocols`), one
promise per check, and each check is named after its promise. To prove an implementation,
subclass the suite in a test module (the subclass's name must start with ``Test`` so that
pytest collects it) and implement its factory method::

    from execproto.testing import CacheProviderContract

    class TestMyCache(CacheProviderContract):
        maxsize = 128  # opt in to the size checks: the cache below holds at most 128 entries

        def make_cache(self):
            return MyCache(maxsize=128)

What a caller must know:

* A failure states the promise in words and what the implementation did, e.g.
  ``get_tool(name) must raise LookupError for an unknown name; get_tool('missing')
  returned None``; an error the implementation raised is chained to it.
* Two profiles of promises: ``"execproto"`` (the default) checks every rule of execproto's
  protocols; ``"seed"`` checks only what the seed design document (AIECS's execution
  interfaces) promises, and skips each stricter execproto rule with the reason it is not
  the seed's. Choose with the class attribute ``profile = "seed"`` or, for every suite of
  a run, with the plugin's ``--execproto-profile=seed``.
* Deterministic by default: the hypothesis-driven checks use the kit's hypothesis profile
  ``execproto`` (25 examples from a fixed seed, no example database), so the same code gets
  the same verdict on every run. ``--hypothesis-seed=N`` draws other examples, reproducibly;
  ``--hypothesis-profile=NAME`` or the class attribute ``hypothesis_settings`` replaces the
  profile.
* Factories are plain methods, called once per test (or per hypothesis example), so each
  test gets a fresh implementation. After the test, :meth:`~Contract.dispose` closes it
  (``close()``, awaited when it returns an awaitable); override it for other clean-up.
* Asynchronous methods are driven by :meth:`~Contract.run`, which calls :func:`asyncio.run`:
  the suites need no async test plugin and work unchanged under pytest-asyncio's auto mode.
  Override :meth:`~Contract.run` to drive another event loop; it must not be called from a
  running loop.
* Optional behaviour is declared with class attributes (``maxsize``, ``ttl``,
  ``concurrency_limit``, ``supports_result_references``, ``cache_factory``) or by overriding
  an optional hook (``make_cache_with_clock``, ``register_tool``, ``unregister_tool``). A
  check whose behaviour is not declared is skipped with a message that says how to opt in.
* Thread-safety checks make the threads interleave: every bytecode of the
  implementation's own code becomes a point where another thread may run (a trace
  function on its frames only), the interpreter switches threads as often as it can while
  the check runs (``sys.setswitchinterval``, restored afterwards), and all threads are
  released together at the start of each of many short rounds (a few seconds at most).
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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from execproto.models import TaskStatus
from execproto.testing import strategies
from execproto.testing._clock import ManualClock
from execproto.testing._suite import (
    PROFILES,
    Contract,
    Outcome,
    Profile,
    Race,
    beyond_seed,
    broken,
    outcome,
    race,
    show,
)
from execproto.testing._tools import Calculator, ContractToolError, Probe

__all__ = [
    "CONTRACT_TASKS",
    "PROFILES",
    "CacheProviderContract",
    "Contract",
    "ExecutionInterfaceContract",
    "OperationExecutorContract",
    "Profile",
    "ToolExecutorContract",
    "ToolProviderContract",
]

# How long the blocking-operation check waits for the event loop to release it. Bounds the
# hang on an implementation that blocks the loop; never compared with a measured time.
_GATE_TIMEOUT = 5.0

# Names no tool is registered under in the provider checks: a miss, and near misses of
# "calc" that a provider folding case, stripping, or splitting specs would find.
_UNKNOWN_NAMES = ("missing", "Calc", "calc ", "calc.add", "")
# Members of the provider itself, which one that looks names up with getattr "finds".
_PROVIDER_MEMBERS = ("get_tool", "has_tool", "__class__", "__dict__", "__init__")


def _raised_from(error: BaseException | None, expected: type[BaseException]) -> bool:
    """Return whether *error* is *expected* or chains to one through ``__cause__``."""
    seen: set[int] = set()
    current = error
    while current is not None and id(current) not in seen:
        if isinstance(current, expected):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


def _raced(promise: str, result: Race, workers: int) -> None:
    """Raise the failure of a thread-safety check when *result* saw one."""
    if result.hung:
        raise broken(promise, f"{workers} threads calling it at once did not finish (deadlock?)")
    if result.errors:
        first = result.errors[0]
        did = (
            str(first) if isinstance(first, AssertionError) else f"{type(first).__name__}: {first}"
        )
        raise broken(
            promise,
            f"with {workers} threads calling it at once, in round {result.rounds + 1}: {did}",
            None if isinstance(first, AssertionError) else first,
        )


def _not_provided(suite: object, method: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(suite).__name__} must implement {method}() to build the implementation under "
        f"test; see the docstring of {type(suite).__mro__[1].__name__}"
    )


class ToolProviderContract(Contract):
    """The :class:`~execproto.protocols.IToolProvider` contract.

    Implement :meth:`make_provider`. Override :meth:`register_tool` and
    :meth:`unregister_tool` when the provider can gain and lose tools after it is built;
    the checks of dynamic registration run only then.

    Promises of the seed document: every registered tool is found under its name, and
    ``has_tool`` is false for any other name (near misses, the provider's own members) and
    agrees with ``get_tool``; tools registered later are found, unregistered ones are not.
    "Not found" means that ``get_tool`` raised or returned ``None``. execproto's stricter
    rules: ``get_tool`` raises :class:`LookupError` for an unknown name (never returns
    ``None``), a lookup does not touch the tool, and lookups are safe from several threads
    while tools change.
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

    def _has_hook(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(ToolProviderContract, name)

    def _require_hook(self, name: str) -> None:
        if not self._has_hook(name):
            pytest.skip(f"override {name}() to check dynamic registration")

    def _tools(self) -> dict[str, Any]:
        return {"calc": Calculator(), "probe": Probe(), "ünïcode_tool": Calculator()}

    @staticmethod
    def _gives_a_tool(found: Outcome) -> bool:
        return not found.raised and found.value is not None

    def test_each_registered_tool_is_found_under_its_name(self) -> None:
        """``has_tool(name)`` is true and ``get_tool(name)`` returns the very tool
        registered under *name*, for every name, unicode included."""
        promise = (
            "has_tool(name) must be True and get_tool(name) return the tool registered as name"
        )
        tools = self._tools()
        with self.using(self.make_provider(tools)) as provider:
            for name, tool in tools.items():
                has = outcome(provider.has_tool, name)
                if has.raised or has.value is not True:
                    raise broken(promise, f"has_tool({name!r}) {has}", has.error)
                found = outcome(provider.get_tool, name)
                if found.raised or found.value is not tool:
                    did = f"get_tool({name!r}) {found}"
                    if not found.raised:
                        did += f", not the tool registered as {name!r} ({show(tool)})"
                    raise broken(promise, did, found.error)

    def test_has_tool_is_false_for_a_name_never_registered(self) -> None:
        """``has_tool`` is false for a miss and for near misses of a registered name
        (another case, a trailing space, a ``tool.operation`` spec, the empty string)."""
        promise = "has_tool(name) must be False for a name no tool is registered as"
        with self.using(self.make_provider(self._tools())) as provider:
            for name in _UNKNOWN_NAMES:
                has = outcome(provider.has_tool, name)
                if has.raised or has.value is not False:
                    raise broken(promise, f"has_tool({name!r}) {has}", has.error)

    def test_the_providers_own_members_are_not_tools(self) -> None:
        """The provider's own attributes (``get_tool``, ``__class__``, ...) are not tools:
        ``has_tool`` is false for them and ``get_tool`` does not return them."""
        promise = "the provider's own attributes are not tools: has_tool(name) must be False"
        promise_get = (
            "the provider's own attributes are not tools: get_tool(name) must not return them"
        )
        with self.using(self.make_provider(self._tools())) as provider:
            for name in _PROVIDER_MEMBERS:
                has = outcome(provider.has_tool, name)
                if has.raised or has.value is not False:
                    raise broken(promise, f"has_tool({name!r}) {has}", has.error)
                found = outcome(provider.get_tool, name)
                if self._gives_a_tool(found):
                    raise broken(promise_get, f"get_tool({name!r}) {found}")

    @beyond_seed(
        "the seed document does not say what get_tool does for an unknown name; execproto "
        "requires LookupError, never None"
    )
    def test_get_tool_raises_lookup_error_for_an_unknown_name(self) -> None:
        """``get_tool`` raises :class:`LookupError` (or a subclass) for an unknown name."""
        promise = "get_tool(name) must raise LookupError for an unknown name"
        with self.using(self.make_provider(self._tools())) as provider:
            for name in _UNKNOWN_NAMES:
                found = outcome(provider.get_tool, name)
                if not isinstance(found.error, LookupError):
                    raise broken(promise, f"get_tool({name!r}) {found}", found.error)

    def test_has_tool_agrees_with_get_tool(self) -> None:
        """For any names registered and any looked up (near misses included),
        ``has_tool(name)`` is true exactly when ``get_tool(name)`` returns a tool, and that
        is exactly when a tool is registered as *name*."""
        promise = (
            "has_tool(name) must be True exactly when get_tool(name) returns a tool, that is "
            "exactly when a tool is registered as name"
        )

        @self.examples(
            names=st.lists(strategies.identifiers(), unique=True, max_size=5),
            probe=strategies.identifiers(),
        )
        def check(names: list[str], probe: str) -> None:
            tools = {name: Calculator() for name in names}
            # Near misses of the registered names catch case folding, prefix and strip matches.
            near = [variant for name in names for variant in (name.upper(), name[:-1], f"{name} ")]
            with self.using(self.make_provider(tools)) as provider:
                for name in [*names, probe, *near]:
                    registered = name in tools
                    has = outcome(provider.has_tool, name)
                    found = outcome(provider.get_tool, name)
                    if has.value is not registered or self._gives_a_tool(found) is not registered:
                        raise broken(
                            promise,
                            f"with tools registered as {sorted(tools)!r}, has_tool({name!r}) "
                            f"{has} and get_tool({name!r}) {found}",
                            has.error or found.error,
                        )

        check()

    @beyond_seed("the seed document says nothing about the side effects of a lookup")
    def test_looking_a_tool_up_does_not_touch_it(self) -> None:
        """``get_tool`` and ``has_tool`` neither call the tool nor read its properties."""
        promise = "get_tool and has_tool must not call the tool or read its properties"
        tool = Calculator()
        with self.using(self.make_provider({"calc": tool})) as provider:
            provider.get_tool("calc")
            provider.has_tool("calc")
            if tool.calls or tool.status_reads:
                raise broken(
                    promise,
                    f"looking it up ran {tool.calls!r} and read its property status "
                    f"{tool.status_reads} times",
                )

    def test_a_tool_registered_later_is_found(self) -> None:
        """A tool registered after the provider was built is found (``register_tool``)."""
        self._require_hook("register_tool")
        promise = "a tool registered after the provider was built must be found under its name"
        tool = Calculator()
        with self.using(self.make_provider({})) as provider:
            self.register_tool(provider, "late", tool)
            has = outcome(provider.has_tool, "late")
            found = outcome(provider.get_tool, "late")
            if has.value is not True or found.raised or found.value is not tool:
                raise broken(
                    promise,
                    f"after registering 'late', has_tool('late') {has} and get_tool('late') {found}",
                    has.error or found.error,
                )

    def test_an_unregistered_tool_is_no_longer_found(self) -> None:
        """After ``unregister_tool``, the tool is not found; the others still are."""
        self._require_hook("unregister_tool")
        promise = "an unregistered tool must no longer be found, and the other tools must stay"
        keep = Probe()
        with self.using(self.make_provider({"calc": Calculator(), "keep": keep})) as provider:
            self.unregister_tool(provider, "calc")
            has = outcome(provider.has_tool, "calc")
            found = outcome(provider.get_tool, "calc")
            if has.value is not False or self._gives_a_tool(found):
                raise broken(
                    promise,
                    f"after unregistering 'calc', has_tool('calc') {has} and get_tool('calc') "
                    f"{found}",
                    has.error,
                )
            kept = outcome(provider.get_tool, "keep")
            if provider.has_tool("keep") is not True or kept.value is not keep:
                raise broken(promise, f"after unregistering 'calc', get_tool('keep') {kept}")

    @beyond_seed(
        "the seed document does not ask a tool provider to be thread safe; execproto's "
        "protocol does"
    )
    def test_lookups_are_safe_while_tools_change_in_other_threads(self) -> None:
        """Several threads look tools up at once, while another registers and unregisters
        tools when the provider supports it; every lookup finds the registered tool."""
        promise = (
            "get_tool and has_tool must be safe to call from several threads at once, also "
            "while tools are registered and unregistered"
        )
        dynamic = self._has_hook("register_tool") and self._has_hook("unregister_tool")
        # The tool looked up comes last, so that a provider searching its tools goes
        # through all of them on every lookup.
        tools: dict[str, Any] = {f"filler{index}": Calculator() for index in range(8)}
        stable = tools["stable"] = Calculator()
        workers = 4
        with self.using(self.make_provider(tools)) as provider:

            def step(worker: int, round_: int) -> None:
                if dynamic and worker == 0:
                    # One change per round, so the tools differ from one round to the next.
                    if round_ % 2 == 0:
                        self.register_tool(provider, f"churn{round_}", Probe())
                    else:
                        self.unregister_tool(provider, f"churn{round_ - 1}")
                    return
                for _ in range(4):
                    has = provider.has_tool("stable")
                    found = provider.get_tool("stable")
                    if has is not True or found is not stable:
                        raise AssertionError(
                            f"has_tool('stable') returned {show(has)} and get_tool('stable') "
                            f"returned {show(found)}, not the tool registered"
                        )

            result = race([provider], step, workers=workers)
        _raced(promise, result, workers)


class ToolExecutorContract(Contract):
    """The :class:`~execproto.protocols.IToolExecutor` contract.

    Implement :meth:`make_executor`. The executor runs the kit's
    :class:`~execproto.testing.Calculator`, passed to it as the ``tool`` argument.

    Promises of the seed document: ``execute`` runs a sync operation and ``execute_async``
    an async one (and a sync one), returning the operation's result; parameters the
    operation cannot accept are refused before it runs; the operation's error reaches the
    caller, itself or chained. execproto's stricter rules: ``execute`` runs an async
    operation too and both paths return equal values; parameters called ``tool`` and
    ``operation_name`` reach the operation; unknown operations and unacceptable parameters
    raise :class:`ValueError`; private names, properties and data attributes are never
    operations; ``execute_async`` never blocks the event loop; ``execute`` is thread safe.
    """

    def make_executor(self) -> Any:
        """Return a new executor.

        Raises:
            NotImplementedError: not overridden.
        """
        raise _not_provided(self, "make_executor")

    def _sync(self, executor: Any, tool: Any, name: str, /, **params: Any) -> Outcome:
        return outcome(executor.execute, tool, name, **params)

    def _async(self, executor: Any, tool: Any, name: str, /, **params: Any) -> Outcome:
        return self.call_outcome(executor.execute_async, tool, name, **params)

    def _expect_result(
        self, path: str, operation: str, params: dict[str, int], expected: int
    ) -> None:
        call = f"{path}(tool, {operation!r}, {', '.join(f'{k}={v}' for k, v in params.items())})"
        promise = f"{call} must return the operation's result, {expected!r}"
        with self.using(self.make_executor()) as executor:
            run = self._sync if path == "execute" else self._async
            got = run(executor, Calculator(), operation, **params)
        if got.raised or got.value != expected:
            raise broken(promise, f"it {got}", got.error)

    def test_execute_returns_the_result_of_a_sync_operation(self) -> None:
        """``execute`` runs a synchronous operation and returns its result."""
        self._expect_result("execute", "add", {"a": 2, "b": 3}, 5)

    def test_execute_async_returns_the_result_of_an_async_operation(self) -> None:
        """``execute_async`` awaits an asynchronous operation and returns its result."""
        self._expect_result("execute_async", "multiply", {"a": 2, "b": 3}, 6)

    @beyond_seed(
        "the seed document does not say what execute does with an async operation (its "
        "sketch returns the coroutine); execproto's execute runs it as execute_async does"
    )
    def test_execute_runs_an_async_operation_to_its_result_or_error(self) -> None:
        """``execute`` runs an asynchronous operation to its result (not a coroutine), and
        an error it raises reaches the caller, itself or chained."""
        self._expect_result("execute", "multiply", {"a": 2, "b": 3}, 6)
        with self.using(self.make_executor()) as executor:
            got = self._sync(executor, Calculator(), "fail_async", message="boom")
        if not _raised_from(got.error, ContractToolError):
            raise broken(
                "execute(tool, 'fail_async', message='boom') must raise the operation's error, "
                "itself or chained (from)",
                f"the operation raised ContractToolError('boom'); execute {got}",
                got.error,
            )

    def test_execute_async_runs_a_sync_operation(self) -> None:
        """``execute_async`` runs a synchronous operation and returns its result."""
        self._expect_result("execute_async", "add", {"a": 2, "b": 3}, 5)

    @beyond_seed("the seed document does not promise that both paths return the same value")
    def test_execute_and_execute_async_return_equal_values(self) -> None:
        """For any JSON-like value (unicode, huge, deep), both paths return the value the
        operation returned, equal to it."""
        promise = "execute and execute_async must both return the value the operation returned"

        @self.examples(value=strategies.json_values())
        def check(value: Any) -> None:
            with self.using(self.make_executor()) as executor:
                sync = self._sync(executor, Calculator(), "echo", value=value)
                async_ = self._async(executor, Calculator(), "echo", value=value)
            if sync.raised or async_.raised or not (value == sync.value == async_.value):
                raise broken(
                    promise,
                    f"for echo(value={show(value)}), execute {sync} and execute_async {async_}",
                    sync.error or async_.error,
                )

        check()

    @beyond_seed(
        "the seed's signature execute(self, tool, operation_name, **params) cannot pass them; "
        "execproto makes tool and operation_name positional-only"
    )
    def test_parameters_named_tool_and_operation_name_reach_the_operation(self) -> None:
        """An operation may take parameters called ``tool`` and ``operation_name``."""
        promise = (
            "parameters called tool and operation_name must reach the operation (the "
            "executor's own are positional-only)"
        )
        expected = {"tool": "t", "operation_name": "o"}
        with self.using(self.make_executor()) as executor:
            for path, run in (("execute", self._sync), ("execute_async", self._async)):
                got = run(executor, Calculator(), "describe", tool="t", operation_name="o")
                if got.raised or got.value != expected:
                    raise broken(
                        promise,
                        f"{path}(tool, 'describe', tool='t', operation_name='o') {got}",
                        got.error,
                    )

    def _unacceptable(self) -> list[dict[str, Any]]:
        return [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"x": 1, "y": 2}]

    def test_unacceptable_parameters_are_refused_before_the_operation_runs(self) -> None:
        """A missing, extra or unknown parameter makes both paths raise, and the operation
        never runs."""
        promise = (
            "parameters the operation cannot accept (missing, extra, unknown) must be refused "
            "before the operation runs"
        )
        with self.using(self.make_executor()) as executor:
            for params in self._unacceptable():
                for path, run, operation in (
                    ("execute", self._sync, "add"),
                    ("execute_async", self._async, "multiply"),
                ):
                    tool = Calculator()
                    got = run(executor, tool, operation, **params)
                    call = f"{path}(tool, {operation!r}, **{params!r})"
                    if not got.raised:
                        raise broken(promise, f"{call} {got}")
                    if tool.calls:
                        raise broken(
                            promise, f"{call} raised only after the operation ran", got.error
                        )

    @beyond_seed(
        "the seed document asks for parameter validation but names no exception; execproto "
        "raises ValueError (InvalidOperationError)"
    )
    def test_unacceptable_parameters_raise_value_error(self) -> None:
        """A missing, extra or unknown parameter raises :class:`ValueError` on both paths."""
        promise = "parameters the operation cannot accept must raise ValueError"
        with self.using(self.make_executor()) as executor:
            for params in self._unacceptable():
                for path, run, operation in (
                    ("execute", self._sync, "add"),
                    ("execute_async", self._async, "multiply"),
                ):
                    got = run(executor, Calculator(), operation, **params)
                    if not isinstance(got.error, ValueError):
                        raise broken(
                            promise, f"{path}(tool, {operation!r}, **{params!r}) {got}", got.error
                        )

    @beyond_seed(
        "the seed document does not say what happens for an operation the tool does not "
        "have; execproto raises ValueError (InvalidOperationError)"
    )
    def test_an_unknown_operation_raises_value_error(self) -> None:
        """A name that is no operation of the tool raises :class:`ValueError` on both paths."""
        promise = "an operation the tool does not have must raise ValueError"
        with self.using(self.make_executor()) as executor:
            for name in ("missing", "", "add.extra"):
                for path, run in (("execute", self._sync), ("execute_async", self._async)):
                    got = run(executor, Calculator(), name)
                    if not isinstance(got.error, ValueError):
                        raise broken(promise, f"{path}(tool, {name!r}) {got}", got.error)

    @beyond_seed("the seed's own sketch runs getattr(tool, operation_name) for any name")
    def test_private_names_are_not_operations(self) -> None:
        """Names starting with ``_`` are refused on both paths and never run."""
        promise = "names starting with '_' are not operations: they must be refused and never run"
        tool = Calculator()
        with self.using(self.make_executor()) as executor:
            for name in ("_secret", "__init__", "__class__", "_record"):
                for path, run in (("execute", self._sync), ("execute_async", self._async)):
                    got = run(executor, tool, name)
                    if not got.raised or tool.calls:
                        raise broken(
                            promise, f"{path}(tool, {name!r}) {got}; the tool ran {tool.calls!r}"
                        )

    @beyond_seed("the seed's own sketch runs getattr(tool, operation_name) for any name")
    def test_properties_and_data_attributes_are_not_operations(self) -> None:
        """A property, a class attribute and an instance attribute are refused on both
        paths, and the property is never evaluated."""
        promise = (
            "properties and data attributes are not operations: they must be refused, and a "
            "property never evaluated"
        )
        tool = Calculator()
        with self.using(self.make_executor()) as executor:
            for name in ("status", "label", "calls"):
                for path, run in (("execute", self._sync), ("execute_async", self._async)):
                    got = run(executor, tool, name)
                    if not got.raised or tool.status_reads:
                        raise broken(
                            promise,
                            f"{path}(tool, {name!r}) {got}; the property status was read "
                            f"{tool.status_reads} times",
                        )

    def test_an_operations_error_reaches_the_caller_itself_or_chained(self) -> None:
        """The error a sync operation raises reaches the caller of ``execute``, and the
        error a sync or async one raises the caller of ``execute_async``, as itself or as
        the ``__cause__`` of the executor's own error."""
        promise = "an error the operation raised must reach the caller, itself or chained (from)"
        with self.using(self.make_executor()) as executor:
            for path, run, name in (
                ("execute", self._sync, "fail"),
                ("execute_async", self._async, "fail"),
                ("execute_async", self._async, "fail_async"),
            ):
                got = run(executor, Calculator(), name, message="boom")
                if not _raised_from(got.error, ContractToolError):
                    raise broken(
                        promise,
                        f"the operation raised ContractToolError('boom'); {path}(tool, "
                        f"{name!r}, message='boom') {got}, which does not chain to it",
                        got.error,
                    )

    @beyond_seed("the seed's own sketch calls a sync operation on the event loop")
    def test_execute_async_does_not_block_the_event_loop(self) -> None:
        """While ``execute_async`` runs a blocking sync operation, the event loop runs
        other coroutines."""
        promise = "execute_async must not block the event loop while a sync operation runs"
        tool = _GateTool()

        async def scenario(executor: Any) -> Any:
            tool.loop = asyncio.get_running_loop()
            tool.entered = asyncio.Event()
            call = asyncio.ensure_future(executor.execute_async(tool, "wait_for_gate"))
            entered = asyncio.ensure_future(tool.entered.wait())
            # The gate opens from the event loop: if the operation holds the loop, this
            # coroutine cannot run until the operation gave up waiting.
            await asyncio.wait({call, entered}, return_when=asyncio.FIRST_COMPLETED)
            entered.cancel()
            tool.gate.set()
            return await call

        with self.using(self.make_executor()) as executor:
            released = outcome(self.run, scenario(executor))
        if released.value is not True:
            raise broken(
                promise,
                f"a sync operation waiting for the loop to release it waited {_GATE_TIMEOUT} s "
                f"in vain (it ran on the loop's thread); execute_async {released}",
                released.error,
            )

    @beyond_seed(
        "the seed document does not ask a tool executor to be thread safe; execproto's "
        "protocol does"
    )
    def test_execute_is_safe_from_several_threads_at_once(self) -> None:
        """Several threads call ``execute`` at once; each gets its own call's result."""
        promise = "execute must be safe to call from several threads at once"
        tool = Calculator()
        workers = 4
        with self.using(self.make_executor()) as executor:

            def step(worker: int, round_: int) -> None:
                for index in range(4):
                    a, b = worker * 1_000_000 + round_, index
                    got = executor.execute(tool, "add", a=a, b=b)
                    if got != a + b:
                        raise AssertionError(
                            f"execute(tool, 'add', a={a}, b={b}) returned {show(got)}"
                        )

            result = race([executor], step, workers=workers, rounds=200)
        _raced(promise, result, workers)


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


class CacheProviderContract(Contract):
    """The :class:`~execproto.protocols.ICacheProvider` contract.

    Implement :meth:`make_cache`. Declare what bounds the cache's memory, as the protocol
    requires one: ``maxsize`` (the cache from :meth:`make_cache` holds at most that many
    entries), ``ttl`` (entries expire after that many seconds; also override
    :meth:`make_cache_with_clock` so the suite can move time without sleeping), or
    ``memory_bound`` (a sentence naming another bound, e.g. the server's eviction policy).
    Set ``cache_factory = "module:callable"`` (a zero-argument callable importable in a fresh
    interpreter) to check that keys are the same in another process.

    Promises of the seed document: a miss reads ``None``; a stored value reads back equal,
    the latest one under a key, apart from the values under other keys; equal inputs give
    equal string keys and a change of any part of the context (operation, user, task,
    positional or keyword argument) another key; the cache is thread safe; the declared
    size and expiry are honoured; and over any sequence of calls it behaves like a dict of
    its keys. execproto's stricter rules: keys tell argument types apart (``1``, ``1.0``,
    ``True``, ``"1"``, tuple and list), an argument without canonical encoding raises
    :class:`TypeError`, keys are the same in every process, and a memory bound is declared.
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

    def test_get_from_cache_returns_none_for_a_key_never_stored(self) -> None:
        """Reading a key nothing was stored under returns ``None``."""
        promise = "get_from_cache(key) must return None for a key nothing was stored under"
        with self.using(self.make_cache()) as cache:
            key = cache.generate_cache_key("calc.add", "u1", "t1", (1, 2), {})
            got = outcome(cache.get_from_cache, key)
        if got.raised or got.value is not None:
            raise broken(promise, f"it {got}", got.error)

    def test_a_stored_value_is_read_back_equal(self) -> None:
        """Any JSON-like value stored (adversarial ones included: huge, long, deep, wide,
        control and combining characters) reads back equal."""
        promise = "get_from_cache(key) must return a value equal to the one stored under key"

        def round_trip(value: Any) -> None:
            with self.using(self.make_cache()) as cache:
                key = cache.generate_cache_key("calc.echo", "u1", "t1", (), {"value": 1})
                cache.add_to_cache(key, value)
                got = outcome(cache.get_from_cache, key)
            if got.raised or not got.value == value:
                raise broken(promise, f"stored {show(value)}, it {got}", got.error)

        for value in strategies.ADVERSARIAL_VALUES:
            round_trip(value)
        self.examples(value=strategies.json_values())(round_trip)()

    def test_add_to_cache_replaces_the_value_under_a_key(self) -> None:
        """Storing under a key that holds a value replaces that value."""
        promise = "add_to_cache(key, value) must replace the value stored under key"
        with self.using(self.make_cache()) as cache:
            key = cache.generate_cache_key("calc.add", "u1", "t1", (1, 2), {})
            cache.add_to_cache(key, "first")
            cache.add_to_cache(key, "second")
            got = outcome(cache.get_from_cache, key)
        if got.value != "second":
            raise broken(promise, f"after storing 'first' then 'second', it {got}", got.error)

    def test_values_under_different_keys_are_kept_apart(self) -> None:
        """Values stored under different keys (no more than ``maxsize``) all read back,
        each under its own key."""
        promise = "values stored under different keys must each read back under their own key"
        count = min(5, self.maxsize or 5)
        with self.using(self.make_cache()) as cache:
            keys = [cache.generate_cache_key("calc.add", "u", "t", (n,), {}) for n in range(count)]
            for index, key in enumerate(keys):
                cache.add_to_cache(key, f"value {index}")
            read = [cache.get_from_cache(key) for key in keys]
        expected = [f"value {index}" for index in range(count)]
        if expected != read:
            raise broken(promise, f"stored {expected!r} under {count} keys, read {read!r}")

    def test_equal_inputs_give_equal_string_keys(self) -> None:
        """``generate_cache_key`` returns a ``str``, the same for equal inputs, from any
        cache instance, whatever the order of the keyword arguments."""
        promise = "generate_cache_key must return a str, the same for equal inputs"
        args: tuple[Any, ...] = ("calc.add", "u1", "t1", (1, "x"))
        with self.using(self.make_cache()) as cache, self.using(self.make_cache()) as other:
            first = cache.generate_cache_key(*args, {"a": 1, "b": 2})
            again = cache.generate_cache_key(*args, {"a": 1, "b": 2})
            reordered = other.generate_cache_key(*args, {"b": 2, "a": 1})
        if not isinstance(first, str):
            raise broken(promise, f"it returned {show(first)} of type {type(first).__name__}")
        if first != again:
            raise broken(promise, f"it returned {first!r}, then {again!r} for the same inputs")
        if first != reordered:
            raise broken(
                promise,
                f"kwargs {{'a': 1, 'b': 2}} gave {first!r}, the equal {{'b': 2, 'a': 1}} gave "
                f"{reordered!r}",
            )

    def test_the_key_changes_with_every_part_of_the_context(self) -> None:
        """Changing the operation, user, task, a positional argument, a keyword argument's
        value or name, or passing an argument by position instead of keyword, changes the
        key."""
        promise = "generate_cache_key must give another key when any part of the context changes"
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
        with self.using(self.make_cache()) as cache:
            key = cache.generate_cache_key(*base)
            same = [
                part for part, args in variants.items() if cache.generate_cache_key(*args) == key
            ]
        if same:
            raise broken(promise, f"it ignores a change of {', '.join(same)} (key {key!r})")

    @beyond_seed(
        "the seed's own key, md5(json.dumps(...)), gives (1,) and [1] one key; execproto's "
        "keys are type-aware"
    )
    def test_the_key_tells_argument_types_apart(self) -> None:
        """``1``, ``1.0``, ``True``, ``"1"``, ``None``, ``"None"``, ``(1,)`` and ``[1]`` as an
        argument give eight different keys."""
        promise = "generate_cache_key must tell argument types apart (1, 1.0, True, '1', (1,), [1])"
        with self.using(self.make_cache()) as cache:
            keys = {
                repr(value): cache.generate_cache_key("calc.echo", "u", "t", (value,), {})
                for value in (1, 1.0, True, "1", None, "None", (1,), [1])
            }
        clashes = {
            key: [value for value, other in keys.items() if other == key]
            for key in set(keys.values())
        }
        shared = [values for values in clashes.values() if len(values) > 1]
        if shared:
            raise broken(promise, f"these arguments share a key: {shared!r}")

    def test_different_contexts_get_different_keys(self) -> None:
        """For any key input and five variants of it, each differing in one part (compared
        type-aware), every variant gets another key."""
        promise = "generate_cache_key must give another key when any part of the context changes"

        @self.examples(drawn=strategies.key_input_variants())
        def check(drawn: tuple[strategies.KeyInput, list[strategies.KeyInput]]) -> None:
            base, variants = drawn
            parts = ("operation", "user", "task", "args", "kwargs")
            with self.using(self.make_cache()) as cache:
                key = cache.generate_cache_key(*base)
                same = [
                    f"{part} ({show(base[index])} -> {show(variant[index])})"
                    for index, (part, variant) in enumerate(zip(parts, variants, strict=True))
                    if cache.generate_cache_key(*variant) == key
                ]
            if same:
                raise broken(promise, f"for {show(base)} it ignores a change of {'; '.join(same)}")

        check()

    @beyond_seed(
        "the seed document says nothing of arguments that cannot be encoded; execproto "
        "raises TypeError rather than fall back to str() or id()"
    )
    def test_an_argument_without_canonical_encoding_raises_type_error(self) -> None:
        """An argument only its identity tells apart (an opaque object), positional or
        keyword, raises :class:`TypeError` rather than a key from ``str()`` or ``id()``."""
        promise = (
            "generate_cache_key must raise TypeError for an argument it cannot encode canonically"
        )
        with self.using(self.make_cache()) as cache:
            for args, kwargs in (((_Opaque(),), {}), ((), {"value": _Opaque()})):
                got = outcome(cache.generate_cache_key, "calc.echo", "u", "t", args, kwargs)
                if not isinstance(got.error, TypeError):
                    raise broken(
                        promise, f"for args={args!r}, kwargs={kwargs!r} it {got}", got.error
                    )

    def test_the_cache_is_safe_from_several_threads_at_once(self) -> None:
        """Threads storing and reading at once (with entries evicted, and expiring when
        ``ttl`` is declared) never raise and never read another key's value."""
        promise = (
            "get_from_cache and add_to_cache must be safe to call from several threads at once"
        )
        workers = 8
        # Enough keys that a bounded cache evicts all the time; reads aim at the keys about
        # to be evicted (or expired), where an unlocked check-then-act breaks.
        span = min(256, max(8, 2 * (self.maxsize or 16) // workers))
        clock = ManualClock() if self.ttl is not None else None
        cache = self.make_cache() if clock is None else self.make_cache_with_clock(clock)
        with self.using(cache):
            # Every part of a worker's keys differs from the other workers', so that a key
            # that leaves a part out (another check's business) does not show here.
            keys = [
                [
                    cache.generate_cache_key(f"calc.op{w}", f"u{w}", f"t{w}", (w, i), {"w": w})
                    for i in range(span)
                ]
                for w in range(workers)
            ]

            # Each key stored once first: a read in the race is of a key stored before.
            for worker, worker_keys in enumerate(keys):
                for index, key in enumerate(worker_keys):
                    cache.add_to_cache(key, (worker, index, -1))

            def step(worker: int, round_: int) -> None:
                other = (worker + 1) % workers
                for offset in range(4):
                    index = (round_ * 4 + offset) % span
                    cache.add_to_cache(keys[worker][index], (worker, index, round_))
                    target = (index - span // 2) % span
                    found = cache.get_from_cache(keys[other][target])
                    if found is not None and tuple(found[:2]) != (other, target):
                        raise AssertionError(
                            f"the key of ({other}, {target}) read {show(found)}, a value "
                            f"stored under another key"
                        )

            def between_rounds(round_: int) -> None:
                if clock is not None and self.ttl is not None and round_ % 8 == 7:
                    clock.advance(self.ttl)

            result = race([cache], step, workers=workers, rounds=250, between_rounds=between_rounds)
        _raced(promise, result, workers)

    @beyond_seed(
        "the seed document asks caches to support expiry and clean-up, but not to declare a bound"
    )
    def test_the_suite_declares_a_memory_bound(self) -> None:
        """The suite subclass declares ``maxsize``, ``ttl`` or ``memory_bound``."""
        if (self.maxsize, self.ttl, self.memory_bound) == (None, None, None):
            raise broken(
                "a cache's memory must be bounded",
                f"{type(self).__name__} declares no bound: set maxsize, ttl, or memory_bound "
                f"(a sentence naming the bound)",
            )

    def test_the_cache_holds_at_most_maxsize_entries_and_keeps_the_newest(self) -> None:
        """After storing three times ``maxsize`` entries, at most ``maxsize`` read back and
        the last one stored is among them."""
        if self.maxsize is None:
            pytest.skip("declare maxsize to check the size bound")
        promise = f"the cache must hold at most maxsize={self.maxsize} entries and keep the newest"
        with self.using(self.make_cache()) as cache:
            keys = [
                cache.generate_cache_key("calc.add", "u", "t", (index,), {})
                for index in range(3 * self.maxsize)
            ]
            for index, key in enumerate(keys):
                cache.add_to_cache(key, index)
            kept = [
                index for index, key in enumerate(keys) if cache.get_from_cache(key) is not None
            ]
        if len(kept) > self.maxsize:
            raise broken(promise, f"{len(kept)} of {len(keys)} entries stored still read back")
        if len(keys) - 1 not in kept:
            raise broken(promise, f"the last entry stored does not read back; these do: {kept!r}")

    def test_entries_expire_after_ttl(self) -> None:
        """An entry reads back until ``ttl`` seconds after it was stored, and ``None``
        afterwards; storing again makes it live again."""
        if self.ttl is None:
            pytest.skip("declare ttl (and make_cache_with_clock) to check expiry")
        ttl = self.ttl
        promise = (
            f"an entry must read back for ttl={ttl} s after it was stored, and None afterwards"
        )
        clock = ManualClock()
        with self.using(self.make_cache_with_clock(clock)) as cache:
            early = cache.generate_cache_key("calc.add", "u", "t", (1,), {})
            late = cache.generate_cache_key("calc.add", "u", "t", (2,), {})
            cache.add_to_cache(early, "early")
            clock.advance(ttl * 0.5)
            got = cache.get_from_cache(early)
            if got != "early":
                raise broken(promise, f"{ttl * 0.5} s after storing 'early' it read {show(got)}")
            cache.add_to_cache(late, "late")
            clock.advance(ttl * 0.75)
            got = cache.get_from_cache(early)
            if got is not None:
                raise broken(promise, f"{ttl * 1.25} s after storing 'early' it read {show(got)}")
            got = cache.get_from_cache(late)
            if got != "late":
                raise broken(promise, f"{ttl * 0.75} s after storing 'late' it read {show(got)}")
            clock.advance(ttl)
            got = cache.get_from_cache(late)
            if got is not None:
                raise broken(promise, f"{ttl * 1.75} s after storing 'late' it read {show(got)}")
            cache.add_to_cache(early, "again")
            got = cache.get_from_cache(early)
            if got != "again":
                raise broken(promise, f"storing 'again' under an expired key, it read {show(got)}")

    def test_the_cache_behaves_like_a_dict_of_its_keys(self) -> None:
        """Over any sequence of key generations, stores and reads, a key reads back the
        last value stored under it (or ``None`` when evicted from a bounded cache, or never
        stored), equal inputs give equal keys and different ones different keys."""
        machine = strategies.cache_state_machine(self.make_cache, maxsize=self.maxsize)
        run_state_machine_as_test(
            self.seeded(machine),
            settings=settings(self.active_hypothesis_settings(), stateful_step_count=30),
        )

    @beyond_seed("the seed document does not ask for keys that are the same across processes")
    def test_keys_are_the_same_in_another_process(self) -> None:
        """A fresh interpreter (with another ``PYTHONHASHSEED``) makes the same key for the
        same inputs: no salted ``hash()``, no ``id()``."""
        if self.cache_factory is None:
            pytest.skip('set cache_factory = "module:callable" to compare keys across processes')
        promise = "generate_cache_key must give the same key in every process and interpreter run"
        arguments: tuple[Any, ...] = (
            "calc.add",
            "u1",
            "t1",
            (1, "x", [1.5, None], {"b": 2, "a": 1}),
            {"k": {"z": [True], "y": "é"}},
        )
        with self.using(self.make_cache()) as cache:
            expected = cache.generate_cache_key(*arguments)
        script = (
            "import importlib, sys\n"
            "module, _, name = sys.argv[1].partition(':')\n"
            "cache = getattr(importlib.import_module(module), name)()\n"
            f"print(cache.generate_cache_key(*{arguments!r}))\n"
        )
        keys: list[str] = []
        for hash_seed in ("1", "2"):
            environment = {
                **os.environ,
                "PYTHONHASHSEED": hash_seed,
                "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
            }
            completed = subprocess.run(
                [sys.executable, "-c", script, self.cache_factory],
                capture_output=True,
                text=True,
                env=environment,
                check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError(
                    f"cache_factory {self.cache_factory!r} could not make a key in a fresh "
                    f"interpreter (exit {completed.returncode}):\n{completed.stderr}"
                )
            keys.append(completed.stdout.strip())
        if [expected, expected] != keys:
            raise broken(
                promise,
                f"this process made {expected!r}; fresh interpreters with PYTHONHASHSEED=1 and "
                f"2 made {keys[0]!r} and {keys[1]!r}",
            )


class _Opaque:
    """A value with no canonical encoding: only its identity distinguishes instances."""


def _status(step: Any) -> str:
    # A step result's status as its value: execproto's and a third party's enum, or a str.
    status: Any = getattr(step, "status", None)
    value: Any = getattr(status, "value", status)
    return str(value)


def _code(step: Any) -> str | None:
    code: Any = getattr(step, "error_code", None)
    return None if code is None else str(getattr(code, "value", code))


def _statuses(steps: list[Any]) -> list[tuple[str, str | None]]:
    return [(_status(step), _code(step)) for step in steps]


class OperationExecutorContract(Contract):
    """The :class:`~execproto.protocols.IOperationExecutor` contract.

    Implement :meth:`make_operation_executor`; the executor must run the tools it is given
    under the given names (``"calc.add"`` runs ``tools["calc"].add``). Declare
    ``concurrency_limit`` (the most operations the executor runs at once in batch and
    parallel modes) to check that it is honoured, ``supports_result_references = True``
    to check ``"$result[N].path"`` references in sequences, and ``supports_dependencies =
    True`` to check items with ``id``/``depends_on`` in parallel runs (an item starts after
    the items it depends on finished; it is skipped, never run, when one of them failed).

    Promises of the seed document: ``execute_operation`` runs sync and async operations and
    an operation's error reaches its caller; batch and parallel results come in input
    order; parallel operations run at the same time; a sequence runs one operation after
    another, stops after a failure when asked and runs everything otherwise, and awaits an
    async ``save_callback`` after each step. execproto's stricter rules: malformed specs
    raise :class:`ValueError`, unknown tools :class:`LookupError`, non-operations are
    refused; a failed batch item is its exception in place, a failed parallel step a failed
    step with its error code; the concurrency limit holds; a stopped sequence still returns
    one step per operation; a sync callback is called and a failing one loses nothing;
    result references and dependencies work as declared.
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
        """``execute_operation("calc.add", ...)`` (sync) and ``"calc.multiply"`` (async)
        return the operations' results."""
        executor, _, _ = self._build()
        with self.using(executor):
            for spec, expected in (("calc.add", 5), ("calc.multiply", 6)):
                got = self.call_outcome(executor.execute_operation, spec, {"a": 2, "b": 3})
                if got.raised or got.value != expected:
                    raise broken(
                        f"execute_operation({spec!r}, {{'a': 2, 'b': 3}}) must return the "
                        f"operation's result, {expected}",
                        f"it {got}",
                        got.error,
                    )

    @beyond_seed("the seed's own sketch splits the spec at the first '.' and names no exception")
    def test_a_malformed_spec_raises_value_error(self) -> None:
        """A spec that is not ``tool.operation`` with two public identifiers raises
        :class:`ValueError`, and nothing runs."""
        promise = "execute_operation must raise ValueError for a spec that is not 'tool.operation'"
        executor, calc, _ = self._build()
        with self.using(executor):
            for spec in strategies.MALFORMED_SPECS:
                got = self.call_outcome(executor.execute_operation, spec, {"a": 1, "b": 2})
                if not isinstance(got.error, ValueError) or calc.calls:
                    raise broken(
                        promise,
                        f"execute_operation({spec!r}, ...) {got}; ran {calc.calls!r}",
                        got.error,
                    )

    @beyond_seed("the seed document names no exception for an unknown tool")
    def test_an_unknown_tool_raises_lookup_error(self) -> None:
        """A spec naming no registered tool raises :class:`LookupError`."""
        executor, _, _ = self._build()
        with self.using(executor):
            got = self.call_outcome(executor.execute_operation, "missing.add", {"a": 1, "b": 2})
        if not isinstance(got.error, LookupError):
            raise broken(
                "execute_operation must raise LookupError for an unknown tool",
                f"execute_operation('missing.add', ...) {got}",
                got.error,
            )

    @beyond_seed("the seed's own sketch runs getattr(tool, operation_name) for any name")
    def test_names_that_are_not_operations_are_refused(self) -> None:
        """A missing operation, a property and a data attribute of a tool are refused with
        :class:`ValueError` or :class:`LookupError`, and the property is never evaluated."""
        promise = (
            "execute_operation must refuse (ValueError or LookupError) what is no operation: "
            "a missing name, a property, a data attribute"
        )
        executor, calc, _ = self._build()
        with self.using(executor):
            for spec in ("calc.missing", "calc.status", "calc.label"):
                got = self.call_outcome(executor.execute_operation, spec, {})
                if not isinstance(got.error, (ValueError, LookupError)) or calc.status_reads:
                    raise broken(
                        promise,
                        f"execute_operation({spec!r}, {{}}) {got}; the property status was read "
                        f"{calc.status_reads} times",
                        got.error,
                    )

    def test_an_operations_error_reaches_the_caller_itself_or_chained(self) -> None:
        """The error an operation raises reaches the caller of ``execute_operation`` as
        itself or as the ``__cause__`` of the executor's own error."""
        executor, _, _ = self._build()
        with self.using(executor):
            got = self.call_outcome(executor.execute_operation, "calc.fail", {"message": "boom"})
        if not _raised_from(got.error, ContractToolError):
            raise broken(
                "an error the operation raised must reach the caller, itself or chained (from)",
                f"calc.fail raised ContractToolError('boom'); execute_operation {got}, which "
                f"does not chain to it",
                got.error,
            )

    def _staggered(self, count: int) -> list[dict[str, Any]]:
        # Earlier operations yield more often, so they finish last.
        return [
            {"operation": "probe.hold", "params": {"value": index, "yields": count - index}}
            for index in range(count)
        ]

    def test_batch_returns_results_in_input_order(self) -> None:
        """``batch_execute_operations`` returns one result per operation in input order,
        also when later operations finish first."""
        executor, _, _ = self._build()
        with self.using(executor):
            results = self.call(executor.batch_execute_operations, self._staggered(8))
        if list(range(8)) != list(results):
            raise broken(
                "batch_execute_operations must return the results in input order",
                f"operations returning 0 to 7 (finishing in reverse) gave {show(results)}",
            )

    @beyond_seed(
        "the seed document does not say what a failed operation becomes in a batch (its "
        "sketch gathers with return_exceptions)"
    )
    def test_batch_returns_a_failed_operations_exception_in_its_place(self) -> None:
        """A failing operation in a batch is its exception (or one chained to it) in its
        place; the others' results are around it."""
        promise = "batch_execute_operations must put a failed operation's exception in its place"
        executor, _, _ = self._build()
        operations = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self.using(executor):
            got = self.call_outcome(executor.batch_execute_operations, operations)
        results = [] if got.raised else list(got.value)
        if (
            len(results) != 3
            or (results[0], results[2]) != (2, 4)
            or not _raised_from(results[1], ContractToolError)
        ):
            raise broken(
                promise,
                f"add, fail (raising ContractToolError) and multiply gave: it {got}",
                got.error,
            )

    def test_parallel_returns_step_results_in_input_order(self) -> None:
        """``execute_parallel_operations`` returns one completed step per operation, in
        input order, also when later operations finish first."""
        executor, _, _ = self._build()
        with self.using(executor):
            steps = self.call(executor.execute_parallel_operations, self._staggered(8))
        got = [(step.result, step.completed, _status(step)) for step in steps]
        expected = [(index, True, "completed") for index in range(8)]
        if expected != got:
            raise broken(
                "execute_parallel_operations must return a completed step per operation, in "
                "input order",
                f"operations returning 0 to 7 (finishing in reverse) gave (result, completed, "
                f"status) {got!r}",
            )

    @beyond_seed(
        "the seed's own sketch mixes exceptions into the steps and gives every failure E003"
    )
    def test_parallel_reports_each_failure_as_a_failed_step_with_its_error_code(self) -> None:
        """A failing operation becomes a failed step with ``E003``; an unknown tool, a
        malformed spec and unacceptable parameters failed steps with ``E001``; the others'
        results are in their places."""
        promise = (
            "execute_parallel_operations must report each failure as a failed step with its "
            "code (E003 for the operation's error, E001 for an unknown tool, a malformed spec "
            "or bad parameters)"
        )
        executor, _, _ = self._build()
        operations: list[dict[str, Any]] = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "missing.add", "params": {"a": 1, "b": 1}},
            {"operation": "not a spec", "params": {}},
            {"operation": "calc.add", "params": {"a": 1}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self.using(executor):
            steps = self.call(executor.execute_parallel_operations, operations)
        bare = [show(step) for step in steps if isinstance(step, BaseException)]
        if bare or len(steps) != 6:
            raise broken(promise, f"it returned {len(steps)} items, bare exceptions {bare!r}")
        expected = [("failed", "E003"), ("failed", "E001"), ("failed", "E001"), ("failed", "E001")]
        codes = _statuses(steps[1:5])
        if (
            (steps[0].result, steps[5].result) != (2, 4)
            or expected != codes
            or [False] * 4 != [step.completed for step in steps[1:5]]
            or "boom" not in (steps[1].error_message or "")
        ):
            raise broken(
                promise,
                f"add, fail, unknown tool, malformed spec, missing parameter, multiply gave "
                f"results {show([step.result for step in steps])} and (status, code) "
                f"{_statuses(steps)!r}; the failure's message {steps[1].error_message!r}",
            )

    def test_parallel_operations_run_at_the_same_time(self) -> None:
        """Two parallel operations that each wait for the other both get there."""
        if self.concurrency_limit is not None and self.concurrency_limit < 2:
            pytest.skip("a concurrency limit below 2 runs operations one at a time")
        executor, _, _ = self._build()
        meet = {"operation": "probe.meet", "params": {"parties": 2}}
        with self.using(executor):
            steps = self.call(executor.execute_parallel_operations, [meet, meet])
        met = [step.result for step in steps]
        if [True, True] != met:
            raise broken(
                "execute_parallel_operations must run the operations at the same time",
                f"two operations waiting for each other met: {met!r} (they ran one at a time)",
            )

    def _check_limit(self, method: str) -> None:
        limit = self.concurrency_limit
        if limit is None:
            pytest.skip("declare concurrency_limit to check that it is honoured")
        executor, _, probe = self._build()
        operations = self._staggered(3 * limit + 1)
        with self.using(executor):
            results = self.call(getattr(executor, method), operations)
        promise = f"{method} must run at most concurrency_limit={limit} operations at once"
        if 3 * limit + 1 != len(results):
            raise broken(promise, f"{3 * limit + 1} operations gave {len(results)} results")
        if probe.max_in_flight > limit:
            raise broken(promise, f"{probe.max_in_flight} ran at once")

    @beyond_seed("the seed's own sketch gathers every operation at once, unbounded")
    def test_batch_honours_the_concurrency_limit(self) -> None:
        """A batch of ``3 * concurrency_limit + 1`` operations never has more than
        ``concurrency_limit`` running at once."""
        self._check_limit("batch_execute_operations")

    @beyond_seed("the seed's own sketch gathers every operation at once, unbounded")
    def test_parallel_honours_the_concurrency_limit(self) -> None:
        """Parallel operations never have more than ``concurrency_limit`` running at once."""
        self._check_limit("execute_parallel_operations")

    def test_sequence_runs_operations_one_after_another_in_order(self) -> None:
        """``execute_operations_sequence`` starts each operation after the previous one
        finished, in input order, and returns their results in that order."""
        executor, _, probe = self._build()
        with self.using(executor):
            steps = self.call(executor.execute_operations_sequence, self._staggered(5), "u1", "t1")
        results = [step.result for step in steps]
        if (list(range(5)), list(range(5)), 1) != (results, probe.started, probe.max_in_flight):
            raise broken(
                "execute_operations_sequence must run the operations one after another, in order",
                f"five operations started in the order {probe.started!r}, {probe.max_in_flight} "
                f"at once, and returned {show(results)}",
            )

    def _failing_plan(self) -> list[dict[str, Any]]:
        return [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.fail", "params": {"message": "boom"}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]

    def _stopped(self) -> tuple[list[Any], Calculator]:
        executor, calc, _ = self._build()
        with self.using(executor):
            steps = self.call(
                executor.execute_operations_sequence,
                self._failing_plan(),
                "u1",
                "t1",
                stop_on_failure=True,
            )
        return list(steps), calc

    def test_sequence_stops_after_the_first_failure_when_asked(self) -> None:
        """With ``stop_on_failure=True``, nothing runs after a failed step; the steps before
        it and the failed step are reported (completed, and failed with ``E003``)."""
        promise = "with stop_on_failure=True, execute_operations_sequence must stop after a failure"
        steps, calc = self._stopped()
        if ["add", "fail"] != calc.calls:
            raise broken(promise, f"add, fail, multiply ran {calc.calls!r}")
        if len(steps) < 2 or (steps[0].completed, steps[0].result) != (True, 2):
            raise broken(promise, f"it returned {show(steps)}")
        if ("failed", "E003") != _statuses(steps[1:2])[0]:
            raise broken(
                promise, f"the failed step's (status, code) is {_statuses(steps[1:2])[0]!r}"
            )

    @beyond_seed(
        "the seed's own sketch returns no step for the operations after a stop; execproto "
        "returns one per operation in every mode"
    )
    def test_a_stopped_sequence_still_returns_one_step_per_operation(self) -> None:
        """After a stop, each operation that did not run still has its step, not completed."""
        steps, _ = self._stopped()
        if (
            len(steps) != 3
            or steps[2].completed is not False
            or _status(steps[2]) == TaskStatus.COMPLETED.value
        ):
            raise broken(
                "execute_operations_sequence must return one step per operation, also after a stop",
                f"add, fail, multiply with stop_on_failure=True gave {len(steps)} steps: "
                f"{_statuses(steps)!r}",
            )

    def test_sequence_runs_every_operation_without_stop_on_failure(self) -> None:
        """By default a failure does not stop the sequence: every operation runs and has its
        step (the failed one with ``E003``)."""
        executor, calc, _ = self._build()
        with self.using(executor):
            steps = self.call(
                executor.execute_operations_sequence, self._failing_plan(), "u1", "t1"
            )
        got = (
            calc.calls,
            [step.completed for step in steps],
            [step.result for step in steps[::2]],
            _code(steps[1]) if len(steps) > 1 else None,
        )
        if (["add", "fail", "multiply"], [True, False, True], [2, 4], "E003") != got:
            raise broken(
                "without stop_on_failure, execute_operations_sequence must run every operation",
                f"add, fail, multiply ran {calc.calls!r} and gave (status, code) "
                f"{_statuses(steps)!r}, results {show([step.result for step in steps])}",
            )

    def _check_callback(self, kind: str, make_callback: Callable[[list[Any]], Any]) -> None:
        executor, _, _ = self._build()
        calls: list[Any] = []
        with self.using(executor):
            steps = self.call(
                executor.execute_operations_sequence,
                self._failing_plan(),
                "u1",
                "t1",
                save_callback=make_callback(calls),
            )
        expected = [("u1", "t1", index, step) for index, step in enumerate(steps)]
        if expected != calls:
            raise broken(
                f"execute_operations_sequence must call {kind} save_callback(user_id, task_id, "
                f"index, step) after each step",
                f"three steps made these calls: {show(calls, 400)}",
            )

    @beyond_seed("the seed's own sketch awaits the callback, so only async ones work")
    def test_sequence_calls_a_sync_save_callback_after_each_step(self) -> None:
        """A plain function as ``save_callback`` is called after each step."""

        def make(calls: list[Any]) -> Callable[..., None]:
            def save(user_id: str, task_id: str, index: int, step: Any) -> None:
                calls.append((user_id, task_id, index, step))

            return save

        self._check_callback("a sync", make)

    def test_sequence_awaits_an_async_save_callback_after_each_step(self) -> None:
        """An ``async def`` ``save_callback`` is awaited after each step."""

        def make(calls: list[Any]) -> Callable[..., Any]:
            async def save(user_id: str, task_id: str, index: int, step: Any) -> None:
                await asyncio.sleep(0)
                calls.append((user_id, task_id, index, step))

            return save

        self._check_callback("an async", make)

    @beyond_seed("the seed's own sketch lets the callback's error escape with the results")
    def test_sequence_keeps_its_results_when_the_callback_fails(self) -> None:
        """A ``save_callback`` that raises loses no step's result."""
        executor, _, _ = self._build()

        def save(user_id: str, task_id: str, index: int, step: Any) -> None:
            raise ContractToolError(f"cannot save step {index}")

        plan = [
            {"operation": "calc.add", "params": {"a": 1, "b": 1}},
            {"operation": "calc.multiply", "params": {"a": 2, "b": 2}},
        ]
        with self.using(executor):
            got = self.call_outcome(
                executor.execute_operations_sequence, plan, "u1", "t1", False, save
            )
        results = None if got.raised else [step.result for step in got.value]
        if [2, 4] != results:
            raise broken(
                "a failing save_callback must not lose the sequence's results",
                f"add and multiply with a callback raising ContractToolError: it {got}",
                got.error,
            )

    def _require_references(self) -> None:
        if not self.supports_result_references:
            pytest.skip("set supports_result_references = True to check $result references")

    @beyond_seed("the seed document has no result references")
    def test_sequence_resolves_result_references(self) -> None:
        """``"$result[N]"`` and ``"$result[N].key.key"`` anywhere in a step's parameters,
        nested in lists and dicts, are replaced by earlier steps' results."""
        self._require_references()

        @self.examples(plan=strategies.referencing_plans(spec="calc.echo"))
        def check(plan: strategies.ReferencingPlan) -> None:
            executor, _, _ = self._build()
            with self.using(executor):
                steps = self.call(executor.execute_operations_sequence, plan.items, "u1", "t1")
            results = [step.result for step in steps]
            if plan.expected != results:
                raise broken(
                    "execute_operations_sequence must replace $result references by earlier "
                    "steps' results",
                    f"the plan {show(plan.items, 400)} gave {show(results, 400)}, not "
                    f"{show(plan.expected, 400)}",
                )

        check()

    @beyond_seed("the seed document has no result references")
    def test_a_bad_result_reference_fails_its_step_with_e001(self) -> None:
        """A reference to the step itself or a later one, a negative or non-numeric index,
        a private or dunder segment or a missing key fails its step with ``E001``, and the
        operation does not run."""
        self._require_references()
        promise = "a reference that cannot be resolved must fail its step with E001, not run it"
        for reference in strategies.BAD_REFERENCES:
            executor, calc, _ = self._build()
            plan = [
                {"operation": "calc.echo", "params": {"value": {"k": "v"}}},
                {"operation": "calc.echo", "params": {"value": reference}},
            ]
            with self.using(executor):
                steps = self.call(executor.execute_operations_sequence, plan, "u1", "t1")
            status = _statuses(steps[1:2])[0] if len(steps) > 1 else None
            if ("failed", "E001") != status or ["echo"] != calc.calls:
                raise broken(
                    promise,
                    f"after a step returning {{'k': 'v'}}, {reference!r} gave (status, code) "
                    f"{status!r} and result {show(steps[1].result if len(steps) > 1 else None)}; "
                    f"echo ran {len(calc.calls)} times",
                )

    def _require_dependencies(self) -> None:
        if not self.supports_dependencies:
            pytest.skip("set supports_dependencies = True to check id/depends_on plans")

    @beyond_seed(
        "the seed document asks for dependency handling but defines no plan format; id and "
        "depends_on are execproto's"
    )
    def test_an_item_starts_after_the_items_it_depends_on_finished(self) -> None:
        """In a parallel plan listed in reverse, each item starts only after the item it
        depends on finished; results stay in input order."""
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
        with self.using(executor):
            steps = self.call(executor.execute_parallel_operations, plan)
        events = probe.events
        in_order = all(
            ("finish", upstream) in events
            and ("start", item) in events
            and events.index(("finish", upstream)) < events.index(("start", item))
            for item, upstream in (("middle", "first"), ("last", "middle"))
        )
        results = [step.result for step in steps]
        if not in_order or ["last", "middle", "first"] != results:
            raise broken(
                "an item must start after the items it depends on finished, results in input order",
                f"last <- middle <- first ran {events!r} and returned {show(results)}",
            )

    @beyond_seed(
        "the seed document asks for dependency handling but defines no plan format; id and "
        "depends_on are execproto's"
    )
    def test_the_dependants_of_a_failed_item_are_skipped(self) -> None:
        """An item that depends on a failed item is skipped (never run, not completed);
        an independent item still runs."""
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
        with self.using(executor):
            steps = self.call(executor.execute_parallel_operations, plan)
        got = ("add" in calc.calls, [step.completed for step in steps], steps[-1].result)
        if (False, [False, False, True], 4) != got:
            raise broken(
                "an item depending on a failed item must be skipped, never run",
                f"'after' depends on the failing 'broken': add ran {'add' in calc.calls}, "
                f"(status, code) {_statuses(steps)!r}, 'free' returned {show(steps[-1].result)}",
            )


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


async def _holding_task(input_data: dict[str, Any], context: dict[str, Any]) -> Any:
    for _ in range(int(input_data.get("yields", 1))):
        await asyncio.sleep(0)
    return input_data["value"]


CONTRACT_TASKS: Mapping[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]] = {
    "sum": _sum_task,
    "context": _context_task,
    "fail": _failing_task,
    "hold": _holding_task,
}
"""The tasks :class:`ExecutionInterfaceContract` gives the interface: ``sum`` (of
``input_data["values"]``), ``context`` (returns its input and context), ``fail`` (raises
:class:`~execproto.testing.ContractToolError`) and ``hold`` (returns ``input_data["value"]``
after yielding to the loop ``input_data["yields"]`` times)."""


class ExecutionInterfaceContract(Contract):
    """The :class:`~execproto.protocols.ExecutionInterface` contract.

    Implement :meth:`make_execution_interface`; the interface must run the tools it is given
    under the given names and the tasks under theirs. A task is an async callable
    ``task(input_data, context)`` that returns the task's result.

    Promises of the seed document: ``execute_operation`` runs sync and async operations;
    batch results come in input order; a task gets its input and context, and its error
    reaches the caller; a task batch returns one result per task in input order;
    ``register_executor`` accepts an executor or raises :class:`NotImplementedError`.
    execproto's stricter rules: unknown tools and tasks raise :class:`LookupError`, and a
    failed task in a batch is its exception in its place.
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
        """``execute_operation("calc.add", ...)`` (sync) and ``"calc.multiply"`` (async)
        return the operations' results."""
        interface, _, _ = self._build()
        with self.using(interface):
            for spec, expected in (("calc.add", 5), ("calc.multiply", 6)):
                got = self.call_outcome(interface.execute_operation, spec, {"a": 2, "b": 3})
                if got.raised or got.value != expected:
                    raise broken(
                        f"execute_operation({spec!r}, {{'a': 2, 'b': 3}}) must return the "
                        f"operation's result, {expected}",
                        f"it {got}",
                        got.error,
                    )

    @beyond_seed("the seed document names no exception for an unknown tool")
    def test_an_unknown_tool_raises_lookup_error(self) -> None:
        """A spec naming no registered tool raises :class:`LookupError`."""
        interface, _, _ = self._build()
        with self.using(interface):
            got = self.call_outcome(interface.execute_operation, "missing.add", {"a": 1, "b": 2})
        if not isinstance(got.error, LookupError):
            raise broken(
                "execute_operation must raise LookupError for an unknown tool",
                f"execute_operation('missing.add', ...) {got}",
                got.error,
            )

    def test_batch_execute_operations_returns_results_in_input_order(self) -> None:
        """``batch_execute_operations`` returns one result per operation in input order,
        also when later operations finish first."""
        interface, _, _ = self._build()
        operations = [
            {"operation": "probe.hold", "params": {"value": index, "yields": 6 - index}}
            for index in range(6)
        ]
        with self.using(interface):
            results = self.call(interface.batch_execute_operations, operations)
        if list(range(6)) != list(results):
            raise broken(
                "batch_execute_operations must return the results in input order",
                f"operations returning 0 to 5 (finishing in reverse) gave {show(results)}",
            )

    def test_execute_task_receives_its_input_and_context(self) -> None:
        """``execute_task`` runs the named task with the input and context given, and
        returns its result."""
        promise = "execute_task(name, input_data, context) must run the task with both and return its result"
        interface, _, _ = self._build()

        async def scenario() -> tuple[Any, Any]:
            return (
                await interface.execute_task("sum", {"values": [1, 2, 3]}, {}),
                await interface.execute_task("context", {"x": 1}, {"user_id": "u1"}),
            )

        with self.using(interface):
            total, echoed = self.run(scenario())
        if total != 6:
            raise broken(promise, f"the task summing [1, 2, 3] gave {show(total)}")
        saw = outcome(lambda: echoed["input"] == {"x": 1} and echoed["context"]["user_id"] == "u1")
        if saw.value is not True:
            raise broken(
                promise,
                f"a task given input {{'x': 1}} and context {{'user_id': 'u1'}} saw {show(echoed)}",
            )

    @beyond_seed("the seed document names no exception for an unknown task")
    def test_an_unknown_task_raises_lookup_error(self) -> None:
        """A task name that is not registered raises :class:`LookupError`."""
        interface, _, _ = self._build()
        with self.using(interface):
            got = self.call_outcome(interface.execute_task, "missing", {}, {})
        if not isinstance(got.error, LookupError):
            raise broken(
                "execute_task must raise LookupError for an unknown task",
                f"execute_task('missing', {{}}, {{}}) {got}",
                got.error,
            )

    def test_a_tasks_error_reaches_the_caller_itself_or_chained(self) -> None:
        """The error a task raises reaches the caller of ``execute_task`` as itself or as
        the ``__cause__`` of the interface's own error."""
        interface, _, _ = self._build()
        with self.using(interface):
            got = self.call_outcome(interface.execute_task, "fail", {"message": "boom"}, {})
        if not _raised_from(got.error, ContractToolError):
            raise broken(
                "an error the task raised must reach the caller, itself or chained (from)",
                f"the task raised ContractToolError('boom'); execute_task {got}, which does not "
                f"chain to it",
                got.error,
            )

    def test_batch_execute_tasks_returns_one_result_per_task_in_input_order(self) -> None:
        """``batch_execute_tasks`` returns one result per task in input order, also when
        later tasks finish first."""
        interface, _, _ = self._build()
        tasks: list[dict[str, Any]] = [
            {
                "task_name": "hold",
                "input_data": {"value": index, "yields": 5 - index},
                "context": {},
            }
            for index in range(5)
        ]
        with self.using(interface):
            results = list(self.call(interface.batch_execute_tasks, tasks))
        if list(range(5)) != results:
            raise broken(
                "batch_execute_tasks must return one result per task, in input order",
                f"tasks returning 0 to 4 (finishing in reverse) gave {show(results)}",
            )

    @beyond_seed(
        "the seed document does not say what a failed task becomes in a batch; execproto "
        "returns its exception in its place"
    )
    def test_batch_execute_tasks_returns_a_failed_tasks_exception_in_its_place(self) -> None:
        """A failing task in a batch is its exception in its place; the other tasks'
        results are around it."""
        interface, _, _ = self._build()
        tasks: list[dict[str, Any]] = [
            {"task_name": "sum", "input_data": {"values": [index, 1]}, "context": {}}
            for index in range(4)
        ]
        # First: a failure that comes back before the others keeps its place in any order.
        tasks.insert(0, {"task_name": "fail", "input_data": {"message": "boom"}, "context": {}})
        with self.using(interface):
            got = self.call_outcome(interface.batch_execute_tasks, tasks)
        results = [] if got.raised else list(got.value)
        if (
            len(results) != 5
            or [1, 2, 3, 4] != results[1:]
            or not isinstance(results[0], BaseException)
        ):
            raise broken(
                "batch_execute_tasks must put a failed task's exception in its place",
                f"a failing task then four sums (1 to 4): it {got}",
                got.error,
            )

    def test_register_executor_accepts_an_executor_or_raises_not_implemented_error(self) -> None:
        """``register_executor`` returns ``None`` or, when plugins are not supported,
        raises :class:`NotImplementedError`."""
        interface, _, _ = self._build()
        with self.using(interface):
            got = outcome(interface.register_executor, "contract", _PlainToolExecutor())
        if got.raised and not isinstance(got.error, NotImplementedError):
            raise broken(
                "register_executor must accept an executor or raise NotImplementedError",
                f"register_executor('contract', executor) {got}",
                got.error,
            )
        if not got.raised and got.value is not None:
            raise broken(
                "register_executor must return None (or raise NotImplementedError)",
                f"register_executor('contract', executor) {got}",
            )
