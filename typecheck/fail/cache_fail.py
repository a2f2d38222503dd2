"""Non-conforming caches: ICacheProvider, ITypedCacheProvider[V] and IAsyncCacheProvider.

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md).
"""

from __future__ import annotations

from typing import Any

from execproto.protocols import ICacheProvider
from execproto.typed import IAsyncCacheProvider, ITypedCacheProvider


def accept(cache: ICacheProvider) -> None: ...


def accept_async(cache: IAsyncCacheProvider) -> None: ...


class WithoutAdd:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> Any | None: ...


class IntCacheKey:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: int) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...


class RequiresTtl:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any, ttl: float) -> None: ...


class BytesKeys:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...


class SyncAsyncCache:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    async def get_from_cache_async(self, cache_key: str) -> Any | None: ...
    def add_to_cache_async(self, cache_key: str, value: Any) -> None: ...


class TypedSyncLookup:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache_async(self, cache_key: str) -> int | None: ...
    async def add_to_cache_async(self, cache_key: str, value: Any) -> None: ...


class AsyncAdd:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> Any | None: ...
    async def add_to_cache(self, cache_key: str, value: Any) -> None: ...


class RenamedKey:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, key: str) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...


class IntCache:
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> int | None: ...
    def add_to_cache(self, cache_key: str, value: int) -> None: ...


without_add: ICacheProvider = WithoutAdd()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=add_to_cache
accept(WithoutAdd())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=add_to_cache


def make_without_add() -> ICacheProvider:
    return WithoutAdd()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=add_to_cache


int_cache_key: ICacheProvider = IntCacheKey()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=get_from_cache
accept(IntCacheKey())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=get_from_cache


def make_int_cache_key() -> ICacheProvider:
    return IntCacheKey()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=get_from_cache


requires_ttl: ICacheProvider = RequiresTtl()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=add_to_cache
accept(RequiresTtl())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=add_to_cache


def make_requires_ttl() -> ICacheProvider:
    return RequiresTtl()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=add_to_cache


bytes_keys: ICacheProvider = BytesKeys()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=generate_cache_key
accept(BytesKeys())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=generate_cache_key


def make_bytes_keys() -> ICacheProvider:
    return BytesKeys()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=generate_cache_key


# ``-> None`` is not ``Any``: even the Any-typed async cache sees a missing coroutine.
sync_add: IAsyncCacheProvider = SyncAsyncCache()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=add_to_cache_async
accept_async(SyncAsyncCache())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=add_to_cache_async
sync_lookup: IAsyncCacheProvider = TypedSyncLookup()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=get_from_cache_async


def make_sync_add() -> IAsyncCacheProvider:
    return SyncAsyncCache()  # expect: sync-for-async@return mypy[return-value] pyright[reportReturnType] member=add_to_cache_async


async_add: ICacheProvider = AsyncAdd()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=add_to_cache
accept(AsyncAdd())  # expect: async-for-sync@argument mypy[arg-type] pyright[reportArgumentType] member=add_to_cache


def make_async_add() -> ICacheProvider:
    return AsyncAdd()  # expect: async-for-sync@return mypy[return-value] pyright[reportReturnType] member=add_to_cache


renamed_key: ICacheProvider = RenamedKey()  # expect: param-name@assignment mypy[-] pyright[reportAssignmentType] member=get_from_cache diverge: mypy does not compare the names of parameters that may be passed by keyword when it matches a protocol; pyright does, because `get_from_cache(cache_key=...)` would fail
accept(RenamedKey())  # expect: param-name@argument mypy[-] pyright[reportArgumentType] member=get_from_cache diverge: mypy ignores parameter names in protocol matching (see above)


class IntKeyCache(ICacheProvider):
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=generate_cache_key
    def get_from_cache(self, cache_key: str) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...


class NarrowValueCache(ITypedCacheProvider[object]):
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def get_from_cache(self, cache_key: str) -> object | None: ...
    def add_to_cache(self, cache_key: str, value: int) -> None: ...  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=add_to_cache


class HalfCache(ICacheProvider):
    def generate_cache_key(self, operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str: raise NotImplementedError
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...


half = HalfCache()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=get_from_cache

# V is invariant: a cache of ints is neither a cache of objects (it would be handed strings)
# nor of bools (it would hand out ints).
int_cache: ITypedCacheProvider[int] = IntCache()
object_cache: ITypedCacheProvider[object] = int_cache  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-
bool_cache: ITypedCacheProvider[bool] = int_cache  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-
object_cache_direct: ITypedCacheProvider[object] = IntCache()  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=add_to_cache


def accept_bool_cache(cache: ITypedCacheProvider[bool]) -> None: ...


accept_bool_cache(int_cache)  # expect: variance@argument mypy[arg-type] pyright[reportArgumentType] member=-


def make_object_cache() -> ITypedCacheProvider[object]:
    return int_cache  # expect: variance@return mypy[return-value] pyright[reportReturnType] member=-


def some_async_cache() -> IAsyncCacheProvider: raise NotImplementedError


# Pins `async def get_from_cache_async` from the caller's side.
not_awaited: int = some_async_cache().get_from_cache_async("key")  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
