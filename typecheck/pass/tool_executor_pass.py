"""Conforming tool executors: ``IToolExecutor`` and ``ITypedToolExecutor[T_contra, R_co]``.

Zero errors allowed in mypy --strict and pyright strict (``typecheck/run.py`` enforces it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from typing_extensions import assert_type

from execproto.protocols import IToolExecutor
from execproto.typed import ITypedToolExecutor


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


class ScientificCalculator(Calculator):
    def power(self, a: int, b: int) -> int:
        return int(a**b)


class ThirdPartyExecutor:
    """Never imports a base class; names its parameters its own way (they are positional-only)."""

    def execute(self, target: Any, name: str, /, **kwargs: Any) -> Any:
        return getattr(target, name)(**kwargs)

    async def execute_async(self, target: Any, name: str, /, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(target, name), **kwargs)


class SubclassExecutor(IToolExecutor):
    """Chooses to inherit: gets the ABC behaviour, and the checkers verify its overrides."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return self.execute(tool, operation_name, **params)


class CalculatorExecutor:
    """Typed: runs operations of any object (so also of a Calculator) and returns ints."""

    def execute(self, tool: object, operation_name: str, /, **params: Any) -> int:
        result: int = getattr(tool, operation_name)(**params)
        return result

    async def execute_async(self, tool: object, operation_name: str, /, **params: Any) -> int:
        return self.execute(tool, operation_name, **params)


class BoolExecutor:
    """Returns bools, which are ints: conforms to ITypedToolExecutor[Calculator, int] too."""

    def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> bool:
        return bool(getattr(tool, operation_name)(**params))

    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> bool:
        return self.execute(tool, operation_name, **params)


class TypedSubclassExecutor(ITypedToolExecutor[Calculator, int]):
    def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> int:
        result: int = getattr(tool, operation_name)(**params)
        return result

    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> int:
        return self.execute(tool, operation_name, **params)


third_party: IToolExecutor = ThirdPartyExecutor()
subclass: IToolExecutor = SubclassExecutor()
typed: ITypedToolExecutor[Calculator, int] = CalculatorExecutor()
# T_contra: an executor of any object is an executor of calculators, and of their subclasses.
typed_for_subclass: ITypedToolExecutor[ScientificCalculator, int] = typed
# R_co: an executor returning bools is an executor returning ints (and objects).
bool_results: ITypedToolExecutor[Calculator, int] = BoolExecutor()
object_results: ITypedToolExecutor[Calculator, object] = bool_results
typed_subclass: ITypedToolExecutor[Calculator, int] = TypedSubclassExecutor()
# A typed executor is also an Any-typed one.
untyped_view: IToolExecutor = CalculatorExecutor()


def run_sync(executor: IToolExecutor, tool: object) -> Any:
    return executor.execute(tool, "add", a=1, b=2)


async def run_typed(executor: ITypedToolExecutor[Calculator, int]) -> int:
    result = await executor.execute_async(Calculator(), "add", a=1, b=2)
    assert_type(result, int)
    assert_type(executor.execute(Calculator(), "add", a=1, b=2), int)
    return result


async def params_named_like_the_protocol(executor: IToolExecutor) -> Any:
    # Positional-only protocol parameters leave these names free for the operation.
    return await executor.execute_async(Calculator(), "configure", tool="x", operation_name="y")


def make_executor() -> IToolExecutor:
    return ThirdPartyExecutor()


def make_typed_executor() -> ITypedToolExecutor[Calculator, int]:
    return CalculatorExecutor()


run_sync(ThirdPartyExecutor(), Calculator())
run_sync(SubclassExecutor(), Calculator())
run_typed(CalculatorExecutor()).close()
run_typed(BoolExecutor()).close()
executors: list[IToolExecutor] = [ThirdPartyExecutor(), SubclassExecutor(), make_executor()]
typed_by_name: dict[str, ITypedToolExecutor[Calculator, int]] = {
    "calc": make_typed_executor(),
    "bool": BoolExecutor(),
}
