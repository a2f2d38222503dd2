"""Generic, precisely typed variants of the execution interfaces, and the seed's extras.

The interfaces in :mod:`execproto.protocols` return ``Any``, so a type checker accepts a
synchronous method where an asynchronous one is required (``-> Any`` accepts both). The
generic variants here name their result types, so mypy and pyright can tell
``async def execute_async(...) -> int`` from ``def execute_async(...) -> int``, and check what
an implementation accepts and returns::

    def run(executor: ITypedToolExecutor[Calculator, int]) -> None: ...

Type variables state their variance: a tool executor *accepts* tools (``T_contra``) and
*produces* results (``R_co``); a cache both stores and returns values, so it is invariant.

Also here, from the seed: :class:`IAsyncCacheProvider` (the asynchronous twin of the cache),
:class:`VersionedInterface` and :class:`IAsyncContextExecutor`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

from typing_extensions import Protocol, Self, runtime_checkable

from execproto._versions import VersionedProtocolMeta, set_protocol_version

__all__ = [
    "IAsyncCacheProvider",
    "IAsyncContextExecutor",
    "ITypedCacheProvider",
    "ITypedOperationExecutor",
    "ITypedToolExecutor",
    "ITypedToolProvider",
    "VersionedInterface",
]

T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)
V = TypeVar("V")


@runtime_checkable
class ITypedToolProvider(Protocol[T_co], metaclass=VersionedProtocolMeta):
    """An :class:`~execproto.protocols.IToolProvider` whose tools are of type ``T_co``.

    Same guarantees as the untyped interface: thread safe, ``has_tool(name)`` exactly when
    ``get_tool(name)`` succeeds, :class:`LookupError` for an unknown name.
    """

    @abstractmethod
    def get_tool(self, tool_name: str) -> T_co:
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
class ITypedToolExecutor(Protocol[T_contra, R_co], metaclass=VersionedProtocolMeta):
    """An :class:`~execproto.protocols.IToolExecutor` for tools ``T_contra`` giving ``R_co``.

    Unlike the ``Any``-typed interface, a checker rejects an implementation whose
    ``execute_async`` is not ``async`` (or whose ``execute`` is), because the awaited result
    type is part of the signature. Same guarantees as the untyped interface.
    """

    @abstractmethod
    def execute(self, tool: T_contra, operation_name: str, /, **params: Any) -> R_co:
        """Run ``tool.<operation_name>(**params)`` and return its result.

        Raises:
            ValueError: unknown operation or unacceptable parameters.
        """
        ...

    @abstractmethod
    async def execute_async(self, tool: T_contra, operation_name: str, /, **params: Any) -> R_co:
        """Run ``tool.<operation_name>(**params)`` without blocking the event loop.

        Raises:
            ValueError: unknown operation or unacceptable parameters.
        """
        ...


@runtime_checkable
class ITypedCacheProvider(Protocol[V], metaclass=VersionedProtocolMeta):
    """An :class:`~execproto.protocols.ICacheProvider` holding values of type ``V``.

    Invariant in ``V``: a cache of ``int`` is neither a cache of ``object`` (it would be
    handed strings) nor of ``bool`` (it would hand out ints). Same guarantees as the untyped
    interface.
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
    def get_from_cache(self, cache_key: str) -> V | None:
        """Return the value stored under *cache_key*, or ``None`` on a miss or expiry."""
        ...

    @abstractmethod
    def add_to_cache(self, cache_key: str, value: V) -> None:
        """Store *value* under *cache_key*."""
        ...


@runtime_checkable
class ITypedOperationExecutor(Protocol[T_co], metaclass=VersionedProtocolMeta):
    """An operation executor whose operations produce ``T_co``.

    Same guarantees as :class:`~execproto.protocols.IOperationExecutor`: results in input
    order, one per operation. A synchronous ``execute_operation`` does not conform.
    """

    @abstractmethod
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> T_co:
        """Run the operation named *operation_spec* (``"tool.operation"``) with *params*.

        Raises:
            ValueError: malformed spec or unacceptable parameters.
            LookupError: unknown tool.
        """
        ...

    @abstractmethod
    async def batch_execute_operations(
        self, operations: list[dict[str, Any]]
    ) -> Sequence[T_co | BaseException]:
        """Run *operations* concurrently; return results (or exceptions) in input order."""
        ...


@runtime_checkable
class IAsyncCacheProvider(Protocol, metaclass=VersionedProtocolMeta):
    """The asynchronous twin of :class:`~execproto.protocols.ICacheProvider`.

    For caches whose storage is across a network (Redis): lookups are awaited instead of
    blocking the event loop. Key generation needs no I/O and stays synchronous; it must give
    the same key as the synchronous interface of the same implementation. Same guarantees as
    the synchronous interface, and ``get_from_cache_async`` returns ``None`` on a miss.
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
    async def get_from_cache_async(self, cache_key: str) -> Any | None:
        """Return the value stored under *cache_key*, or ``None`` on a miss or expiry."""
        ...

    @abstractmethod
    async def add_to_cache_async(self, cache_key: str, value: Any) -> None:
        """Store *value* under *cache_key*."""
        ...


@runtime_checkable
class VersionedInterface(Protocol, metaclass=VersionedProtocolMeta):
    """An implementation that states the interface version it implements (seed helper).

    ``version`` and ``get_version()`` must agree and be a semantic version string
    (``"1.2.0"``); :func:`execproto.conformance.check_version` compares it.
    """

    @property
    @abstractmethod
    def version(self) -> str:
        """The implemented interface version."""
        ...

    @abstractmethod
    def get_version(self) -> str:
        """Return :attr:`version`."""
        ...


@runtime_checkable
class IAsyncContextExecutor(Protocol, metaclass=VersionedProtocolMeta):
    """An executor used as ``async with`` that holds resources while it is open (seed).

    An implementation must guarantee that ``__aenter__`` acquires everything
    ``execute_in_context`` needs and returns the executor, that ``__aexit__`` releases it
    even when the block raised (and does not suppress the error unless it says so), and that
    ``execute_in_context`` raises :class:`RuntimeError` outside the context.
    """

    @abstractmethod
    async def __aenter__(self) -> Self:
        """Acquire resources and return the executor."""
        ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool | None:
        """Release resources; return a true value only to suppress the exception."""
        ...

    @abstractmethod
    async def execute_in_context(self, operation: str, /, **params: Any) -> Any:
        """Run *operation* with *params* using the resources held by the context.

        Raises:
            RuntimeError: called outside ``async with``.
        """
        ...


for _protocol in (
    ITypedToolProvider,
    ITypedToolExecutor,
    ITypedCacheProvider,
    ITypedOperationExecutor,
    IAsyncCacheProvider,
    VersionedInterface,
    IAsyncContextExecutor,
):
    set_protocol_version(_protocol)
del _protocol
