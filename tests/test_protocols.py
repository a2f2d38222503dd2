"""The seed interfaces as structural protocols."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from typing_extensions import Protocol, runtime_checkable

from execproto import (
    ExecutionInterface,
    ICacheProvider,
    IOperationExecutor,
    IToolExecutor,
    IToolProvider,
)
from execproto.testing import Calculator

PROTOCOLS = [IToolProvider, IToolExecutor, ICacheProvider, IOperationExecutor, ExecutionInterface]


class ThirdPartyExecutor:
    """Never imports execproto; names its parameters its own way."""

    def execute(self, target: Any, op: str, /, **kw: Any) -> Any:
        return getattr(target, op)(**kw)

    async def execute_async(self, target: Any, op: str, /, **kw: Any) -> Any:
        return getattr(target, op)(**kw)


def test_third_party_class_conforms_without_inheriting() -> None:
    assert isinstance(ThirdPartyExecutor(), IToolExecutor)
    assert IToolExecutor not in type.mro(ThirdPartyExecutor)


def test_object_missing_a_member_does_not_conform() -> None:
    class OnlySync:
        def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
            return None

    assert not isinstance(OnlySync(), IToolExecutor)


def test_operation_parameters_named_tool_and_operation_name_pass_through() -> None:
    result = ThirdPartyExecutor().execute(Calculator(), "describe", tool="t", operation_name="o")
    assert {"tool": "t", "operation_name": "o"} == result


def test_protocol_execute_parameters_before_params_are_positional_only() -> None:
    for method in (IToolExecutor.execute, IToolExecutor.execute_async):
        kinds = [p.kind for p in inspect.signature(method).parameters.values()]
        expected = [
            inspect.Parameter.POSITIONAL_ONLY,  # self
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.VAR_KEYWORD,
        ]
        assert expected == kinds


@pytest.mark.parametrize(
    ("protocol", "missing"),
    [
        (IToolProvider, "has_tool"),
        (IToolExecutor, "execute_async"),
        (ICacheProvider, "add_to_cache"),
        (IOperationExecutor, "execute_parallel_operations"),
        (ExecutionInterface, "batch_execute_tasks"),
    ],
)
def test_explicit_subclass_missing_a_member_cannot_be_instantiated(
    protocol: type, missing: str
) -> None:
    abstract = sorted(protocol.__abstractmethods__)
    namespace = {name: (lambda self, *a, **k: None) for name in abstract if name != missing}
    incomplete = type("Incomplete", (protocol,), namespace)
    with pytest.raises(
        TypeError, match=rf"Can't instantiate abstract class Incomplete .*{missing}"
    ):
        incomplete()


def test_every_protocol_member_is_abstract_except_register_executor() -> None:
    for protocol in PROTOCOLS:
        members = {
            name
            for name, value in vars(protocol).items()
            if inspect.isfunction(value) and not name.startswith("_")
        }
        assert members - {"register_executor"} == set(protocol.__abstractmethods__)


def test_seed_style_subclass_inherits_register_executor_default() -> None:
    class Engine(ExecutionInterface):
        async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
            return None

        async def execute_task(
            self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
        ) -> Any:
            return None

        async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
            return []

        async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
            return []

    with pytest.raises(NotImplementedError, match="not implemented"):
        Engine().register_executor("local", object())


def test_every_protocol_has_a_version_that_is_not_a_member() -> None:
    for protocol in PROTOCOLS:
        assert "1.0.0" == protocol.__protocol_version__  # type: ignore[attr-defined]
        assert "__protocol_version__" not in getattr(protocol, "__protocol_attrs__", set())


def test_every_protocol_documents_its_contract() -> None:
    for protocol in PROTOCOLS:
        assert "must guarantee" in (protocol.__doc__ or "")


def test_a_user_sub_protocol_does_not_demand_the_version_attribute() -> None:
    @runtime_checkable
    class IExtendedExecutor(IToolExecutor, Protocol):
        def describe(self) -> str: ...

    class Extended(ThirdPartyExecutor):
        def describe(self) -> str:
            return "extended"

    assert {"describe", "execute", "execute_async"} == IExtendedExecutor.__protocol_attrs__  # type: ignore[attr-defined]
    assert isinstance(Extended(), IExtendedExecutor)
    assert "1.0.0" == IExtendedExecutor.__protocol_version__
