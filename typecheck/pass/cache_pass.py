"""Conforming caches: ``ICacheProvider``, ``ITypedCacheProvider[V]``, ``IAsyncCacheProvider``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from typing_extensions import assert_type

from execproto.protocols import ICacheProvider
from execproto.typed import IAsyncCacheProvider, ITypedCacheProvider


def _key(
    operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    payload = json.dumps([operation_type, user_id, task_id, list(args), kwargs], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class DictCache:
    """Third-party style; ``args``/``kwargs`` annotated more widely than the protocol asks."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[object, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return _key(operation_type, user_id, task_id, args, kwargs)

    def get_from_cache(self, cache_key: str) -> Any | None:
        return self._data.get(cache_key)

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self._data[cache_key] = value


class IntCache:
    def __init__(self) -> None:
        self._data: dict[str, int] = {}

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return _key(operation_type, user_id, task_id, args, kwargs)

    def get_from_cache(self, cache_key: str) -> int | None:
        return self._data.get(cache_key)

    def add_to_cache(self, cache_key: str, value: int) -> None:
        self._data[cache_key] = value


class AsyncDictCache(DictCache):
    """Both interfaces at once, as a network cache offers them."""

    async def get_from_cache_async(self, cache_key: str) -> Any | None:
        return self.get_from_cache(cache_key)

    async def add_to_cache_async(self, cache_key: str, value: Any) -> None:
        self.add_to_cache(cache_key, value)


class SubclassCache(ICacheProvider):
    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return _key(operation_type, user_id, task_id, args, kwargs)

    def get_from_cache(self, cache_key: str) -> Any | None:
        return None

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        return None


dict_cache: ICacheProvider = DictCache()
subclass: ICacheProvider = SubclassCache()
int_cache: ITypedCacheProvider[int] = IntCache()
untyped_view: ICacheProvider = IntCache()
async_cache: IAsyncCacheProvider = AsyncDictCache()
sync_view: ICacheProvider = AsyncDictCache()


def lookup(cache: ITypedCacheProvider[int], key: str) -> int:
    value = cache.get_from_cache(key)
    assert_type(value, int | None)
    return 0 if value is None else value


async def lookup_async(cache: IAsyncCacheProvider, key: str) -> Any:
    return await cache.get_from_cache_async(key)


def make_cache() -> ICacheProvider:
    return DictCache()


lookup(IntCache(), "k")
lookup_async(AsyncDictCache(), "k").close()
caches: dict[str, ICacheProvider] = {"dict": make_cache(), "async": AsyncDictCache()}
