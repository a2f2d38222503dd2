"""Broken operation executors, each failing the :class:`OperationExecutorContract` checks it
names; and small correct ones that support result references and dependencies, which the
example executor does not."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from examples.contract_example import (
    _SPEC,
    DictToolProvider,
    GatherOperationExecutor,
    ThreadedToolExecutor,
    _failed,
    _operation,
)

from execproto.models import ErrorCode, TaskStatus, TaskStepResult
from execproto.testing import OperationExecutorContract
from tests.testing.gallery._exhibit import Exhibit, exhibit

LIMIT = 2


class OperationSuite(OperationExecutorContract):
    """Builds ``implementation(DictToolProvider(tools), max_concurrency=2)``."""

    implementation: ClassVar[Callable[..., Any]] = GatherOperationExecutor
    concurrency_limit = LIMIT

    def make_operation_executor(self, tools: Mapping[str, Any]) -> Any:
        return self.implementation(DictToolProvider(tools), max_concurrency=LIMIT)


class InlineToolExecutor(ThreadedToolExecutor):
    """Runs sync operations on the event loop: operations then finish in an order that does
    not depend on threads, which the completion-order exhibits need to fail one check only."""

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        result = _operation(tool, operation_name, params)(**params)
        return await result if inspect.isawaitable(result) else result


class _Inline(GatherOperationExecutor):
    def __init__(self, provider: Any, max_concurrency: int = LIMIT) -> None:
        super().__init__(provider, InlineToolExecutor(), max_concurrency)


class _OwnSingleOperation(GatherOperationExecutor):
    """Batches and steps run through the example's ``execute_operation``, so that a break of
    ``execute_operation`` shows only where it is called directly."""

    async def _step(self, operation: dict[str, Any]) -> TaskStepResult:
        spec = str(operation.get("operation"))
        try:
            result = await GatherOperationExecutor.execute_operation(
                self, spec, dict(operation.get("params", {}))
            )
        except Exception as err:
            return _failed(spec, err)
        return TaskStepResult(step=spec, result=result, completed=True, status=TaskStatus.COMPLETED)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        calls = [
            GatherOperationExecutor.execute_operation(self, op["operation"], op.get("params", {}))
            for op in operations
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))


class SyncPathForSingleOperations(_OwnSingleOperation):
    """A "fast path" for single operations through the tool executor's sync API, which
    cannot run an async operation inside the event loop."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        match = _SPEC.fullmatch(operation_spec)
        if match is None:
            raise ValueError(f"expected 'tool.operation', got {operation_spec!r}")
        tool = self.provider.get_tool(match[1])
        method = _operation(tool, match[2], params)
        if inspect.iscoroutinefunction(method):
            raise RuntimeError("asyncio.run() cannot be called from a running event loop")
        return method(**params)


class SplitsSpecsAtTheFirstDot(GatherOperationExecutor):
    """The seed's parsing: ``spec.split(".", 1)``, so ``" calc.add"`` looks for a tool
    called ``" calc"``."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        tool_name, operation_name = operation_spec.split(".", 1)
        tool = self.provider.get_tool(tool_name)
        async with self._semaphore():
            return await self.executor.execute_async(tool, operation_name, **params)


class UnknownToolIsAValueError(GatherOperationExecutor):
    """Reports an unknown tool as a :class:`ValueError`, like a malformed spec."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        try:
            return await super().execute_operation(operation_spec, params)
        except LookupError as err:
            raise ValueError(f"cannot run {operation_spec!r}: {err}") from err


class RunsAnyAttribute(GatherOperationExecutor):
    """Looks the operation up with ``getattr`` and returns a data attribute's value."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        match = _SPEC.fullmatch(operation_spec)
        if match is None:
            raise ValueError(f"expected 'tool.operation', got {operation_spec!r}")
        tool = self.provider.get_tool(match[1])
        member = getattr(tool, match[2], None)
        if member is None:
            raise ValueError(f"no operation {match[2]!r}")
        if not callable(member):
            return member
        return await super().execute_operation(operation_spec, params)


class ReplacesTheOperationsError(_OwnSingleOperation):
    """``execute_operation`` raises its own error with the operation's message, unchained."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        try:
            return await super().execute_operation(operation_spec, params)
        except (ValueError, LookupError):
            raise
        except Exception as err:
            raise RuntimeError(f"operation {operation_spec} failed: {err}") from None


class BatchInCompletionOrder(_Inline):
    """Collects a batch's results as they complete."""

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        # Tasks made in input order: as_completed() would start coroutines in any order.
        calls = [
            asyncio.ensure_future(self.execute_operation(op["operation"], op.get("params", {})))
            for op in operations
        ]
        results: list[Any] = []
        for done in asyncio.as_completed(calls):
            try:
                results.append(await done)
            except Exception as err:
                results.append(err)
        return results


class BatchPutsNoneForFailures(GatherOperationExecutor):
    """Puts ``None`` where a batch's operation failed."""

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        results = await super().batch_execute_operations(operations)
        return [None if isinstance(result, BaseException) else result for result in results]


class ParallelInCompletionOrder(_Inline):
    """Collects parallel steps as they complete."""

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        steps = [asyncio.ensure_future(self._step(op)) for op in operations]
        return [await done for done in asyncio.as_completed(steps)]


class BareExceptionsInSteps(GatherOperationExecutor):
    """Puts the exception itself where a parallel operation failed, as the seed's sketch
    does."""

    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        steps = await super().execute_parallel_operations(operations)
        return [RuntimeError(step.error_message) if step.failed else step for step in steps]


class OneCodeForEveryFailure(GatherOperationExecutor):
    """Gives every failed parallel step ``E003``, as the seed's sketch does."""

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        steps = await super().execute_parallel_operations(operations)
        return [
            dataclasses.replace(step, error_code=ErrorCode.EXECUTION_ERROR) if step.failed else step
            for step in steps
        ]


class OneAtATime(GatherOperationExecutor):
    """Runs "parallel" operations one after another."""

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        return [await self._step(op) for op in operations]


class _Unlimited(GatherOperationExecutor):
    async def _unlimited(self, operation_spec: str, params: dict[str, Any]) -> Any:
        match = _SPEC.fullmatch(operation_spec)
        if match is None:
            raise ValueError(f"expected 'tool.operation', got {operation_spec!r}")
        tool = self.provider.get_tool(match[1])
        return await self.executor.execute_async(tool, match[2], **params)


class BatchIgnoresTheLimit(_Unlimited):
    """A batch bypasses the semaphore."""

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        calls = [self._unlimited(op["operation"], op.get("params", {})) for op in operations]
        return list(await asyncio.gather(*calls, return_exceptions=True))


class ParallelIgnoresTheLimit(_Unlimited):
    """Parallel operations bypass the semaphore."""

    async def _step(self, operation: dict[str, Any]) -> TaskStepResult:
        spec = str(operation.get("operation"))
        try:
            result = await self._unlimited(spec, dict(operation.get("params", {})))
        except Exception as err:
            return _failed(spec, err)
        return TaskStepResult(step=spec, result=result, completed=True, status=TaskStatus.COMPLETED)


def _skipped(operation: dict[str, Any]) -> TaskStepResult:
    return TaskStepResult(
        step=str(operation.get("operation")),
        status=TaskStatus.CANCELLED,
        error_code=ErrorCode.CANCELLED_ERROR,
        message="skipped after an earlier failure",
    )


async def _saved(
    save_callback: Callable[..., Any] | None, user_id: str, task_id: str, index: int, step: Any
) -> None:
    if save_callback is None:
        return
    try:
        saved = save_callback(user_id, task_id, index, step)
        if isinstance(saved, Awaitable):
            await saved
    except Exception:  # a failed save must not lose the step's result
        pass


class SequenceRunsAtOnceWhenNothingStops(_Inline):
    """Without ``stop_on_failure`` nothing needs to wait, so it "optimises" the sequence
    into a parallel run (and saves the steps afterwards)."""

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[TaskStepResult]:
        if stop_on_failure:
            return await super().execute_operations_sequence(
                operations, user_id, task_id, stop_on_failure, save_callback
            )
        steps = list(await asyncio.gather(*(self._step(op) for op in operations)))
        for index, step in enumerate(steps):
            await _saved(save_callback, user_id, task_id, index, step)
        return steps


class _Sequence(GatherOperationExecutor):
    """A sequence loop with a hook per decision, for the sequence exhibits to break one."""

    def _stops(self, stop_on_failure: bool, steps: list[TaskStepResult]) -> bool:
        return stop_on_failure and any(step.failed for step in steps)

    def _stopped_step(self, operation: dict[str, Any]) -> TaskStepResult | None:
        return _skipped(operation)

    def _after_a_stop(self, step: TaskStepResult) -> TaskStepResult:
        return step

    async def _save(
        self,
        save_callback: Callable[..., Any] | None,
        user_id: str,
        task_id: str,
        index: int,
        step: Any,
    ) -> None:
        await _saved(save_callback, user_id, task_id, index, step)

    async def _sequence_step(
        self, operation: dict[str, Any], earlier: list[TaskStepResult]
    ) -> TaskStepResult:
        return await self._step(operation)

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[TaskStepResult]:
        steps: list[TaskStepResult] = []
        for index, operation in enumerate(operations):
            if self._stops(stop_on_failure, steps):
                skipped = self._stopped_step(operation)
                if skipped is not None:
                    steps.append(skipped)
                    await self._save(save_callback, user_id, task_id, index, skipped)
                continue
            step = await self._sequence_step(operation, steps)
            if step.failed and stop_on_failure:
                step = self._after_a_stop(step)
            steps.append(step)
            await self._save(save_callback, user_id, task_id, index, step)
        return steps


class IgnoresStopOnFailure(_Sequence):
    """Runs on after a failure even when asked to stop."""

    def _stops(self, stop_on_failure: bool, steps: list[TaskStepResult]) -> bool:
        return False


class CancelsTheFailedStep(_Sequence):
    """When it stops, reports the failed step itself as cancelled (``E004``)."""

    def _after_a_stop(self, step: TaskStepResult) -> TaskStepResult:
        return dataclasses.replace(
            step, status=TaskStatus.CANCELLED, error_code=ErrorCode.CANCELLED_ERROR
        )


class NoStepsAfterAStop(_Sequence):
    """The seed's sketch: after a stop, the operations that did not run get no step."""

    def _stopped_step(self, operation: dict[str, Any]) -> TaskStepResult | None:
        return None


class AlwaysStops(_Sequence):
    """Stops after a failure whether asked to or not."""

    def _stops(self, stop_on_failure: bool, steps: list[TaskStepResult]) -> bool:
        return any(step.failed for step in steps)


class IgnoresSyncCallbacks(_Sequence):
    """Calls ``save_callback`` only when it is a coroutine function."""

    async def _save(
        self,
        save_callback: Callable[..., Any] | None,
        user_id: str,
        task_id: str,
        index: int,
        step: Any,
    ) -> None:
        if inspect.iscoroutinefunction(save_callback):
            await save_callback(user_id, task_id, index, step)


class NeverAwaitsTheCallback(_Sequence):
    """Calls ``save_callback`` and drops what it returns, so an async one never runs."""

    async def _save(
        self,
        save_callback: Callable[..., Any] | None,
        user_id: str,
        task_id: str,
        index: int,
        step: Any,
    ) -> None:
        if save_callback is None:
            return
        try:
            saved = save_callback(user_id, task_id, index, step)
        except Exception:  # a failed save must not lose the step's result
            return
        if inspect.iscoroutine(saved):
            saved.close()


class CallbackErrorEscapes(_Sequence):
    """The seed's sketch: an error of ``save_callback`` escapes, with the results."""

    async def _save(
        self,
        save_callback: Callable[..., Any] | None,
        user_id: str,
        task_id: str,
        index: int,
        step: Any,
    ) -> None:
        if save_callback is not None:
            saved = save_callback(user_id, task_id, index, step)
            if isinstance(saved, Awaitable):
                await saved


_REFERENCE = re.compile(r"\$result\[(\d+)\]((?:\.[A-Za-z][A-Za-z0-9_]*)*)")


class ReferencingExecutor(_Sequence):
    """Correct: resolves ``"$result[N].key"`` references anywhere in a step's parameters;
    one that cannot be resolved fails the step with ``E001``."""

    _reference = _REFERENCE

    def _index(self, text: str, results: list[Any]) -> int:
        index = int(text)
        if index >= len(results):
            raise ValueError(f"$result[{index}] refers to a step that has not run")
        return index

    def _resolve(self, value: Any, results: list[Any]) -> Any:
        if isinstance(value, str) and value.startswith("$result["):
            match = self._reference.fullmatch(value)
            if match is None:
                raise ValueError(f"malformed reference {value!r}")
            current = results[self._index(match[1], results)]
            for key in filter(None, match[2].split(".")):
                if not isinstance(current, dict) or key not in current:
                    raise ValueError(f"{value!r}: no key {key!r}")
                current = current[key]
            return current
        if isinstance(value, list):
            return [self._resolve(item, results) for item in value]
        if isinstance(value, dict):
            return {key: self._resolve(item, results) for key, item in value.items()}
        return value

    def _resolved_params(self, params: dict[str, Any], results: list[Any]) -> dict[str, Any]:
        return {name: self._resolve(value, results) for name, value in params.items()}

    async def _sequence_step(
        self, operation: dict[str, Any], earlier: list[TaskStepResult]
    ) -> TaskStepResult:
        results = [step.result for step in earlier]
        try:
            params = self._resolved_params(dict(operation.get("params", {})), results)
        except ValueError as err:
            return _failed(str(operation.get("operation")), err)
        return await self._step({**operation, "params": params})


class ResolvesTopLevelReferencesOnly(ReferencingExecutor):
    """Resolves a parameter that is a reference, not one nested in a list or dict."""

    def _resolved_params(self, params: dict[str, Any], results: list[Any]) -> dict[str, Any]:
        return {
            name: self._resolve(value, results) if isinstance(value, str) else value
            for name, value in params.items()
        }


class NegativeIndicesResolve(ReferencingExecutor):
    """Indexes results as a Python list does: ``$result[-1]`` is the previous step."""

    _reference = re.compile(r"\$result\[(-?\d+)\]((?:\.[A-Za-z][A-Za-z0-9_]*)*)")

    def _index(self, text: str, results: list[Any]) -> int:
        index = int(text)
        if index >= len(results):
            raise ValueError(f"$result[{index}] refers to a step that has not run")
        return index


class DagExecutor(GatherOperationExecutor):
    """Correct: an item with ``depends_on`` starts once the items it depends on finished,
    and is skipped (``E004``) when one of them failed."""

    def _waits_for(self, position: int, upstream: int) -> bool:
        return True

    def _skips_after_a_failure(self) -> bool:
        return True

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        loop = asyncio.get_running_loop()
        positions = {op["id"]: position for position, op in enumerate(operations) if "id" in op}
        finished: dict[str, asyncio.Future[TaskStepResult]] = {
            name: loop.create_future() for name in positions
        }

        async def run(position: int, operation: dict[str, Any]) -> TaskStepResult:
            step: TaskStepResult | None = None
            for upstream in operation.get("depends_on", []):
                if upstream not in finished:
                    step = _failed(str(operation.get("operation")), ValueError(upstream))
                    break
                if not self._waits_for(position, positions[upstream]):
                    continue
                before = await finished[upstream]
                if before.failed and self._skips_after_a_failure():
                    step = _skipped(operation)
                    break
            if step is None:
                step = await self._step(operation)
            if "id" in operation:
                finished[operation["id"]].set_result(step)
            return step

        return list(
            await asyncio.gather(*(run(position, op) for position, op in enumerate(operations)))
        )


class AssumesTopologicalOrder(DagExecutor):
    """Waits only for dependencies listed before the item: a plan listed in another order
    runs its items before what they depend on."""

    def _waits_for(self, position: int, upstream: int) -> bool:
        return upstream < position


class RunsDependantsOfFailures(DagExecutor):
    """Waits for an item's dependencies, but runs it even when one of them failed."""

    def _skips_after_a_failure(self) -> bool:
        return False


_REFERENCES = {"supports_result_references": True}
_DEPENDENCIES = {"supports_dependencies": True}

EXHIBITS: list[Exhibit] = [
    exhibit(OperationSuite, GatherOperationExecutor, why="correct: the baseline"),
    exhibit(
        OperationSuite,
        SyncPathForSingleOperations,
        "test_execute_operation_runs_sync_and_async_operations",
        why="single operations through the sync API",
    ),
    exhibit(
        OperationSuite,
        SplitsSpecsAtTheFirstDot,
        "test_a_malformed_spec_raises_value_error",
        why="the seed's spec.split('.', 1)",
    ),
    exhibit(
        OperationSuite,
        UnknownToolIsAValueError,
        "test_an_unknown_tool_raises_lookup_error",
        why="ValueError for an unknown tool",
    ),
    exhibit(
        OperationSuite,
        RunsAnyAttribute,
        "test_names_that_are_not_operations_are_refused",
        why="returns a tool's data attributes",
    ),
    exhibit(
        OperationSuite,
        ReplacesTheOperationsError,
        "test_an_operations_error_reaches_the_caller_itself_or_chained",
        why="replaces the operation's error",
    ),
    exhibit(
        OperationSuite,
        BatchInCompletionOrder,
        "test_batch_returns_results_in_input_order",
        why="batch results in completion order",
    ),
    exhibit(
        OperationSuite,
        BatchPutsNoneForFailures,
        "test_batch_returns_a_failed_operations_exception_in_its_place",
        why="None for a failed batch item",
    ),
    exhibit(
        OperationSuite,
        ParallelInCompletionOrder,
        "test_parallel_returns_step_results_in_input_order",
        why="parallel steps in completion order",
    ),
    exhibit(
        OperationSuite,
        BareExceptionsInSteps,
        "test_parallel_reports_each_failure_as_a_failed_step_with_its_error_code",
        why="bare exceptions among the steps",
    ),
    exhibit(
        OperationSuite,
        OneCodeForEveryFailure,
        "test_parallel_reports_each_failure_as_a_failed_step_with_its_error_code",
        why="E003 for every failure",
    ),
    exhibit(
        OperationSuite,
        OneAtATime,
        "test_parallel_operations_run_at_the_same_time",
        why="parallel operations one at a time",
    ),
    exhibit(
        OperationSuite,
        BatchIgnoresTheLimit,
        "test_batch_honours_the_concurrency_limit",
        why="the batch bypasses the limit",
    ),
    exhibit(
        OperationSuite,
        ParallelIgnoresTheLimit,
        "test_parallel_honours_the_concurrency_limit",
        why="parallel operations bypass the limit",
    ),
    exhibit(
        OperationSuite,
        SequenceRunsAtOnceWhenNothingStops,
        "test_sequence_runs_operations_one_after_another_in_order",
        why="a sequence run in parallel",
    ),
    exhibit(
        OperationSuite,
        IgnoresStopOnFailure,
        "test_sequence_stops_after_the_first_failure_when_asked",
        "test_a_stopped_sequence_still_returns_one_step_per_operation",
        why="stop_on_failure ignored",
    ),
    exhibit(
        OperationSuite,
        CancelsTheFailedStep,
        "test_sequence_stops_after_the_first_failure_when_asked",
        why="the failed step reported as cancelled",
    ),
    exhibit(
        OperationSuite,
        NoStepsAfterAStop,
        "test_a_stopped_sequence_still_returns_one_step_per_operation",
        why="no steps after a stop",
    ),
    exhibit(
        OperationSuite,
        AlwaysStops,
        "test_sequence_runs_every_operation_without_stop_on_failure",
        why="stops whether asked or not",
    ),
    exhibit(
        OperationSuite,
        IgnoresSyncCallbacks,
        "test_sequence_calls_a_sync_save_callback_after_each_step",
        why="sync callbacks ignored",
    ),
    exhibit(
        OperationSuite,
        NeverAwaitsTheCallback,
        "test_sequence_awaits_an_async_save_callback_after_each_step",
        why="async callbacks never awaited",
    ),
    exhibit(
        OperationSuite,
        CallbackErrorEscapes,
        "test_sequence_keeps_its_results_when_the_callback_fails",
        why="the callback's error escapes",
    ),
    exhibit(OperationSuite, ReferencingExecutor, why="correct: references", **_REFERENCES),
    exhibit(
        OperationSuite,
        ResolvesTopLevelReferencesOnly,
        "test_sequence_resolves_result_references",
        why="nested references left as they are",
        **_REFERENCES,
    ),
    exhibit(
        OperationSuite,
        NegativeIndicesResolve,
        "test_a_bad_result_reference_fails_its_step_with_e001",
        why="$result[-1] resolves",
        **_REFERENCES,
    ),
    exhibit(
        OperationSuite,
        GatherOperationExecutor,
        "test_sequence_resolves_result_references",
        "test_a_bad_result_reference_fails_its_step_with_e001",
        why="declares references and passes them on literally",
        label="references",
        **_REFERENCES,
    ),
    exhibit(OperationSuite, DagExecutor, why="correct: dependencies", **_DEPENDENCIES),
    exhibit(
        OperationSuite,
        AssumesTopologicalOrder,
        "test_an_item_starts_after_the_items_it_depends_on_finished",
        why="waits only for dependencies listed earlier",
        **_DEPENDENCIES,
    ),
    exhibit(
        OperationSuite,
        RunsDependantsOfFailures,
        "test_the_dependants_of_a_failed_item_are_skipped",
        why="runs the dependants of a failed item",
        **_DEPENDENCIES,
    ),
    exhibit(
        OperationSuite,
        GatherOperationExecutor,
        "test_an_item_starts_after_the_items_it_depends_on_finished",
        "test_the_dependants_of_a_failed_item_are_skipped",
        why="declares dependencies and ignores depends_on",
        label="dependencies",
        **_DEPENDENCIES,
    ),
]
