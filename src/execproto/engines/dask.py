"""The ``dask`` engine: operations and tasks run on a Dask ``distributed`` cluster.

Install with ``pip install 'execproto[dask]'``; :class:`~execproto.runtime.engine.ExecutionEngine`
finds it by name (entry point ``execproto.engines``, ``dask``)::

    engine = ExecutionEngine(
        registry,
        ToolExecutor(registry),
        engine="dask",
        engine_options={"address": "tcp://scheduler:8786", "worker_executor": ToolExecutor},
    )

Where it runs: on the cluster of *client* (a synchronous ``distributed.Client`` owned by
the caller; its futures are awaited from any event loop), else of the scheduler at *address*, else on a ``LocalCluster`` that
the engine starts on first use (worker processes, ``dashboard_address=":0"``) and closes
in :meth:`DaskEngine.close`.

What a caller must know:

* **Shipping.** Each tool object is sent to the cluster once, when this engine first runs
  one of its operations (``scatter``, broadcast to the workers), and the workers run *that
  copy*: changes made to the tool afterwards, and changes the operations make to the
  workers' copies, are not seen on the other side (call :meth:`DaskEngine.forget_tools` to
  ship afresh). The engine keeps the 128 most recently used tools shipped; a tool object
  made per call is shipped per call. Tools must be picklable (cloudpickle); one that is not (it holds a lock, a
  socket, an open file) fails the operation with a :class:`TypeError` naming the tool.
  Operations run on the workers through a tool executor: *worker_executor* (a picklable
  zero-argument factory, called once per worker process, e.g. ``ToolExecutor`` or
  ``functools.partial(ToolExecutor, cache=redis_cache)``), else the *tool_executor* the
  engine was built with, shipped like a tool (the reference ``ToolExecutor`` pickles as its
  settings, so it ships as long as its registry, cache and monitor do; a
  ``MemoryCacheProvider`` holds a lock and does not: pass *worker_executor* then).
* **Validation first.** The operation is resolved and its parameters are bound to its
  signature here, before anything is submitted: a bad name or parameter raises
  :class:`~execproto.errors.InvalidOperationError` (a ``ValueError``) and nothing runs.
* **Sync and async operations.** Sync operations run in a worker thread; async operations
  are submitted as coroutine functions, which Dask runs on the worker's event loop as they
  are. The caller's :func:`~execproto.context.current_context` goes along, so caches on the
  workers are scoped to the same user and task.
* **Errors** come back as the operation raised them (same type, Dask keeps the remote
  traceback), so :func:`~execproto.errors.failure_status` turns them into failed steps
  exactly as locally. A task lost because its workers died too often comes back as
  ``distributed.scheduler.KilledWorker``: a failed step, E003.
* **Futures** are submitted with ``pure=False`` (two identical calls are two runs, never a
  shared result) and released as soon as their result is read; cancelling the awaiting
  task cancels the Dask future.
* **Delivery is at least once.** When a worker dies while running a task, the scheduler
  reschedules the task on another worker (up to ``distributed.scheduler.allowed-failures``
  times, 3 by default, then ``KilledWorker``): the operation may have run partly or wholly
  and then runs *again*. This cannot be prevented per task. For operations that are not
  idempotent (the default of :func:`~execproto.runtime.registry.operation`), the engine only
  guarantees that Dask does not retry them after they *raise* (``retries=0``); *retries*
  applies to idempotent operations only. Make side effects idempotent (an idempotency key)
  or set ``allowed-failures`` to 0 on the scheduler if a rerun after a crash is worse than
  a lost result. The shipped tool is data, not a task: if the dying worker held its only
  replica (seen despite the broadcast), Dask cannot recompute it and the operation fails
  instead of rerunning; call :meth:`DaskEngine.forget_tools` to ship tools afresh.
* **Concurrency** is bounded by the caller (:class:`~execproto.runtime.operations.OperationExecutor`
  holds one slot per submitted operation until its result is back), exactly as locally;
  the cluster's threads bound how many run at once on the workers.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, cast

from distributed import Client
from typing_extensions import Self

from execproto.context import current_context, execution_context
from execproto.errors import InvalidOperationError
from execproto.protocols import IToolExecutor, IToolProvider
from execproto.runtime._validation import (
    check_callable,
    check_component,
    check_count,
    check_instance,
    check_str,
)
from execproto.runtime.registry import resolve_operation

__all__ = ["DaskEngine", "WorkerExecutorFactory", "create_engine"]

# distributed is only partly annotated (and cloudpickle not at all): calls into them go
# through Any here rather than through a suppression per line.
_distributed: Any = importlib.import_module("distributed")
_cloudpickle: Any = importlib.import_module("cloudpickle")

#: A picklable zero-argument callable that builds the tool executor of one worker process.
WorkerExecutorFactory = Callable[[], IToolExecutor]

# Tools shipped per engine, least recently used dropped first: callers that build a new
# tool object per call must not pin every copy on the cluster.
_MAX_SHIPPED = 128

# Per worker process: the executors built from factories, by engine token. A worker serves
# every engine that uses it, so the token keeps two engines' executors apart.
_worker_executors: dict[str, IToolExecutor] = {}
_worker_executors_lock = threading.Lock()


class _ExecutorRef:
    """Names the executor a worker uses: built once per process from *factory*."""

    __slots__ = ("factory", "token")

    def __init__(self, token: str, factory: WorkerExecutorFactory) -> None:
        self.token = token
        self.factory = factory

    def get(self) -> IToolExecutor:
        with _worker_executors_lock:
            executor = _worker_executors.get(self.token)
            if executor is None:
                executor = _worker_executors[self.token] = self.factory()
            return executor

    def __getstate__(self) -> tuple[str, WorkerExecutorFactory]:
        return self.token, self.factory

    def __setstate__(self, state: tuple[str, WorkerExecutorFactory]) -> None:
        self.token, self.factory = state


def _worker_executor(source: object) -> IToolExecutor:
    if isinstance(source, _ExecutorRef):
        return source.get()
    return cast("IToolExecutor", source)


def _run_sync(
    source: object, tool: object, name: str, params: dict[str, Any], scope: tuple[str, str]
) -> Any:
    with execution_context(user_id=scope[0], task_id=scope[1]):
        return _worker_executor(source).execute(tool, name, **params)


async def _run_async(
    source: object, tool: object, name: str, params: dict[str, Any], scope: tuple[str, str]
) -> Any:
    with execution_context(user_id=scope[0], task_id=scope[1]):
        return await _worker_executor(source).execute_async(tool, name, **params)


def _run_task_sync(
    fn: Callable[..., Any],
    input_data: dict[str, Any],
    context: dict[str, Any],
    scope: tuple[str, str],
) -> Any:
    with execution_context(user_id=scope[0], task_id=scope[1]):
        outcome = fn(input_data, context)
        if inspect.isawaitable(outcome):
            return asyncio.run(_awaited(outcome))
        return outcome


async def _run_task_async(
    fn: Callable[..., Any],
    input_data: dict[str, Any],
    context: dict[str, Any],
    scope: tuple[str, str],
) -> Any:
    with execution_context(user_id=scope[0], task_id=scope[1]):
        return await fn(input_data, context)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _scope(context: Mapping[str, Any] | None = None) -> tuple[str, str]:
    outer = current_context()
    if context is None:
        return outer.user_id, outer.task_id
    user_id = context.get("user_id", outer.user_id)
    task_id = context.get("task_id", outer.task_id)
    return (
        user_id if isinstance(user_id, str) else outer.user_id,
        task_id if isinstance(task_id, str) else outer.task_id,
    )


class DaskEngine:
    """An :class:`~execproto.protocols.IToolExecutor` that runs operations on a Dask cluster.

    Also the engine factory registered as ``dask``: ``DaskEngine(tool_provider,
    tool_executor, **options)`` is what :class:`~execproto.runtime.engine.ExecutionEngine` calls.
    See the module documentation for shipping, delivery and error semantics.

    Options (keyword only): *client* (a synchronous ``distributed.Client`` the caller owns
    and closes),
    or *address* (a scheduler address; the engine opens and closes its client), or neither
    (a ``LocalCluster`` of *n_workers* processes with *threads_per_worker* threads, started
    on first use and closed by :meth:`close`); *worker_executor* (see the module
    documentation); *retries*, how many times Dask resubmits an **idempotent** operation
    that raised (default 0: the tool executor on the worker already retries idempotent
    operations under its :class:`~execproto.runtime.executor.RetryPolicy`; non-idempotent ones are
    never resubmitted); *cluster_options*, extra ``LocalCluster`` arguments.

    Thread safe; usable from several event loops. Use as a context manager, or call
    :meth:`close` / :meth:`aclose`.

    Raises:
        TypeError: both *client* and *address* given, an asynchronous *client*, or an
            option of the wrong type; *tool_provider* or *tool_executor* does not conform
            to its protocol (:class:`~execproto.errors.ConformanceError`).
        ValueError: *retries*, *n_workers* or *threads_per_worker* out of range, or an empty
            *address*.
    """

    def __init__(
        self,
        tool_provider: IToolProvider,
        tool_executor: IToolExecutor,
        /,
        *,
        client: Client | None = None,
        address: str | None = None,
        worker_executor: WorkerExecutorFactory | None = None,
        retries: int = 0,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        cluster_options: Mapping[str, Any] | None = None,
    ) -> None:
        owner = "DaskEngine"
        if client is not None and address is not None:
            raise TypeError(
                f"{owner}: client and address exclude each other, got client={client!r} and "
                f"address={address!r}; pass either client or address, not both"
            )
        check_component(owner, "tool_provider", tool_provider, IToolProvider)
        check_component(owner, "tool_executor", tool_executor, IToolExecutor)
        check_instance(
            owner,
            "client",
            client,
            Client,
            optional=True,
            fix="pass a distributed.Client, or address=, or neither for a LocalCluster",
        )
        # distributed leaves the property unannotated: read through Any, as everywhere here.
        if client is not None and cast(Any, client).asynchronous:
            raise TypeError(
                f"{owner}: client must be a synchronous distributed.Client (the engine awaits "
                f"its futures from any event loop), got the asynchronous {client!r}; create "
                f"the client without asynchronous=True"
            )
        check_str(
            owner,
            "address",
            address,
            optional=True,
            fix="pass the scheduler's address, e.g. address='tcp://scheduler:8786'",
        )
        if worker_executor is not None:
            check_callable(owner, "worker_executor", worker_executor, shape="()")
        check_count(owner, "retries", retries, minimum=0, fix="e.g. retries=0")
        check_count(owner, "n_workers", n_workers, fix="e.g. n_workers=2")
        check_count(
            owner, "threads_per_worker", threads_per_worker, fix="e.g. threads_per_worker=1"
        )
        check_instance(
            owner,
            "cluster_options",
            cluster_options,
            Mapping,
            optional=True,
            fix="pass a dict of LocalCluster arguments, e.g. cluster_options={'memory_limit': '2GB'}",
        )
        self._provider = tool_provider
        self._tool_executor = tool_executor
        self._address = address
        self._retries = retries
        self._cluster_options: dict[str, Any] = {
            "n_workers": n_workers,
            "threads_per_worker": threads_per_worker,
            "processes": True,
            "dashboard_address": ":0",
            **(cluster_options or {}),
        }
        self._lock = threading.Lock()
        self._client: Any = client
        self._owns_client = client is None
        self._cluster: Any = None
        self._closed = False
        self._executor_source: object = (
            None if worker_executor is None else _ExecutorRef(uuid.uuid4().hex, worker_executor)
        )
        # id(tool) -> (tool, its scattered future). The tool is kept so its id is not reused.
        self._shipped: OrderedDict[int, tuple[object, Any]] = OrderedDict()

    @property
    def client(self) -> Client:
        """The Dask client, connecting (or starting the local cluster) on first use.

        Raises:
            RuntimeError: the engine is closed.
            OSError: the scheduler at *address* cannot be reached.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed; create a new engine")
            if self._client is None:
                if self._address is not None:
                    self._client = _distributed.Client(self._address)
                else:
                    self._cluster = _distributed.LocalCluster(**self._cluster_options)
                    self._client = _distributed.Client(self._cluster)
            return cast("Client", self._client)

    def _scatter(self, value: object, what: str) -> Any:
        """Send *value* to every worker; return its future. Blocking."""
        client: Any = self.client
        try:
            [future] = client.scatter([value], hash=False, broadcast=True)
        except Exception as err:
            raise TypeError(
                f"expected {what} to be picklable so it can be shipped to the Dask workers, "
                f"but {value!r} of type {type(value).__name__} cannot be pickled ({err}); "
                f"keep locks, sockets and open files out of its state (create them lazily), "
                f"or run it with the local engine"
            ) from err
        return future

    def _ship(self, tool: object, what: str) -> Any:
        """Return the future of *tool* on the workers, scattering it on first use."""
        key = id(tool)
        with self._lock:
            shipped = self._shipped.get(key)
            if shipped is not None:
                self._shipped.move_to_end(key)
                return shipped[1]
        future = self._scatter(tool, what)
        evicted: list[Any] = []
        with self._lock:
            shipped = self._shipped.setdefault(key, (tool, future))
            while len(self._shipped) > _MAX_SHIPPED:
                evicted.append(self._shipped.popitem(last=False)[1][1])
        if shipped[1] is not future:
            evicted.append(future)
        for stale in evicted:
            # Tasks already submitted keep their dependency alive on the scheduler.
            stale.release()
        return shipped[1]

    def _source(self) -> object:
        """What tells a worker its tool executor: an _ExecutorRef or the shipped executor."""
        if self._executor_source is not None:
            return self._executor_source
        future = self._scatter(
            self._tool_executor,
            f"the tool executor (pass worker_executor=ToolExecutor or another picklable "
            f"factory instead of shipping {type(self._tool_executor).__name__})",
        )
        with self._lock:
            first = self._executor_source is None
            if first:
                self._executor_source = future
        if not first:
            future.release()  # another caller shipped it meanwhile
        return self._executor_source

    def _ready(self, tool: object) -> bool:
        """Whether submitting an operation of *tool* needs no scatter first."""
        if isinstance(tool, str):
            try:
                tool = self._provider.get_tool(tool)
            except LookupError:
                return True  # _submit raises the lookup error itself, without waiting
        with self._lock:
            return self._executor_source is not None and id(tool) in self._shipped

    def forget_tools(self) -> None:
        """Release the workers' copies of tools; each is shipped afresh when next used."""
        with self._lock:
            shipped, self._shipped = self._shipped, OrderedDict()
        for _, future in shipped.values():
            future.release()

    def _prepare(
        self, tool: Any, operation_name: str, params: dict[str, Any]
    ) -> tuple[object, Callable[..., Any], bool, str]:
        """Resolve and validate here; return (tool, worker function, idempotent, label)."""
        label = tool if isinstance(tool, str) else type(tool).__qualname__
        if isinstance(tool, str):
            tool = self._provider.get_tool(tool)
        _, info = resolve_operation(tool, operation_name, tool_label=label)
        try:
            info.signature.bind(**params)
        except TypeError as err:
            raise InvalidOperationError(
                f"{label}.{info.name}{info.signature} cannot take the parameters "
                f"{sorted(params)!r}: {err}; pass exactly the parameters of its signature, "
                f"by keyword"
            ) from err
        function = _run_async if info.is_async else _run_sync
        return tool, function, info.policy.idempotent, f"{label}.{info.name}"

    def _submit(self, tool: Any, operation_name: str, params: dict[str, Any]) -> Any:
        tool, function, idempotent, label = self._prepare(tool, operation_name, params)
        shipped = self._ship(tool, f"the tool of {label}")
        client: Any = self.client
        return client.submit(
            function,
            self._source(),
            shipped,
            operation_name,
            params,
            _scope(),
            pure=False,
            retries=self._retries if idempotent else 0,
            key=f"execproto-{label}-{uuid.uuid4().hex}",
        )

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation on the cluster and wait for its result in this thread.

        Raises:
            InvalidOperationError: unknown operation or unacceptable parameters (nothing ran).
            ToolNotFoundError: *tool* is a name the provider does not know.
            TypeError: the tool or the tool executor cannot be pickled.
            RuntimeError: the engine is closed.
            Exception: whatever the operation raised, or ``KilledWorker``.
        """
        future: Any = self._submit(tool, operation_name, params)
        try:
            return future.result()
        finally:
            future.release()

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation on the cluster without blocking the event loop.

        Raises:
            InvalidOperationError: unknown operation or unacceptable parameters (nothing ran).
            ToolNotFoundError: *tool* is a name the provider does not know.
            TypeError: the tool or the tool executor cannot be pickled.
            RuntimeError: the engine is closed.
            asyncio.CancelledError: the awaiting task was cancelled (the Dask future is
                cancelled too).
            Exception: whatever the operation raised, or ``KilledWorker``.
        """
        client: Any = self._client
        if client is None or not self._ready(tool):
            # Starting a cluster or shipping a tool waits on the network: not on the loop.
            future = await asyncio.to_thread(self._submit, tool, operation_name, params)
        else:
            future = self._submit(tool, operation_name, params)
        return await _wait(future)

    async def run_task(
        self,
        fn: Callable[[dict[str, Any], dict[str, Any]], Any],
        input_data: dict[str, Any],
        context: dict[str, Any],
    ) -> Any:
        """Run the task ``fn(input_data, context)`` (sync or async) on a worker.

        *fn* is pickled with each call; it runs inside an execution context built from the
        ``user_id`` and ``task_id`` of *context*. Tasks are never resubmitted after they
        raise (a worker death may still rerun them, see the module documentation).

        Raises:
            TypeError: *fn* or its arguments cannot be pickled.
            Exception: whatever the task raised.
        """
        function = _run_task_async if inspect.iscoroutinefunction(fn) else _run_task_sync
        try:
            _cloudpickle.dumps(fn)
        except Exception as err:
            raise TypeError(
                f"expected a picklable task function to ship to the Dask workers, got {fn!r} "
                f"of type {type(fn).__name__} ({err}); define it at module level"
            ) from err
        arguments = (fn, dict(input_data), dict(context), _scope(context))

        def submit() -> Any:
            client: Any = self.client
            return client.submit(function, *arguments, pure=False, retries=0)

        return await _wait(await asyncio.to_thread(submit))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Release shipped tools; close the client and cluster the engine opened itself.

        A client passed in is left open (it belongs to the caller). Calling it again does
        nothing.
        """
        self.forget_tools()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            client: Any = self._client
            cluster: Any = self._cluster
            self._client = self._cluster = None
            executor, self._executor_source = self._executor_source, None
        if executor is not None and not isinstance(executor, _ExecutorRef):
            cast("Any", executor).release()
        if self._owns_client and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    async def aclose(self) -> None:
        """Like :meth:`close`, without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = (
            self._address
            if self._address is not None
            else ("client" if not self._owns_client else "LocalCluster")
        )
        state = "closed" if self._closed else "open"
        return f"{type(self).__name__}({state}, {where}, retries={self._retries})"


async def _wait(future: Any) -> Any:
    """Await a future of a synchronous client from any event loop; release it after."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[Any] = loop.create_future()

    def settle(done: Any) -> None:
        # Runs in Dask's callback thread; the result is read there, not on our loop.
        try:
            value = done.result()
        except BaseException as err:
            loop.call_soon_threadsafe(_set, outcome, None, err)
        else:
            loop.call_soon_threadsafe(_set, outcome, value, None)

    future.add_done_callback(settle)
    try:
        return await outcome
    except asyncio.CancelledError:
        future.cancel()
        raise
    finally:
        future.release()


def _set(outcome: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if outcome.done():
        return
    if error is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(value)


def create_engine(
    tool_provider: IToolProvider, tool_executor: IToolExecutor, /, **options: Any
) -> IToolExecutor:
    """Return a :class:`DaskEngine`; the engine-factory form of its constructor.

    Raises:
        TypeError: an unknown option, or an option of the wrong type.
        ValueError: an option out of range.
    """
    return DaskEngine(tool_provider, tool_executor, **options)
