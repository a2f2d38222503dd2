"""The unified execution interface: operations and named tasks, through pluggable engines.

:class:`ExecutionEngine` conforms to :class:`~execproto.protocols.ExecutionInterface`::

    async with ExecutionEngine(registry, ToolExecutor(registry)) as engine:
        await engine.execute_operation("search.query", {"text": "x"})
        engine.register_task("report", build_report)
        await engine.execute_task("report", {"week": 12}, {"user_id": "u1", "task_id": "t1"})

**The engine plugin contract.** An *engine* decides where single operations run and,
optionally, where named tasks run; nothing else. It is a factory, called once when the engine
is first used::

    def create_engine(tool_provider: IToolProvider, tool_executor: IToolExecutor, /,
                      **options: Any) -> IToolExecutor: ...

and returns an :class:`~execproto.protocols.IToolExecutor` whose ``execute_async(tool,
operation_name, **params)`` runs the operation wherever the engine runs things. A Dask
engine, for instance, submits ``tool_executor.execute(tool, operation_name, **params)`` to a
worker and awaits the future. What the returned executor must guarantee is what the protocol
says (same result as the local executor, errors raised as themselves or chained, ``ValueError``
for a bad operation before it runs); what it gets for free, because it lives in shared code
(:class:`~execproto.runtime.operations.OperationExecutor`), is spec parsing, the concurrency limit,
input order, ``$result`` references, DAGs, step results, callbacks and cancellation.

* *tool_provider* lets an engine ship tool *names* instead of tool objects (workers with
  their own registry); *options* come from ``ExecutionEngine(engine_options=...)``.
* The execution context (:mod:`execproto.context`) is in :mod:`contextvars` of the calling
  task; an engine that runs operations in another process must carry
  :func:`~execproto.context.current_context` along itself if its executor scopes caches.
* If the returned executor has ``aclose()`` (awaited) or ``close()``,
  :meth:`ExecutionEngine.aclose` calls it, unless it is the *tool_executor* it was given
  (which belongs to the caller).
* **Tasks (optional).** If the returned executor also conforms to :class:`TaskRunner`
  (it has an async ``run_task(fn, input_data, context)``), the named tasks of
  :meth:`ExecutionEngine.execute_task` and :meth:`~ExecutionEngine.batch_execute_tasks` are
  sent through it, on the engine the :class:`ExecutionEngine` was built with (its *engine*
  argument, or an executor registered under that name); without ``run_task`` they run in
  this process. ``run_task`` receives copies of the caller's dicts, runs ``fn(input_data,
  context)`` (sync or async) wherever the engine runs things, inside an execution context
  for the ``user_id`` and ``task_id`` of *context*, and returns its result or raises what
  it raised. The Dask engine ships *fn* to a worker.
* Register a factory under the entry-point group ``execproto.engines``; a class whose
  constructor takes these arguments is a factory too (execproto registers its Dask engine
  that way)::

      [project.entry-points."execproto.engines"]
      dask = "execproto.engines.dask:DaskEngine"

``local`` (:mod:`execproto.engines.local`) is built in, the default, and returns the tool
executor itself. An already built engine executor can also be added at run time with
:meth:`ExecutionEngine.register_executor`.

**Tasks** are named callables ``fn(input_data, context)``, sync or async, registered with
:meth:`ExecutionEngine.register_task`. They run through the engine if it is a
:class:`TaskRunner`, else here: sync tasks in a worker thread (never on the event loop). A
task runs inside :func:`~execproto.context.execution_context` built from the ``user_id`` and
``task_id`` string entries of its *context*, if any.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, cast

from typing_extensions import Self

from execproto.capabilities import EngineFactory, StepCallback, TaskFunction, TaskRunner
from execproto.context import current_context, execution_context
from execproto.errors import (
    ConformanceError,
    EngineNotFoundError,
    InvalidOperationError,
    TaskNotFoundError,
)
from execproto.models import TaskStepResult
from execproto.protocols import IToolExecutor, IToolProvider
from execproto.runtime.monitoring import Monitor

# One limiter implementation for operations and tasks; private to execproto, not to a module.
from execproto.runtime.operations import (
    OperationExecutor,
    _Limiter,  # pyright: ignore[reportPrivateUsage]
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ExecutionEngine",
    "available_engines",
    "load_engine",
]

#: The entry-point group engines are found in.
ENTRY_POINT_GROUP = "execproto.engines"


_LOCAL = "local"


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_engines() -> list[str]:
    """Return the names of the installed engines (``local`` and every entry point), sorted."""
    return sorted({_LOCAL, *_entry_points()})


def load_engine(name: str) -> EngineFactory:
    """Return the engine factory registered as *name*.

    Raises:
        EngineNotFoundError: no engine of that name; the message lists those installed.
        ImportError: the entry point's module failed to import (chained as the cause of an
            :class:`EngineNotFoundError`).
    """
    if name == _LOCAL:
        from execproto.engines.local import create_engine

        return create_engine
    entry_point = _entry_points().get(name)
    if entry_point is None:
        raise EngineNotFoundError(
            f"no execution engine named {name!r}; installed engines: "
            f"{available_engines()!r} (engines register under the entry-point group "
            f"{ENTRY_POINT_GROUP!r}; the 'dask' engine needs: pip install 'execproto[dask]')"
        )
    try:
        factory: object = entry_point.load()
    except ImportError as err:
        raise EngineNotFoundError(
            f"the engine {name!r} ({entry_point.value}) is installed but cannot be imported: "
            f"{err}; install its dependencies"
        ) from err
    if not callable(factory):
        raise EngineNotFoundError(
            f"the engine entry point {name!r} ({entry_point.value}) is {factory!r} of type "
            f"{type(factory).__name__}, not a factory callable as "
            f"(tool_provider, tool_executor, **options)"
        )
    return cast("EngineFactory", factory)


def _check_executor(name: str, executor: object) -> IToolExecutor:
    if not isinstance(executor, IToolExecutor):
        raise ConformanceError(
            f"the executor for engine {name!r} must conform to IToolExecutor (execute, "
            f"execute_async), got {executor!r} of type {type(executor).__name__}"
        )
    return executor


class ExecutionEngine:
    """Runs operations and named tasks; operations go through a pluggable engine.

    Conforms to :class:`~execproto.protocols.ExecutionInterface`. Operations run through
    the engine named *engine* (default ``local``; see the module documentation for the
    plugin contract), with *engine_options* passed to its factory when it is first used.
    *max_concurrency* bounds tool calls in flight per engine (all modes together, see
    :class:`~execproto.runtime.operations.OperationExecutor`) and, separately, tasks in flight.

    Use as ``async with`` (or call :meth:`aclose`) to release engines that hold resources
    (a Dask cluster).

    *monitor* (an :class:`~execproto.runtime.monitoring.Monitor`) is handed to every operation
    executor the engine builds, whatever its engine, so each plan run is one
    ``invoke_workflow`` span and its steps are counted by outcome. The engine does not
    reach into *tool_executor*: build the :class:`~execproto.runtime.executor.ToolExecutor` with the
    same monitor for the ``execute_tool`` spans and call metrics (with the ``local`` engine
    they nest under the plan span). Named tasks run through the default engine when its
    executor is a :class:`TaskRunner`, else in this process. They are not tracked; wrap
    them with :func:`~execproto.runtime.monitoring.monitor_execution` (``metrics=monitor.metrics``)
    if needed.

    Raises:
        EngineNotFoundError: no engine named *engine* is installed.
        ConformanceError: *tool_provider* or *tool_executor* does not conform.
        ValueError: *max_concurrency* is not a positive int.
        TypeError: *monitor* is not a :class:`~execproto.runtime.monitoring.Monitor`.
    """

    def __init__(
        self,
        tool_provider: IToolProvider,
        tool_executor: IToolExecutor,
        *,
        engine: str = _LOCAL,
        engine_options: Mapping[str, Any] | None = None,
        max_concurrency: int = 10,
        monitor: Monitor | None = None,
    ) -> None:
        # Built first: it validates the provider, the executor, the limit and the monitor.
        probe = OperationExecutor(
            tool_provider, tool_executor, max_concurrency=max_concurrency, monitor=monitor
        )
        self._provider = tool_provider
        self._tool_executor = tool_executor
        self._max_concurrency = max_concurrency
        self._monitor = monitor
        self._lock = threading.Lock()
        self._registered: dict[str, IToolExecutor] = {}
        self._operation_executors: dict[str, OperationExecutor] = {}
        self._owned: list[IToolExecutor] = []
        self._tasks: dict[str, TaskFunction] = {}
        self._task_limiter = _Limiter(max_concurrency)
        # (engine executor, it as a TaskRunner or None): the isinstance check of a runtime
        # protocol is made once per executor, not per task.
        self._runner_of: tuple[IToolExecutor, TaskRunner | None] | None = None
        self._options: dict[str, Any] = dict(engine_options or {})
        if engine == _LOCAL and not self._options:
            self._operation_executors[_LOCAL] = probe
        else:
            load_engine(engine)
        self._engine = engine

    @property
    def engine(self) -> str:
        """The name of the engine operations run through by default."""
        return self._engine

    @property
    def monitor(self) -> Monitor | None:
        """The monitor handed to every operation executor of this engine, if any."""
        return self._monitor

    def engine_names(self) -> list[str]:
        """Return every engine name usable here: registered executors and installed engines."""
        with self._lock:
            registered = set(self._registered)
        return sorted(registered | set(available_engines()))

    def register_executor(
        self, executor_type: str, executor_instance: Any, *, replace: bool = False
    ) -> None:
        """Make *executor_instance* (an engine's built executor) available as *executor_type*.

        A registered executor takes precedence over an installed engine of the same name;
        it is not closed by :meth:`aclose` (it belongs to the caller).

        Raises:
            ConformanceError: *executor_instance* does not conform to ``IToolExecutor``.
            ValueError: *executor_type* is already in use here and *replace* is false.
            TypeError: *executor_type* is not a non-empty str.
        """
        if not isinstance(executor_type, str) or not executor_type:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"executor_type must be a non-empty str, got {executor_type!r} of type "
                f"{type(executor_type).__name__}"
            )
        executor = _check_executor(executor_type, executor_instance)
        with self._lock:
            taken = executor_type in self._registered or executor_type in (
                self._operation_executors
            )
            if taken and not replace:
                raise ValueError(
                    f"an executor is already in use as {executor_type!r}; pass replace=True "
                    f"to replace it"
                )
            self._registered[executor_type] = executor
            self._operation_executors[executor_type] = OperationExecutor(
                self._provider,
                executor,
                max_concurrency=self._max_concurrency,
                monitor=self._monitor,
            )

    def register_task(self, name: str, fn: TaskFunction, *, replace: bool = False) -> None:
        """Register *fn* (``fn(input_data, context)``, sync or async) as the task *name*.

        Raises:
            TypeError: *name* is not a non-empty str, or *fn* is not callable.
            ValueError: a task is already registered as *name* and *replace* is false.
        """
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"a task name must be a non-empty str, got {name!r} of type {type(name).__name__}"
            )
        if not callable(fn):
            raise TypeError(
                f"task {name!r} must be callable as fn(input_data, context), got {fn!r} of "
                f"type {type(fn).__name__}"
            )
        with self._lock:
            if name in self._tasks and not replace:
                raise ValueError(
                    f"a task is already registered as {name!r}; pass replace=True to replace it"
                )
            self._tasks[name] = fn

    def operations(self, engine: str | None = None) -> OperationExecutor:
        """Return the operation executor of *engine* (default: this engine's default).

        The engine is built on first use. Use it for the modes beyond the interface
        (``execute_operations_sequence``, ``execute_parallel_operations``, ``on_step``).

        Raises:
            EngineNotFoundError: no engine of that name.
        """
        name = self._engine if engine is None else engine
        existing = self._operation_executors.get(name)
        if existing is not None:
            return existing
        factory = load_engine(name)
        options = self._options if name == self._engine else {}
        built = _check_executor(name, factory(self._provider, self._tool_executor, **options))
        with self._lock:
            existing = self._operation_executors.get(name)
            if existing is not None:
                # Another caller built it meanwhile; this copy is released below.
                pass
            else:
                existing = self._operation_executors[name] = OperationExecutor(
                    self._provider,
                    built,
                    max_concurrency=self._max_concurrency,
                    monitor=self._monitor,
                )
                if built is not self._tool_executor:
                    self._owned.append(built)
                return existing
        if built is not self._tool_executor:
            _close_sync(built)
        return existing

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        """Run *operation_spec* (``"tool.operation"``) with *params* on the default engine.

        Raises:
            InvalidOperationError: malformed spec or parameters.
            ToolNotFoundError: unknown tool.
            EngineNotFoundError: the default engine cannot be loaded.
            Exception: whatever the operation raised (possibly chained).
        """
        return await self.operations().execute_operation(operation_spec, params)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        """Run *operations* concurrently; results (or exceptions) in input order.

        Raises:
            InvalidOperationError: *operations* is not a list.
        """
        return await self.operations().batch_execute_operations(operations)

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
        *,
        on_step: StepCallback | None = None,
    ) -> list[TaskStepResult]:
        """Run *operations* as a sequence (or DAG) on the default engine.

        See :meth:`OperationExecutor.execute_operations_sequence`.

        Raises:
            InvalidOperationError: *operations* is not a list.
            TypeError: *user_id* or *task_id* is not a str.
        """
        return await self.operations().execute_operations_sequence(
            operations, user_id, task_id, stop_on_failure, save_callback, on_step=on_step
        )

    async def execute_parallel_operations(
        self,
        operations: list[dict[str, Any]],
        *,
        stop_on_failure: bool = False,
        on_step: StepCallback | None = None,
    ) -> list[TaskStepResult]:
        """Run *operations* concurrently (or as a DAG) on the default engine.

        See :meth:`OperationExecutor.execute_parallel_operations`.

        Raises:
            InvalidOperationError: *operations* is not a list.
        """
        return await self.operations().execute_parallel_operations(
            operations, stop_on_failure=stop_on_failure, on_step=on_step
        )

    def _task(self, task_name: object) -> TaskFunction:
        fn = self._tasks.get(task_name) if isinstance(task_name, str) else None
        if fn is None:
            raise TaskNotFoundError(
                f"no task registered as {task_name!r}; registered tasks: "
                f"{sorted(self._tasks)!r}; add one with register_task(name, fn)"
            )
        return fn

    def _task_runner(self) -> TaskRunner | None:
        """Return the default engine's executor if it runs tasks (:class:`TaskRunner`)."""
        executor = self.operations().tool_executor
        known = self._runner_of
        if known is not None and known[0] is executor:
            return known[1]
        runner = executor if isinstance(executor, TaskRunner) else None
        self._runner_of = (executor, runner)
        return runner

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        """Run the task *task_name* with *input_data* in *context*; return its result.

        The task runs through the default engine if that engine's executor is a
        :class:`TaskRunner` (the Dask engine runs it on a worker), else in this process (a
        sync task in a worker thread). Either way it holds one slot of the task concurrency
        limit while it runs and gets copies of *input_data* and *context*.

        Raises:
            TaskNotFoundError: no task registered under that name.
            InvalidOperationError: *input_data* or *context* is not a mapping.
            EngineNotFoundError: the default engine cannot be loaded.
            Exception: whatever the task raised, or the engine's error when it cannot run
                the task (the Dask engine raises ``TypeError`` for a task it cannot pickle).
        """
        fn = self._task(task_name)
        for what, value in (("input_data", input_data), ("context", context)):
            if not isinstance(value, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise InvalidOperationError(
                    f"{what} of task {task_name!r} must be a mapping, got {value!r} of type "
                    f"{type(value).__name__}"
                )
        runner = self._task_runner()
        outer = current_context()
        user_id = context.get("user_id", outer.user_id)
        task_id = context.get("task_id", outer.task_id)
        async with self._task_limiter.semaphore():
            with execution_context(
                user_id=user_id if isinstance(user_id, str) else outer.user_id,
                task_id=task_id if isinstance(task_id, str) else outer.task_id,
            ):
                if runner is not None:
                    return await runner.run_task(fn, dict(input_data), dict(context))
                if inspect.iscoroutinefunction(fn):
                    return await fn(dict(input_data), dict(context))
                # to_thread copies the context, so the task sees the same user and task.
                outcome = await asyncio.to_thread(fn, dict(input_data), dict(context))
                if inspect.isawaitable(outcome):
                    return await outcome
                return outcome

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        """Run *tasks* (``{"task_name", "input_data", "context"}``) concurrently.

        Returns one entry per task in input order: its result, or the exception it raised
        (:class:`TaskNotFoundError` for an unknown name, :class:`InvalidOperationError` for
        a malformed item). Each task runs as :meth:`execute_task` runs it: through the
        default engine if it is a :class:`TaskRunner`.

        Raises:
            InvalidOperationError: *tasks* is not a list.
        """
        if not isinstance(tasks, (list, tuple)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOperationError(
                f"tasks must be a list of task items, got {tasks!r} of type {type(tasks).__name__}"
            )
        items: list[object] = list(tasks)

        async def run(index: int, item: object) -> Any:
            try:
                kind = type(item).__name__
                if not isinstance(item, Mapping) or "task_name" not in item:
                    raise InvalidOperationError(
                        f"task item {index} must be a mapping with 'task_name' (and optional "
                        f"'input_data', 'context'), got {item!r} of type {kind}"
                    )
                fields = cast("Mapping[str, Any]", item)
                return await self.execute_task(
                    fields["task_name"], fields.get("input_data", {}), fields.get("context", {})
                )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                return err

        return list(await asyncio.gather(*(run(i, item) for i, item in enumerate(items))))

    async def aclose(self) -> None:
        """Close every engine executor this engine built (not those given to it)."""
        with self._lock:
            owned, self._owned = self._owned, []
        for executor in owned:
            closer = getattr(executor, "aclose", None)
            if callable(closer):
                outcome = closer()
                if inspect.isawaitable(outcome):
                    await outcome
            else:
                _close_sync(executor)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._provider!r}, {self._tool_executor!r}, "
            f"engine={self._engine!r}, max_concurrency={self._max_concurrency})"
        )


def _close_sync(executor: object) -> None:
    closer = getattr(executor, "close", None)
    if callable(closer):
        closer()
