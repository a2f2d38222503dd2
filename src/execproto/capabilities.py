"""Every optional protocol the reference runtime accepts or detects, in one place.

The five interfaces (:mod:`execproto.protocols`) are what an implementation *must* provide.
The protocols here are what it *may* provide, and what the runtime does when it does:

============================  =================================================================
protocol                      the runtime, when a component conforms
============================  =================================================================
:class:`SupportsLookup`       asks the cache through ``lookup``, so a cached ``None`` is a hit
:class:`SupportsAsyncLookup`  awaits ``lookup_async`` from ``execute_async``
:class:`NonblockingCache`     calls a synchronous cache on the event loop, not in the pool
:class:`NamedToolProvider`    names a tool by its registered name in cache keys and messages
:class:`Namespaced`           adds the tool's namespace to its identity in cache keys
:class:`ExecutionMonitor`     enters ``track(tool, operation)`` around each tool execution
:class:`ResultSink`           hands the result to what ``track`` returned, before it exits
:class:`StepCallback`         tells ``on_step(index, step)`` about each finished plan step
:class:`TaskFunction`         runs it as a named task of an engine
:class:`TaskRunner`           sends an engine's named tasks through ``run_task``
:class:`EngineFactory`        builds an engine's executor from an entry point
:class:`SchemaSource`         publishes every operation of every tool as a JSON Schema
:class:`KeyFunction`          makes a cache's keys
:class:`Closable`             closes an engine's executor when the engine closes
:class:`AsyncClosable`        awaits ``aclose()`` instead, when there is one
============================  =================================================================

The asynchronous cache, :class:`~execproto.typed.IAsyncCacheProvider`, is a seed interface
and lives in :mod:`execproto.typed`; a cache that conforms to it is awaited from
``execute_async`` instead of being called in the thread pool.

Each protocol is ``runtime_checkable`` and the runtime detects it with
:func:`execproto.conformance.conforms` (signatures and async-ness checked, cached per type),
never by probing attributes with ``getattr``. None of them needs to be inherited.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Literal

from typing_extensions import Protocol, runtime_checkable

from execproto.models import TaskStepResult
from execproto.protocols import IToolExecutor, IToolProvider

__all__ = [
    "AsyncClosable",
    "Closable",
    "EngineFactory",
    "ExecutionMonitor",
    "KeyFunction",
    "NamedToolProvider",
    "Namespaced",
    "NonblockingCache",
    "ResultSink",
    "SchemaSource",
    "StepCallback",
    "SupportsAsyncLookup",
    "SupportsLookup",
    "TaskFunction",
    "TaskRunner",
]


@runtime_checkable
class SupportsLookup(Protocol):
    """A cache that tells a cached ``None`` from a miss.

    An implementation must guarantee that ``lookup(key)`` returns ``(True, value)`` exactly
    when ``get_from_cache(key)`` would return a stored, unexpired ``value`` (which may be
    ``None``), and ``(False, None)`` otherwise; it is thread safe and never raises for an
    unknown key.
    """

    @abstractmethod
    def lookup(self, cache_key: str, /) -> tuple[bool, Any]:
        """Return ``(True, value)`` for a hit, ``(False, None)`` for a miss or an expiry."""
        ...


@runtime_checkable
class SupportsAsyncLookup(Protocol):
    """The asynchronous twin of :class:`SupportsLookup`, for caches used from event loops.

    Same guarantees as :class:`SupportsLookup`; the lookup never blocks the event loop.
    """

    @abstractmethod
    async def lookup_async(self, cache_key: str, /) -> tuple[bool, Any]:
        """Return ``(True, value)`` for a hit, ``(False, None)`` for a miss or an expiry."""
        ...


@runtime_checkable
class NonblockingCache(Protocol):
    """A cache whose synchronous methods never block: call them on the event loop.

    Declared by the class attribute ``__execproto_nonblocking__ = True``. An implementation
    must guarantee that ``get_from_cache``, ``add_to_cache`` and ``lookup`` do no I/O and
    wait on no contended lock, so that calling them from ``execute_async`` costs less than
    handing them to a thread. A cache that does not declare it is called in the executor's
    thread pool from ``execute_async``, because it may do network I/O.
    """

    __execproto_nonblocking__: ClassVar[Literal[True]]


@runtime_checkable
class NamedToolProvider(IToolProvider, Protocol):
    """A tool provider that can say under which name it holds a tool object.

    An implementation must guarantee that ``name_of(tool)`` returns the name under which
    *this very object* is registered (``get_tool(name_of(tool)) is tool``), or ``None``; it
    compares by identity, never by equality, and is thread safe.
    """

    @abstractmethod
    def name_of(self, tool: object, /) -> str | None:
        """Return the name *tool* is registered under, or ``None``."""
        ...


@runtime_checkable
class Namespaced(Protocol):
    """A tool that tells differently configured instances of its class apart.

    ``__execproto_namespace__`` is a plain ``str`` attribute (on the class or the instance,
    never a property: it is read without evaluating anything on the tool). Two instances
    with different namespaces never share cached results.
    """

    __execproto_namespace__: str


@runtime_checkable
class ResultSink(Protocol):
    """What an :class:`ExecutionMonitor`'s ``track`` may return: it wants the result.

    ``set_result(result)`` is called once, after the execution returned and before the
    ``with`` block exits; it must not raise, and must not keep the result beyond what the
    monitor records (execproto's records it on the span only when content capture is on).
    """

    @abstractmethod
    def set_result(self, result: object, /) -> None:
        """Receive the result of the tracked execution."""
        ...


@runtime_checkable
class ExecutionMonitor(Protocol):
    """Tracks each tool execution (:class:`execproto.runtime.monitoring.Monitor` is one).

    ``track(tool_name, operation_name)`` returns a context manager entered around the whole
    execution (cache lookup, every attempt and backoff); it must not suppress exceptions.
    If what it returns is a :class:`ResultSink`, it is handed the result before it exits.
    It is called from several threads at once.
    """

    @abstractmethod
    def track(self, tool_name: str, operation_name: str, /) -> AbstractContextManager[Any]:
        """Return a context manager that records one execution."""
        ...


@runtime_checkable
class StepCallback(Protocol):
    """``on_step(index, step_result)``: told about each plan step as it finishes.

    Called synchronously, in completion order (not input order), once per step, including
    steps that were not run and steps cancelled in flight. It must be quick and must not
    raise: an exception from it propagates and aborts the run. ``dict.__setitem__`` of a
    caller's dict is a fine callback: it keeps every finished step, even after cancellation.
    """

    @abstractmethod
    def __call__(self, index: int, step: TaskStepResult, /) -> object:
        """Record that the step at *index* of the plan finished as *step*."""
        ...


@runtime_checkable
class TaskFunction(Protocol):
    """A named task of an engine: ``fn(input_data, context)``, sync or async.

    Receives copies of the caller's dicts. A sync task runs in a worker thread, so it may
    block; an async one runs on the event loop and must not.
    """

    @abstractmethod
    def __call__(self, input_data: dict[str, Any], context: dict[str, Any], /) -> Any:
        """Run the task and return its result (or an awaitable of it)."""
        ...


@runtime_checkable
class TaskRunner(Protocol):
    """The optional task half of an engine: an engine executor that can run named tasks.

    Part of the engine plugin contract (:mod:`execproto.runtime.engine`): when the executor
    an engine factory returns also conforms to this protocol, the
    :class:`~execproto.runtime.engine.ExecutionEngine` sends its named tasks through it
    instead of running them in this process.
    """

    @abstractmethod
    async def run_task(
        self,
        fn: Callable[[dict[str, Any], dict[str, Any]], Any],
        input_data: dict[str, Any],
        context: dict[str, Any],
    ) -> Any:
        """Run ``fn(input_data, context)`` (sync or async) where the engine runs things.

        Runs inside an execution context built from the ``user_id`` and ``task_id`` of
        *context*, and returns the task's result.

        Raises:
            Exception: whatever the task raised, or the engine's own error when it cannot
                ship or run the task (e.g. ``TypeError`` for a task it cannot pickle).
        """
        ...


@runtime_checkable
class EngineFactory(Protocol):
    """Builds an engine: the :class:`~execproto.protocols.IToolExecutor` operations run with.

    Registered under the entry-point group ``execproto.engines``; see
    :mod:`execproto.runtime.engine` for the whole plugin contract. A class whose constructor
    takes these arguments is a factory too.
    """

    @abstractmethod
    def __call__(
        self, tool_provider: IToolProvider, tool_executor: IToolExecutor, /, **options: Any
    ) -> IToolExecutor:
        """Return the executor that runs single operations for this engine.

        Raises:
            TypeError: an option the engine does not know.
        """
        ...


@runtime_checkable
class SchemaSource(Protocol):
    """What publishing every operation's JSON Schema needs: tool names and the tools.

    A :class:`~execproto.runtime.registry.ToolRegistry` is one. ``names()`` and ``get_tool``
    must agree (every name returned can be looked up) and be thread safe.
    """

    @abstractmethod
    def names(self) -> tuple[str, ...]:
        """Return the registered tool names."""
        ...

    @abstractmethod
    def get_tool(self, tool_name: str) -> Any:
        """Return the tool registered as *tool_name*."""
        ...


@runtime_checkable
class KeyFunction(Protocol):
    """Makes a cache key for one call of an operation in a user's task.

    An implementation must guarantee:

    * The same call gives the same key in every process and interpreter run.
    * Calls that differ in operation (which includes the tool, ``"tool.operation"``), user,
      task, a positional or a keyword argument give different keys.
    * An argument it cannot encode canonically raises :class:`TypeError`
      (:class:`~execproto.errors.CacheKeyError`); it never falls back to ``str()``, ``repr()``,
      ``hash()`` or ``id()``.
    * It is safe to call from several threads at once.

    Parameters are positional-only, so a function with any parameter names conforms.
    """

    @abstractmethod
    def __call__(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        /,
    ) -> str:
        """Return the key for this call.

        Raises:
            TypeError: an argument has no canonical encoding.
        """
        ...


@runtime_checkable
class Closable(Protocol):
    """A component that holds resources until ``close()`` (a pool, a cluster client).

    ``close()`` must be safe to call more than once and from any thread; after it, the
    component refuses new work with an error.
    """

    @abstractmethod
    def close(self) -> object:
        """Release the component's resources."""
        ...


@runtime_checkable
class AsyncClosable(Protocol):
    """A component whose resources are released by awaiting ``aclose()``.

    Same guarantees as :class:`Closable`; ``aclose()`` never blocks the event loop.
    """

    @abstractmethod
    async def aclose(self) -> object:
        """Release the component's resources."""
        ...
