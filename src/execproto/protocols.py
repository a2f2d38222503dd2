"""The five execution interfaces of the AIECS design, as structural protocols.

Each interface keeps the seed's method names and call shapes, so code written against the
seed's abstract base classes keeps working, and any class with the right methods conforms
*without inheriting* from anything here::

    class ThirdPartyExecutor:  # never imports execproto
        def execute(self, tool, op, **params): ...
        async def execute_async(self, tool, op, **params): ...

    isinstance(ThirdPartyExecutor(), IToolExecutor)  # True

Two deliberate departures from the seed:

* Parameters that come before ``**params`` are positional-only (``tool, operation_name, /``).
  A tool operation may then take parameters called ``tool`` or ``operation_name``
  (``execute(tool, "op", tool="x")`` would otherwise be a ``TypeError``), and an
  implementation may name its own parameters however it likes and still conform in both
  mypy and pyright.
* Every member carries ``@abstractmethod``: a class that *chooses* to subclass a protocol
  gets the seed's ABC behaviour ("Can't instantiate abstract class ... with abstract
  method ...") when it forgets one.

These protocols are typed with ``Any`` where the seed is, so that a checker cannot tell a
sync method from an async one here (an ``-> Any`` return accepts both). Use the generic
variants in :mod:`execproto.typed` where that matters, and :func:`execproto.conformance.check`
at runtime: ``isinstance`` only checks that the names exist.

Every protocol carries ``__protocol_version__`` (a semantic version string). Its metaclass
serves it, so it is *not* a protocol member, not even of a sub-protocol you derive:
implementations need not define it. Implementations may declare ``__implements_version__`` to state the version they were
written against; :mod:`execproto.conformance` compares the two.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from typing_extensions import Protocol, runtime_checkable

from execproto._versions import VersionedProtocolMeta, set_protocol_version
from execproto.models import TaskStepResult

__all__ = [
    "ExecutionInterface",
    "ICacheProvider",
    "IOperationExecutor",
    "IToolExecutor",
    "IToolProvider",
]


@runtime_checkable
class IToolProvider(Protocol, metaclass=VersionedProtocolMeta):
    """Finds tools by name.

    An implementation must guarantee:

    * ``get_tool`` and ``has_tool`` are safe to call from several threads at once, also
      while tools are being registered or removed.
    * ``has_tool(name)`` is ``True`` exactly when ``get_tool(name)`` would return a tool.
    * ``get_tool`` raises :class:`LookupError` (execproto raises
      :class:`~execproto.errors.ToolNotFoundError`, a subclass) for an unknown name; it
      never returns ``None`` as a stand-in for "not found".
    * Looking a tool up has no side effects on the tool.
    """

    @abstractmethod
    def get_tool(self, tool_name: str) -> Any:
        """Return the tool registered as *tool_name*.

        Raises:
            LookupError: no tool is registered under that name.
        """
        ...

    @abstractmethod
    def has_tool(self, tool_name: str) -> bool:
        """Return whether a tool is registered as *tool_name*."""
        ...


@runtime_checkable
class IToolExecutor(Protocol, metaclass=VersionedProtocolMeta):
    """Runs one operation of one tool, synchronously or asynchronously.

    An implementation must guarantee:

    * ``execute`` and ``execute_async`` return the same result for the same call.
    * ``execute_async`` never blocks the event loop: a synchronous operation runs elsewhere
      (a worker thread, a process, a cluster).
    * Only *operations* of the tool can be invoked: never names starting with ``_``,
      properties or data attributes.
    * An operation that does not exist, or parameters it cannot accept, raise
      :class:`ValueError` (execproto raises
      :class:`~execproto.errors.InvalidOperationError`) before the operation runs.
    * An error raised by the operation reaches the caller as itself, or chained (``from``)
      to an :class:`~execproto.errors.ExecutionError`; it is never swallowed or replaced by
      its message.
    * Thread safe: several threads may call ``execute`` at once.

    ``tool`` and ``operation_name`` are positional-only, so ``params`` may contain keys
    called ``tool`` or ``operation_name``.
    """

    @abstractmethod
    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run ``tool.<operation_name>(**params)`` and return its result.

        Raises:
            ValueError: unknown operation or unacceptable parameters.
            Exception: whatever the operation raised (possibly chained).
        """
        ...

    @abstractmethod
    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run ``tool.<operation_name>(**params)`` without blocking the event loop.

        Raises:
            ValueError: unknown operation or unacceptable parameters.
            Exception: whatever the operation raised (possibly chained).
        """
        ...


@runtime_checkable
class ICacheProvider(Protocol, metaclass=VersionedProtocolMeta):
    """Caches operation results under keys that capture their whole context.

    An implementation must guarantee:

    * ``generate_cache_key`` is deterministic across processes and interpreter runs (no
      salted ``hash()``, no ``id()``) and different for a different operation, user, task,
      positional or keyword argument; it raises :class:`TypeError` for an argument it cannot
      encode canonically rather than falling back to ``str()``.
    * ``get_from_cache`` returns ``None`` on a miss. (A cached ``None`` is indistinguishable
      through this method; execproto's caches offer a sentinel-returning lookup as well.)
    * All methods are safe to call from several threads at once.
    * Memory is bounded: entries expire or are evicted; the cache never grows without limit.
    """

    @abstractmethod
    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        """Return the cache key for one call of *operation_type* in a user's task.

        Raises:
            TypeError: an argument has no canonical encoding.
        """
        ...

    @abstractmethod
    def get_from_cache(self, cache_key: str) -> Any | None:
        """Return the value stored under *cache_key*, or ``None`` on a miss or expiry."""
        ...

    @abstractmethod
    def add_to_cache(self, cache_key: str, value: Any) -> None:
        """Store *value* under *cache_key*, evicting or expiring older entries as needed."""
        ...


@runtime_checkable
class IOperationExecutor(Protocol, metaclass=VersionedProtocolMeta):
    """Runs operations named ``"tool.operation"``: one, a batch, a sequence, in parallel.

    An implementation must guarantee:

    * Results are returned in the order of the input operations, one per operation, in
      every mode.
    * ``execute_operation`` raises for a failure (a malformed spec is a
      :class:`ValueError`, an unknown tool a :class:`LookupError`).
    * ``execute_operations_sequence`` and ``execute_parallel_operations`` never put a bare
      exception in their results: a failed operation becomes a :class:`TaskStepResult`
      whose ``status`` and ``error_code`` say what went wrong.
    * ``execute_operations_sequence`` runs operations one after the other, stops after the
      first failure when ``stop_on_failure`` is true, and calls ``save_callback(user_id,
      task_id, index, step_result)`` (sync or async) after each step; a result already
      computed is never lost because a later step or the callback fails.
    * Batch and parallel modes honour the implementation's concurrency limit.
    """

    @abstractmethod
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        """Run the operation named *operation_spec* (``"tool.operation"``) with *params*.

        Raises:
            ValueError: malformed spec or unacceptable parameters.
            LookupError: unknown tool.
            Exception: whatever the operation raised (possibly chained).
        """
        ...

    @abstractmethod
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        """Run *operations* concurrently; return results (or exceptions) in input order."""
        ...

    @abstractmethod
    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[TaskStepResult]:
        """Run *operations* one after another, as *user_id*'s task *task_id*."""
        ...

    @abstractmethod
    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        """Run *operations* concurrently; one step result per operation, in input order."""
        ...


@runtime_checkable
class ExecutionInterface(Protocol, metaclass=VersionedProtocolMeta):
    """The unified execution interface: operations and named tasks, through plugin engines.

    An implementation must guarantee what :class:`IOperationExecutor` guarantees for
    operations, and for tasks:

    * ``execute_task`` raises :class:`LookupError` for an unknown task name.
    * ``batch_execute_tasks`` returns one result per task, in input order.
    * ``register_executor`` makes an executor (engine) available under *executor_type*;
      implementations that do not support plugins keep the default, which raises
      :class:`NotImplementedError`.
    """

    @abstractmethod
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        """Run the operation named *operation_spec* (``"tool.operation"``) with *params*."""
        ...

    @abstractmethod
    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        """Run the task registered as *task_name* with *input_data* in *context*.

        Raises:
            LookupError: unknown task.
        """
        ...

    @abstractmethod
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        """Run *operations* concurrently; return results (or exceptions) in input order."""
        ...

    @abstractmethod
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        """Run *tasks* concurrently; return results (or exceptions) in input order."""
        ...

    def register_executor(self, executor_type: str, executor_instance: Any) -> None:
        """Register *executor_instance* as the executor (engine) for *executor_type*.

        Raises:
            NotImplementedError: the implementation does not support plugin executors.
        """
        raise NotImplementedError("Executor registration is not implemented in this interface")


set_protocol_version(IToolProvider)
set_protocol_version(IToolExecutor)
set_protocol_version(ICacheProvider)
set_protocol_version(IOperationExecutor)
set_protocol_version(ExecutionInterface)
