"""Executors from an untyped package conform through its PEP 561 stubs, without inheritance.

``vendor_executors`` (examples/vendor_executors) ships no annotations and no ``py.typed`` and
never imports execproto; ``stubs/vendor_executors-stubs`` gives it types. (Its
``LegacyExecutor`` is rejected in fail/tool_executor_fail.py.)
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type
from vendor_executors import CountingExecutor, DictToolbox, JsonKeyCache, ReflectingExecutor

from execproto.protocols import ICacheProvider, IToolExecutor, IToolProvider
from execproto.typed import ITypedCacheProvider, ITypedToolExecutor, ITypedToolProvider


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


toolbox: IToolProvider = DictToolbox({"calculator": Calculator()})
typed_toolbox: ITypedToolProvider[object] = DictToolbox()
reflecting: IToolExecutor = ReflectingExecutor()
counting: IToolExecutor = CountingExecutor()
# T_contra: an executor of any object is an executor of calculators.
typed_counting: ITypedToolExecutor[Calculator, int] = CountingExecutor()
cache: ICacheProvider = JsonKeyCache(maxsize=16)
typed_cache: ITypedCacheProvider[Any] = JsonKeyCache()


async def count(executor: ITypedToolExecutor[Calculator, int]) -> int:
    result = await executor.execute_async(Calculator(), "add", a=1, b=2)
    assert_type(result, int)
    return result


def make_executor() -> IToolExecutor:
    return ReflectingExecutor()


count(CountingExecutor()).close()
executors: list[IToolExecutor] = [ReflectingExecutor(), CountingExecutor(), make_executor()]
