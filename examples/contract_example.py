"""A third party's execution layer, written without any execproto base class.

These classes conform to the execproto protocols structurally; the only things they take from
execproto are the result model (:class:`~execproto.models.TaskStepResult` and its enums),
because the protocol's return type is that model. They are proved by the contract kit in
``tests/contracts/test_example_contracts.py``::

    class TestDictToolProvider(ToolProviderContract):
        def make_provider(self, tools):
            return DictToolProvider(tools)
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from execproto.models import ErrorCode, TaskStatus, TaskStepResult

_SPEC = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)")


class DictToolProvider:
    """Tools by name in a dict that is replaced, never mutated, so readers need no lock."""

    def __init__(self, tools: Mapping[str, Any] | None = None) -> None:
        self._tools: dict[str, Any] = dict(tools or {})
        self._lock = threading.Lock()

    def register(self, name: str, tool: Any) -> None:
        with self._lock:
            self._tools = {**self._tools, name: tool}

    def unregister(self, name: str) -> None:
        with self._lock:
            self._tools = {key: value for key, value in self._tools.items() if key != name}

    def get_tool(self, tool_name: str) -> Any:
        try:
            return self._tools[tool_name]
        except KeyError:
            raise LookupError(f"no tool named {tool_name!r}") from None

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self._tools


def _operation(tool: Any, name: str, params: Mapping[str, Any]) -> Callable[..., Any]:
    # Look the name up on the class without running descriptors, so a property is never
    # evaluated and a data attribute is never called.
    member = inspect.getattr_static(type(tool), name, None) if name else None
    if name.startswith("_") or not inspect.isfunction(member):
        raise ValueError(f"{type(tool).__name__} has no operation {name!r}")
    method: Callable[..., Any] = getattr(tool, name)
    try:
        inspect.signature(method).bind(**params)
    except TypeError as err:
        raise ValueError(f"{name}: cannot accept {sorted(params)!r}: {err}") from err
    return method


class ThreadedToolExecutor:
    """Runs operations; synchronous ones go to a worker thread on the async path."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        if inspect.iscoroutinefunction(method):
            return asyncio.run(method(**params))
        return method(**params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        method = _operation(tool, operation_name, params)
        if inspect.iscoroutinefunction(method):
            return await method(**params)
        return await asyncio.to_thread(method, **params)


def _encode(value: Any) -> Any:
    # Tag every value with its type so that 1, 1.0, True and "1" give different keys.
    if value is None or isinstance(value, (bool, int, str)):
        return [type(value).__name__, value]
    if isinstance(value, float):
        return ["float", value.hex()]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_encode(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", sorted([_encode(key), _encode(item)] for key, item in value.items())]
    raise TypeError(f"cannot make a cache key from {value!r} of type {type(value).__name__}")


class LruTtlCache:
    """An LRU cache with a time to live; keys are SHA-256 digests of a typed encoding."""

    def __init__(
        self, maxsize: int = 256, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        encoded = _encode([operation_type, user_id, task_id, tuple(args), dict(kwargs)])
        return hashlib.sha256(json.dumps(encoded).encode()).hexdigest()

    def get_from_cache(self, cache_key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[cache_key]
                return None
            self._entries.move_to_end(cache_key)
            return entry[1]

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        with self._lock:
            self._entries[cache_key] = (self._clock() + self.ttl, value)
            self._entries.move_to_end(cache_key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


def _failed(spec: str, error: BaseException) -> TaskStepResult:
    invalid = isinstance(error, (ValueError, LookupError))
    return TaskStepResult(
        step=spec,
        status=TaskStatus.FAILED,
        error_code=ErrorCode.VALIDATION_ERROR if invalid else ErrorCode.EXECUTION_ERROR,
        error_message=f"{type(error).__name__}: {error}",
        message="operation failed",
    )


class GatherOperationExecutor:
    """Runs ``tool.operation`` specs with one semaphore limiting every mode."""

    def __init__(
        self, provider: Any, executor: Any | None = None, max_concurrency: int = 4
    ) -> None:
        self.provider = provider
        self.executor = executor or ThreadedToolExecutor()
        self.max_concurrency = max_concurrency
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        return self._semaphores.setdefault(loop, asyncio.Semaphore(self.max_concurrency))

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        match = _SPEC.fullmatch(operation_spec) if isinstance(operation_spec, str) else None
        if match is None:
            raise ValueError(f"expected 'tool.operation', got {operation_spec!r}")
        tool = self.provider.get_tool(match[1])
        async with self._semaphore():
            return await self.executor.execute_async(tool, match[2], **params)

    async def _step(self, operation: dict[str, Any]) -> TaskStepResult:
        spec = str(operation.get("operation"))
        try:
            result = await self.execute_operation(spec, dict(operation.get("params", {})))
        except Exception as err:
            return _failed(spec, err)
        return TaskStepResult(step=spec, result=result, completed=True, status=TaskStatus.COMPLETED)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        calls = [self.execute_operation(op["operation"], op.get("params", {})) for op in operations]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        return list(await asyncio.gather(*(self._step(op) for op in operations)))

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
            if stop_on_failure and any(step.failed for step in steps):
                steps.append(
                    TaskStepResult(
                        step=str(operation.get("operation")),
                        status=TaskStatus.CANCELLED,
                        error_code=ErrorCode.CANCELLED_ERROR,
                        message="skipped after an earlier failure",
                    )
                )
                continue
            step = await self._step(operation)
            steps.append(step)
            if save_callback is not None:
                try:
                    saved = save_callback(user_id, task_id, index, step)
                    if isinstance(saved, Awaitable):
                        await saved
                except Exception:  # a failed save must not lose the step's result
                    pass
        return steps


class TaskEngine:
    """An execution interface over :class:`GatherOperationExecutor` and named async tasks."""

    def __init__(
        self,
        operations: GatherOperationExecutor,
        tasks: Mapping[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]],
    ) -> None:
        self.operations = operations
        self.tasks = dict(tasks)

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        return await self.operations.execute_operation(operation_spec, params)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return await self.operations.batch_execute_operations(operations)

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        try:
            task = self.tasks[task_name]
        except KeyError:
            raise LookupError(f"no task named {task_name!r}") from None
        return await task(input_data, context)

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        calls = [
            self.execute_task(
                item["task_name"], item.get("input_data", {}), item.get("context", {})
            )
            for item in tasks
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    def register_executor(self, executor_type: str, executor_instance: Any) -> None:
        raise NotImplementedError("TaskEngine runs operations with one executor only")
