"""Broken tool executors, each failing the :class:`ToolExecutorContract` checks it names."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from examples.contract_example import ThreadedToolExecutor, _operation

from execproto.testing import ToolExecutorContract
from tests.testing.gallery._exhibit import Exhibit, exhibit


class ExecutorSuite(ToolExecutorContract):
    """Builds ``implementation()``."""

    implementation: ClassVar[Callable[[], Any]] = ThreadedToolExecutor

    def make_executor(self) -> Any:
        return self.implementation()


class EnvelopeOnTheSyncPath(ThreadedToolExecutor):
    """``execute`` wraps every result in a "unified result format" ``{"result": ...}``."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return {"result": super().execute(tool, operation_name, **params), "success": True}


class ReturnsTheTaskOfAnAsyncOperation(ThreadedToolExecutor):
    """``execute_async`` schedules an async operation and returns its task, unawaited."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        if inspect.iscoroutinefunction(method):
            return asyncio.ensure_future(method(**params))
        return await super().execute_async(tool, operation_name, **params)


class SeedSketchExecutor:
    """The seed document's sketch: ``getattr`` on any name, the call made as it is (an async
    operation's coroutine returned by ``execute``, a sync one run on the event loop), and
    ``tool``/``operation_name`` as ordinary parameters."""

    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any:
        method = getattr(tool, operation_name)
        return method(**params)

    async def execute_async(self, tool: Any, operation_name: str, **params: Any) -> Any:
        method = getattr(tool, operation_name)
        if asyncio.iscoroutinefunction(method):
            return await method(**params)
        return method(**params)


class ReturnsTheCoroutineFromExecute(ThreadedToolExecutor):
    """``execute`` calls an async operation and returns its coroutine, never run."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        return method(**params)


class AwaitsWhateverItGets(ThreadedToolExecutor):
    """``execute_async`` calls the operation on the loop and awaits what it returns, so a
    sync operation cannot run."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        return await method(**params)


class WrapsListsOnTheAsyncPath(ThreadedToolExecutor):
    """``execute_async`` returns a list result inside another list."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        result = await super().execute_async(tool, operation_name, **params)
        return [result] if isinstance(result, list) else result


class PositionalOrKeyword(ThreadedToolExecutor):
    """The seed's signature: ``tool`` and ``operation_name`` are not positional-only."""

    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any:  # type: ignore[override]
        return super().execute(tool, operation_name, **params)

    async def execute_async(self, tool: Any, operation_name: str, **params: Any) -> Any:  # type: ignore[override]
        return await super().execute_async(tool, operation_name, **params)


def _named(tool: Any, operation_name: str) -> Callable[..., Any]:
    # The baseline's check of the name, without its check of the parameters.
    member = inspect.getattr_static(type(tool), operation_name, None) if operation_name else None
    if operation_name.startswith("_") or not inspect.isfunction(member):
        raise ValueError(f"{type(tool).__name__} has no operation {operation_name!r}")
    method: Callable[..., Any] = getattr(tool, operation_name)
    return method


class FillsInParameters(ThreadedToolExecutor):
    """Drops parameters the operation does not take and passes ``None`` for missing ones:
    the operation runs with what it was never given."""

    def _filled(self, tool: Any, operation_name: str, params: dict[str, Any]) -> Any:
        method = _named(tool, operation_name)
        accepted = inspect.signature(method).parameters
        return method(**{name: params.get(name) for name in accepted})

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        result = self._filled(tool, operation_name, params)
        return asyncio.run(result) if inspect.iscoroutine(result) else result

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        if inspect.iscoroutinefunction(_named(tool, operation_name)):
            return await self._filled(tool, operation_name, params)
        return await asyncio.to_thread(self._filled, tool, operation_name, params)


class DoesNotValidateParameters(ThreadedToolExecutor):
    """Checks the operation's name but not its parameters: the call's ``TypeError``
    escapes."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _named(tool, operation_name)
        if inspect.iscoroutinefunction(method):
            return asyncio.run(method(**params))
        return method(**params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _named(tool, operation_name)
        if inspect.iscoroutinefunction(method):
            return await method(**params)
        return await asyncio.to_thread(method, **params)


class AttributeErrorForMissingOperations(ThreadedToolExecutor):
    """An operation the tool does not have raises ``AttributeError`` from ``getattr``."""

    def _check(self, tool: Any, operation_name: str) -> None:
        inspect.getattr_static(tool, operation_name)

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        self._check(tool, operation_name)
        return super().execute(tool, operation_name, **params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        self._check(tool, operation_name)
        return await super().execute_async(tool, operation_name, **params)


class CallsPrivateNames(ThreadedToolExecutor):
    """Runs any method the tool has, names starting with ``_`` included."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        if operation_name.startswith("_") and hasattr(tool, operation_name):
            return getattr(tool, operation_name)(**params)
        return super().execute(tool, operation_name, **params)


class EvaluatesProperties(ThreadedToolExecutor):
    """Tells operations apart with ``callable(getattr(tool, name))``, which evaluates a
    property."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        if not callable(getattr(tool, operation_name, None)):
            raise ValueError(f"{operation_name} is not an operation")
        return super().execute(tool, operation_name, **params)


class HidesTheError(ThreadedToolExecutor):
    """``execute_async`` replaces the operation's error by a new one with its message,
    unchained."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        try:
            return await super().execute_async(tool, operation_name, **params)
        except ValueError:
            raise
        except Exception as err:
            raise RuntimeError(f"operation failed: {err}") from None


class BlocksTheLoop(ThreadedToolExecutor):
    """``execute_async`` runs a sync operation on the event loop's thread."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        if inspect.iscoroutinefunction(method):
            return await method(**params)
        return method(**params)


class KeepsTheCallOnTheInstance(ThreadedToolExecutor):
    """Keeps the call's parameters on ``self`` between validating and running them,
    unlocked: concurrent calls run with each other's parameters."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        self._params = params
        method = _operation(tool, operation_name, self._params)
        if inspect.iscoroutinefunction(method):
            return asyncio.run(method(**self._params))
        return method(**self._params)


_SEED_EXECUTOR_BREAKS = (
    "test_execute_runs_an_async_operation_to_its_result_or_error",
    "test_parameters_named_tool_and_operation_name_reach_the_operation",
    "test_unacceptable_parameters_raise_value_error",
    "test_an_unknown_operation_raises_value_error",
    "test_private_names_are_not_operations",
    "test_properties_and_data_attributes_are_not_operations",
    "test_execute_async_does_not_block_the_event_loop",
)

EXHIBITS: list[Exhibit] = [
    exhibit(ExecutorSuite, ThreadedToolExecutor, why="correct: the baseline"),
    exhibit(
        ExecutorSuite,
        EnvelopeOnTheSyncPath,
        "test_execute_returns_the_result_of_a_sync_operation",
        "test_execute_runs_an_async_operation_to_its_result_or_error",
        "test_execute_and_execute_async_return_equal_values",
        "test_parameters_named_tool_and_operation_name_reach_the_operation",
        "test_execute_is_safe_from_several_threads_at_once",
        why="execute wraps its results",
    ),
    exhibit(
        ExecutorSuite,
        ReturnsTheTaskOfAnAsyncOperation,
        "test_execute_async_returns_the_result_of_an_async_operation",
        "test_an_operations_error_reaches_the_caller_itself_or_chained",
        why="execute_async returns an async operation's task",
    ),
    exhibit(
        ExecutorSuite,
        ReturnsTheCoroutineFromExecute,
        "test_execute_runs_an_async_operation_to_its_result_or_error",
        why="execute returns an async operation's coroutine",
    ),
    exhibit(
        ExecutorSuite,
        AwaitsWhateverItGets,
        "test_execute_async_runs_a_sync_operation",
        "test_execute_and_execute_async_return_equal_values",
        "test_parameters_named_tool_and_operation_name_reach_the_operation",
        "test_execute_async_does_not_block_the_event_loop",
        why="execute_async awaits a sync operation's result",
    ),
    exhibit(
        ExecutorSuite,
        WrapsListsOnTheAsyncPath,
        "test_execute_and_execute_async_return_equal_values",
        why="the async path returns lists wrapped",
    ),
    exhibit(
        ExecutorSuite,
        PositionalOrKeyword,
        "test_parameters_named_tool_and_operation_name_reach_the_operation",
        why="the seed's signature",
    ),
    exhibit(
        ExecutorSuite,
        FillsInParameters,
        "test_unacceptable_parameters_are_refused_before_the_operation_runs",
        "test_unacceptable_parameters_raise_value_error",
        why="runs operations with parameters filled in and dropped",
    ),
    exhibit(
        ExecutorSuite,
        DoesNotValidateParameters,
        "test_unacceptable_parameters_raise_value_error",
        why="the call's TypeError escapes",
    ),
    exhibit(
        ExecutorSuite,
        AttributeErrorForMissingOperations,
        "test_an_unknown_operation_raises_value_error",
        why="AttributeError for a missing operation",
    ),
    exhibit(
        ExecutorSuite,
        CallsPrivateNames,
        "test_private_names_are_not_operations",
        why="runs private methods",
    ),
    exhibit(
        ExecutorSuite,
        EvaluatesProperties,
        "test_properties_and_data_attributes_are_not_operations",
        why="evaluates a property to see whether it is callable",
    ),
    exhibit(
        ExecutorSuite,
        HidesTheError,
        "test_an_operations_error_reaches_the_caller_itself_or_chained",
        why="replaces the operation's error",
    ),
    exhibit(
        ExecutorSuite,
        BlocksTheLoop,
        "test_execute_async_does_not_block_the_event_loop",
        why="runs a sync operation on the loop",
    ),
    exhibit(
        ExecutorSuite,
        KeepsTheCallOnTheInstance,
        "test_execute_is_safe_from_several_threads_at_once",
        why="the call's parameters on self, unlocked",
    ),
    exhibit(
        ExecutorSuite,
        SeedSketchExecutor,
        *_SEED_EXECUTOR_BREAKS,
        why="the seed's sketch breaks execproto's rules",
    ),
    exhibit(
        ExecutorSuite,
        SeedSketchExecutor,
        why="the seed's sketch keeps every promise of the seed document",
        label="seed",
        profile="seed",
    ),
]
