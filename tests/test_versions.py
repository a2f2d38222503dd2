"""Tests for execproto._versions: the protocols' metaclass, on every supported Python."""

from __future__ import annotations

import typing
from typing import Any

import pytest
import typing_extensions

from execproto._versions import protocol_version, set_protocol_version
from execproto.conformance import check, conforms
from execproto.protocols import IToolExecutor


class Echo:
    def execute(self, tool: Any, name: str, /, **params: Any) -> Any:
        return None

    async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any:
        return None


class Described(Echo):
    name = "described"

    def describe(self) -> str:
        return "described"


PROTOCOL_MODULES = [typing, typing_extensions]


@pytest.mark.parametrize("module", PROTOCOL_MODULES, ids=lambda m: m.__name__)
def test_a_user_sub_protocol_works_with_isinstance(module: Any) -> None:
    # On 3.10 and 3.11, typing.Protocol's own subclass hook used to count typing_extensions'
    # bookkeeping sets as non-method members: isinstance raised TypeError.
    @module.runtime_checkable
    class IDescribed(IToolExecutor, module.Protocol):
        def describe(self) -> str: ...

    assert True is isinstance(Described(), IDescribed)
    assert False is isinstance(Echo(), IDescribed)
    assert True is issubclass(Described, IDescribed)
    assert {"describe", "execute", "execute_async"} == set(
        typing_extensions.get_protocol_members(IDescribed)
    )
    assert "1.0.0" == protocol_version(IDescribed)
    assert True is conforms(Described(), IDescribed)
    assert [("describe", "missing")] == [
        (p.member, p.kind.value) for p in check(Echo, IDescribed).problems
    ]


@pytest.mark.parametrize("module", PROTOCOL_MODULES, ids=lambda m: m.__name__)
def test_a_user_sub_protocol_with_a_data_member_checks_instances_only(module: Any) -> None:
    @module.runtime_checkable
    class INamed(IToolExecutor, module.Protocol):
        name: str

    assert True is isinstance(Described(), INamed)
    assert False is isinstance(Echo(), INamed)


@pytest.mark.parametrize("module", PROTOCOL_MODULES, ids=lambda m: m.__name__)
def test_a_subclass_hook_written_in_the_sub_protocol_is_kept(module: Any) -> None:
    @module.runtime_checkable
    class IEverything(IToolExecutor, module.Protocol):
        @classmethod
        def __subclasshook__(cls, other: type) -> bool:
            return True

    assert True is isinstance(object(), IEverything)


def test_a_protocol_version_is_inherited_and_can_be_set_per_protocol() -> None:
    class IOwn(IToolExecutor, typing_extensions.Protocol):
        pass

    assert "1.0.0" == protocol_version(IOwn)
    set_protocol_version(IOwn, "2.1.0")
    assert "2.1.0" == protocol_version(IOwn)
    assert "1.0.0" == protocol_version(IToolExecutor)
    assert None is protocol_version(Echo)
