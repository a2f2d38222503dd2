"""Tests for execproto.conformance: check, conforms, ensure, implements, check_version."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import textwrap
import types
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import pytest
import typing_extensions
from examples.third_party import EchoExecutor, NotAnExecutor, SyncOnlyExecutor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execproto._cli import _checkers
from execproto.conformance import (
    ConformanceReport,
    Problem,
    ProblemKind,
    _boundary,
    _members,
    check,
    check_version,
    clear_cache,
    conforms,
    ensure,
    implements,
)
from execproto.errors import ConformanceError
from execproto.protocols import ICacheProvider, IOperationExecutor, IToolExecutor, IToolProvider
from execproto.testing import Calculator
from execproto.typed import ITypedToolExecutor, ITypedToolProvider, VersionedInterface

REPO = Path(__file__).resolve().parents[2]


def kinds(report: ConformanceReport) -> list[tuple[str, ProblemKind]]:
    return [(problem.member, problem.kind) for problem in report.problems]


class GoodCache:
    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return operation_type

    def get_from_cache(self, cache_key: str) -> Any | None:
        return None

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        return None


# --- the "done when" ---------------------------------------------------------------


def test_sync_only_executor_passes_isinstance_but_not_check() -> None:
    assert isinstance(SyncOnlyExecutor(), IToolExecutor)
    report = check(SyncOnlyExecutor, IToolExecutor)
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(report)
    assert not report
    assert False is conforms(SyncOnlyExecutor(), IToolExecutor)


def test_third_party_executor_with_its_own_parameter_names_conforms() -> None:
    report = check(EchoExecutor(), IToolExecutor)
    assert () == report.problems
    assert report.ok
    assert True is conforms(EchoExecutor(), IToolExecutor)


# --- check: kinds of problem ----------------------------------------------------------------


def test_every_missing_member_is_reported_at_once() -> None:
    report = check(NotAnExecutor, IToolExecutor)
    expected = [("execute", ProblemKind.MISSING), ("execute_async", ProblemKind.MISSING)]
    assert expected == kinds(report)
    assert "async def execute_async(self, tool, operation_name, /, **params)" in str(
        report.problems[1]
    )


def test_a_data_attribute_in_place_of_a_method_is_not_callable() -> None:
    class Executor(EchoExecutor):
        execute = 3  # type: ignore[assignment]

    assert [("execute", ProblemKind.NOT_CALLABLE)] == kinds(check(Executor, IToolExecutor))


def test_a_property_in_place_of_a_method_is_not_callable() -> None:
    class Executor(EchoExecutor):
        @property
        def execute(self) -> Any:  # type: ignore[override]
            raise AssertionError("check() must not evaluate properties")

    assert [("execute", ProblemKind.NOT_CALLABLE)] == kinds(check(Executor(), IToolExecutor))


def test_async_where_sync_is_required_is_reported() -> None:
    class Executor(EchoExecutor):
        async def execute(self, tool: Any, name: str, /, **params: Any) -> Any:  # type: ignore[override]
            return None

    assert [("execute", ProblemKind.UNEXPECTED_ASYNC)] == kinds(check(Executor, IToolExecutor))


def test_names_of_positional_only_protocol_parameters_are_free() -> None:
    class Executor:
        def execute(self, a: Any, b: str, /, **kw: Any) -> Any: ...
        async def execute_async(self, *args: Any, **kwargs: Any) -> Any: ...

    assert () == check(Executor, IToolExecutor).problems


def warning_kinds(report: ConformanceReport) -> list[tuple[str, ProblemKind]]:
    return [(warning.member, warning.kind) for warning in report.warnings]


def test_parameters_that_a_params_key_could_collide_with_are_a_warning() -> None:
    # isinstance and pyright accept this (mypy does not): the spec's verdict is open, so the
    # runtime conforms and warns, because a key of **params named 'tool' breaks the call.
    class SeedStyle:
        def execute(self, tool: Any, operation_name: str, **params: Any) -> Any: ...
        async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...

    report = check(SeedStyle, IToolExecutor)
    assert report.ok
    assert [("execute", ProblemKind.KEYWORD_COLLISION)] == warning_kinds(report)
    assert "add '/' after 'operation_name'" in report.warnings[0].fix
    assert "'got multiple values'" in report.warnings[0].found
    with pytest.raises(TypeError, match="multiple values"):
        SeedStyle().execute(Calculator(), "add", tool="x")
    strict = check(SeedStyle, IToolExecutor, strict=True)
    assert [("execute", ProblemKind.KEYWORD_COLLISION)] == kinds(strict)
    assert () == strict.warnings
    assert True is conforms(SeedStyle(), IToolExecutor)


def test_a_renamed_keyword_capable_parameter_is_reported() -> None:
    class Cache(GoodCache):
        def get_from_cache(self, key: str) -> Any | None:  # type: ignore[override]
            return None

    report = check(Cache, ICacheProvider)
    assert [("get_from_cache", ProblemKind.SIGNATURE)] == kinds(report)
    assert "rename 'key' to 'cache_key'" == report.problems[0].fix


def test_too_few_parameters_extra_required_ones_and_missing_defaults_are_reported() -> None:
    class Operations:
        async def execute_operation(self, operation_spec: str) -> Any: ...
        async def batch_execute_operations(self, operations: Any, limit: int) -> Any: ...
        async def execute_operations_sequence(
            self,
            operations: Any,
            user_id: str,
            task_id: str,
            stop_on_failure: bool,
            save_callback: Any = None,
        ) -> Any: ...
        async def execute_parallel_operations(self, operations: Any) -> Any: ...

    report = check(Operations, IOperationExecutor)
    texts = {problem.member: str(problem) for problem in report.problems}
    assert 3 == len(report.problems)
    assert "at least 2 positional parameters" in texts["execute_operation"]
    assert "required parameter 'limit'" in texts["batch_execute_operations"]
    assert "'stop_on_failure' required" in texts["execute_operations_sequence"]


def test_a_method_that_cannot_take_self_is_reported() -> None:
    class Provider:
        def get_tool(**kwargs: Any) -> Any: ...  # type: ignore[misc]
        def has_tool(self, tool_name: str) -> bool: ...

    assert [("get_tool", ProblemKind.SIGNATURE)] == kinds(check(Provider, IToolProvider))


def test_static_and_class_methods_and_callable_objects_are_checked_as_called() -> None:
    class AsyncCallable:
        async def __call__(self, tool: Any, name: str, /, **params: Any) -> Any: ...

    def plain_execute(tool: Any, name: str, /, **params: Any) -> Any: ...

    class Executor:
        execute = staticmethod(plain_execute)
        execute_async = AsyncCallable()

    class ClassExecutor:
        @classmethod
        def execute(cls, tool: Any, name: str, /, **params: Any) -> Any: ...

        execute_async = functools.partial(AsyncCallable(), "bound-tool")

    assert () == check(Executor, IToolExecutor).problems
    # The partial has already consumed one positional argument, so it accepts one too many.
    report = check(ClassExecutor, IToolExecutor)
    assert [("execute_async", ProblemKind.SIGNATURE)] == kinds(report)
    assert "at least 2 positional parameters" in report.problems[0].expected


def test_mismatched_annotations_are_reported_where_both_sides_have_them() -> None:
    class Cache(GoodCache):
        def get_from_cache(self, cache_key: int) -> Any | None:  # type: ignore[override]
            return None

        def add_to_cache(self, cache_key, value):  # type: ignore[no-untyped-def]
            return None

    report = check(Cache, ICacheProvider)
    assert [("get_from_cache", ProblemKind.ANNOTATION)] == kinds(report)
    assert "'cache_key' annotated int" in report.problems[0].found


def test_wider_parameter_and_narrower_return_annotations_conform() -> None:
    class Cache(GoodCache):
        def get_from_cache(self, cache_key: str | bytes) -> int | None:
            return None

        def add_to_cache(self, cache_key: object, value: Any) -> None:
            return None

    assert () == check(Cache, ICacheProvider).problems


def test_unresolvable_annotations_count_as_absent() -> None:
    namespace: dict[str, Any] = {}
    exec(  # a forward reference to a name that exists nowhere
        "class Cache:\n"
        "    def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs): ...\n"
        "    def get_from_cache(self, cache_key: 'Nowhere') -> 'Nowhere': ...\n"
        "    def add_to_cache(self, cache_key, value): ...\n",
        namespace,
    )
    assert () == check(namespace["Cache"], ICacheProvider).problems


def test_subscripted_generic_protocols_are_checked_with_their_type_arguments() -> None:
    class IntExecutor:
        def execute(self, tool: Calculator, name: str, /, **params: Any) -> int:
            return 0

        async def execute_async(self, tool: Calculator, name: str, /, **params: Any) -> str:
            return ""

    protocol = ITypedToolExecutor[Calculator, int]
    with pytest.raises(TypeError):
        isinstance(IntExecutor(), protocol)  # type: ignore[misc]
    report = check(IntExecutor(), protocol)
    assert [("execute_async", ProblemKind.ANNOTATION)] == kinds(report)
    assert "-> Coroutine[Any, Any, str]" == report.problems[0].found
    assert () == check(IntExecutor, ITypedToolExecutor[Calculator, object]).problems
    assert False is conforms(IntExecutor(), protocol)


def test_protocols_with_data_members_accept_properties_and_instance_attributes() -> None:
    class Versioned:
        def __init__(self) -> None:
            self.version = "1.0.0"

        def get_version(self) -> str:
            return self.version

    class WithProperty:
        @property
        def version(self) -> str:
            return "1.0.0"

        def get_version(self) -> str:
            return "1.0.0"

    assert () == check(Versioned(), VersionedInterface).problems
    assert [("version", ProblemKind.MISSING)] == kinds(check(Versioned, VersionedInterface))
    assert () == check(WithProperty, VersionedInterface).problems
    assert True is conforms(Versioned(), VersionedInterface)


def test_sub_protocols_do_not_require_the_protocol_version_attribute() -> None:
    @typing_extensions.runtime_checkable
    class IExtended(IToolExecutor, typing_extensions.Protocol):
        def describe(self) -> str: ...

    class Extended(EchoExecutor):
        def describe(self) -> str:
            return "echo"

    assert () == check(Extended, IExtended).problems


def test_a_non_protocol_is_a_type_error_that_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match="expected a Protocol class"):
        check(EchoExecutor(), EchoExecutor)
    with pytest.raises(TypeError, match="expected a Protocol class"):
        conforms(EchoExecutor(), int)


def test_report_renders_as_text_and_as_json_ready_dict() -> None:
    report = check(SyncOnlyExecutor, IToolExecutor)
    text = report.format()
    assert text.startswith("examples.third_party.SyncOnlyExecutor does not conform to ")
    assert "execute_async: expected an async method" in text
    data = report.to_dict()
    assert False is data["conforms"]
    assert "not_async" == data["problems"][0]["kind"]
    assert (
        "EchoExecutor instance conforms to IToolExecutor"
        in check(EchoExecutor(), IToolExecutor).format()
    )


def test_problem_str_names_member_expected_found_and_fix() -> None:
    problem = Problem("m", ProblemKind.MISSING, "a method", "nothing", "define 'm'")
    assert "m: expected a method; found nothing. Fix: define 'm'" == str(problem)


# --- the rules of the table in execproto.conformance (numbers as there) ---------------------


class Other:
    pass


T = TypeVar("T")


def test_rule_3_an_async_generator_is_not_an_async_method() -> None:
    class Executor(EchoExecutor):
        async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any:  # type: ignore[override]
            yield None

    report = check(Executor, IToolExecutor)
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(report)
    assert "async generator" in report.problems[0].found


def test_rule_3_a_plain_function_declared_to_return_a_coroutine_is_async() -> None:
    async def run(tool: Any, name: str, /, **params: Any) -> Any:
        return None

    class Executor(EchoExecutor):
        def execute_async(  # type: ignore[override]
            self, tool: Any, name: str, /, **params: Any
        ) -> Coroutine[Any, Any, Any]:
            return run(tool, name, **params)

    assert () == check(Executor, IToolExecutor).problems


P = typing_extensions.ParamSpec("P")
R = TypeVar("R")


def _traced(
    function: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return await function(*args, **kwargs)

    return wrapper


def test_rule_3_an_async_method_under_a_paramspec_decorator_conforms() -> None:
    class Executor(EchoExecutor):
        @_traced
        async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any:
            return None

    class Broken(EchoExecutor):
        @_traced
        async def execute_async(self, tool: Any, /, **params: Any) -> Any:  # type: ignore[override]
            return None

    assert () == check(Executor, IToolExecutor).problems
    assert [("execute_async", ProblemKind.SIGNATURE)] == kinds(check(Broken, IToolExecutor))


def test_rule_4_a_plain_wrapper_of_a_coroutine_function_cannot_be_verified() -> None:
    def traced(function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return wrapper

    class Executor(EchoExecutor):
        @traced
        async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any:
            return None

    report = check(Executor, IToolExecutor)
    assert report.ok
    assert [("execute_async", ProblemKind.UNVERIFIED)] == warning_kinds(report)
    assert "wrapping the coroutine function" in report.warnings[0].found
    assert [("execute_async", ProblemKind.UNVERIFIED)] == kinds(
        check(Executor, IToolExecutor, strict=True)
    )


def test_rule_7_a_callable_attribute_cannot_take_a_keyword_parameter() -> None:
    class Provider:
        get_tool: Callable[[str], Any]
        has_tool: Callable[..., bool]

    report = check(Provider, IToolProvider)
    assert [("get_tool", ProblemKind.SIGNATURE)] == kinds(report)
    assert "parameter 1 positional-only (Callable[...] parameters are)" in report.problems[0].found
    assert "callback protocol" in report.problems[0].fix


def test_rule_9_a_parameter_must_accept_what_the_protocol_passes() -> None:
    class Operations(_Operations):
        async def execute_operation(self, operation_spec: str, params: list[Any]) -> Any: ...

    class Wider(_Operations):
        async def execute_operation(
            self, operation_spec: str, params: Mapping[str, object]
        ) -> Any: ...

    assert [("execute_operation", ProblemKind.ANNOTATION)] == kinds(
        check(Operations, IOperationExecutor)
    )
    assert () == check(Wider, IOperationExecutor).problems


def test_rule_10_list_is_invariant_in_its_element_type() -> None:
    class Invariant(_Operations):
        async def batch_execute_operations(self, operations: list[Mapping[str, Any]]) -> list[Any]:
            return []

    class Covariant(_Operations):
        async def batch_execute_operations(
            self, operations: Sequence[Mapping[str, Any]]
        ) -> list[Any]:
            return []

    report = check(Invariant, IOperationExecutor)
    assert [("batch_execute_operations", ProblemKind.ANNOTATION)] == kinds(report)
    assert "list[Mapping[str, Any]]" in report.problems[0].found
    assert () == check(Covariant, IOperationExecutor).problems


def test_rule_10_results_are_compared_element_by_element() -> None:
    class Dicts(_Operations):
        async def execute_parallel_operations(
            self, operations: list[dict[str, Any]]
        ) -> list[dict[str, Any]]:
            return []

    assert [("execute_parallel_operations", ProblemKind.ANNOTATION)] == kinds(
        check(Dicts, IOperationExecutor)
    )


class _Generic(Generic[T]):
    def execute(self, tool: T, name: str, /, **params: Any) -> int:
        return 0

    async def execute_async(self, tool: T, name: str, /, **params: Any) -> int:
        return 0


def test_rule_11_a_generic_implementation_is_checked_with_its_type_arguments() -> None:
    protocol = ITypedToolExecutor[Calculator, int]

    class BoundToOther(_Generic[Other]):
        pass

    class BoundToCalc(_Generic[Calculator]):
        pass

    assert [("execute", ProblemKind.ANNOTATION), ("execute_async", ProblemKind.ANNOTATION)] == (
        kinds(check(_Generic[Other](), protocol))
    )
    assert [("execute", ProblemKind.ANNOTATION), ("execute_async", ProblemKind.ANNOTATION)] == (
        kinds(check(_Generic[Other], protocol))
    )
    assert 2 == len(check(BoundToOther, protocol).problems)
    assert () == check(BoundToCalc, protocol).problems
    assert () == check(_Generic[Calculator](), protocol).problems
    assert () == check(_Generic(), protocol).problems  # unbound: Any, as the checkers infer


def test_rule_11_conforms_keeps_one_verdict_per_type_arguments() -> None:
    protocol = ITypedToolExecutor[Calculator, int]
    assert [False, True, True, False] == [
        conforms(_Generic[Other](), protocol),
        conforms(_Generic[Calculator](), protocol),
        conforms(_Generic(), protocol),
        conforms(_Generic[Other](), protocol),
    ]


def test_rule_11_protocol_types_are_compared_by_their_type_arguments() -> None:
    # What a checker does with `x: ITypedToolExecutor[object, int] = calc_executor`.
    assert [("execute", ProblemKind.ANNOTATION), ("execute_async", ProblemKind.ANNOTATION)] == (
        kinds(check(ITypedToolExecutor[Calculator, int], ITypedToolExecutor[object, int]))
    )
    assert (
        () == check(ITypedToolExecutor[object, bool], ITypedToolExecutor[Calculator, int]).problems
    )


def test_rule_12_a_generic_method_cannot_be_verified() -> None:
    class Provider:
        def get_tool(self, tool_name: str, default: T | None = None) -> T: ...  # type: ignore[empty-body]
        def has_tool(self, tool_name: str) -> bool:
            return False

    report = check(Provider, ITypedToolProvider[Calculator])
    assert report.ok
    assert [("get_tool", ProblemKind.UNVERIFIED)] == warning_kinds(report)
    assert "type variable of a generic method" in report.warnings[0].found


class _Named(typing_extensions.Protocol):
    name: str


class _HasName:
    name: str = "calc"


class _Nameless:
    pass


def test_rule_12_a_structural_result_type_is_checked_structurally() -> None:
    # Module-level classes: annotations naming classes local to a function cannot be
    # resolved, and unresolvable annotations are not compared.
    class Provider:
        def get_tool(self, tool_name: str) -> _HasName:
            return _HasName()

        def has_tool(self, tool_name: str) -> bool:
            return False

    class BadProvider(Provider):
        def get_tool(self, tool_name: str) -> _Nameless:  # type: ignore[override]
            return _Nameless()

    assert () == check(Provider, ITypedToolProvider[_Named]).problems
    assert [("get_tool", ProblemKind.ANNOTATION)] == kinds(
        check(BadProvider, ITypedToolProvider[_Named])
    )


def test_rule_13_a_callable_attribute_is_checked_by_its_declaration() -> None:
    async def run(tool: Any, name: str, /, **params: Any) -> Any:
        return None

    class Awaits:
        execute = EchoExecutor.execute
        execute_async: Callable[..., Awaitable[Any]] = run

    class Coroutines:
        execute = EchoExecutor.execute
        execute_async: Callable[..., Coroutine[Any, Any, Any]] = run

    report = check(Awaits(), IToolExecutor)
    assert [("execute_async", ProblemKind.ANNOTATION)] == kinds(report)
    assert "-> Awaitable[Any]" == report.problems[0].found
    assert () == check(Coroutines(), IToolExecutor).problems
    assert False is conforms(Awaits(), IToolExecutor)


def test_rule_13_dataclass_and_named_tuple_fields_are_members() -> None:
    async def run(tool: Any, name: str, /, **params: Any) -> Any:
        return None

    def sync(tool: Any, name: str, /, **params: Any) -> Any:
        return None

    @dataclasses.dataclass
    class Fields:
        execute: Callable[..., Any]
        execute_async: Callable[..., Any]

    class Row(NamedTuple):
        execute: Callable[..., Any]
        execute_async: Callable[..., Any]

    assert () == check(Fields(sync, run), IToolExecutor).problems
    assert () == check(Row(sync, run), IToolExecutor).problems
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(
        check(Row(sync, sync), IToolExecutor)
    )
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(
        check(Fields(sync, sync), IToolExecutor)
    )


def test_rule_14_one_overload_that_fits_suffices() -> None:
    class Fits:
        @typing_extensions.overload
        def get_tool(self, tool_name: str) -> Any: ...
        @typing_extensions.overload
        def get_tool(self, tool_name: int) -> Any: ...
        def get_tool(self, tool_name: str | int) -> Any:
            return None

        def has_tool(self, tool_name: str) -> bool:
            return False

    class NoneFits(Fits):
        @typing_extensions.overload  # type: ignore[override]
        def get_tool(self, tool_name: int) -> Any: ...
        @typing_extensions.overload
        def get_tool(self, tool_name: bytes) -> Any: ...
        def get_tool(self, tool_name: Any) -> Any:
            return None

    assert () == check(Fits, IToolProvider).problems
    report = check(NoneFits, IToolProvider)
    assert [("get_tool", ProblemKind.ANNOTATION)] == kinds(report)
    assert "one of the 2 overloads" in report.problems[0].expected


def _engine_execute(engine: Any, tool: Any, name: str, /, **params: Any) -> Any:
    return None


def _seed_execute(tool: Any, operation_name: str, **params: Any) -> Any:
    return None


def test_rule_15_a_partial_is_checked_with_the_signature_python_binds() -> None:
    class Bound:
        execute = functools.partial(_engine_execute, "engine")
        execute_async = EchoExecutor.execute_async

    class KeywordToKwargs:
        # 'name' is positional-only in the function: the keyword goes to **params, so the
        # partial still needs three positional arguments (inspect.signature gives up).
        execute = functools.partial(_engine_execute, name="x")
        execute_async = EchoExecutor.execute_async

    class BindsTool:
        execute = functools.partial(_seed_execute, tool="x")
        execute_async = EchoExecutor.execute_async

    assert () == check(Bound, IToolExecutor).problems
    report = check(KeywordToKwargs, IToolExecutor)
    assert ["execute"] == [p.member for p in report.problems]
    assert "(engine, tool, name, /, **params)" in report.problems[0].found
    with pytest.raises(TypeError):
        KeywordToKwargs.execute(Calculator(), "add")
    assert not check(BindsTool, IToolExecutor).ok
    with pytest.raises(TypeError, match="multiple values"):
        BindsTool.execute(Calculator(), "add")


def test_rule_16_a_callable_without_a_readable_signature_cannot_be_verified() -> None:
    class Provider:
        get_tool = staticmethod(getattr)  # a C function without a text signature

        def has_tool(self, tool_name: str) -> bool:
            return False

    report = check(Provider, IToolProvider)
    assert report.ok
    assert [("get_tool", ProblemKind.UNVERIFIED)] == warning_kinds(report)
    assert "inspect.signature() cannot read getattr" in report.warnings[0].found


def test_rule_17_a_getattr_proxy_cannot_be_verified() -> None:
    class Proxy:
        def __init__(self, target: object) -> None:
            self._target = target

        def __getattr__(self, name: str) -> Any:
            return getattr(self._target, name)

    report = check(Proxy(EchoExecutor()), IToolExecutor)
    assert report.ok
    assert [("execute", ProblemKind.UNVERIFIED), ("execute_async", ProblemKind.UNVERIFIED)] == (
        warning_kinds(report)
    )
    assert "__getattr__" in report.warnings[0].found
    assert True is conforms(Proxy(EchoExecutor()), IToolExecutor)
    assert not check(Proxy(EchoExecutor()), IToolExecutor, strict=True).ok
    referent = EchoExecutor()
    proxied = check(weakref.proxy(referent), IToolExecutor)
    assert proxied.ok
    assert "weak reference proxy" in proxied.warnings[0].found


class _IntVersion:
    version: int

    def get_version(self) -> str:
        return ""


class _BoolVersion(_IntVersion):
    @property
    def version(self) -> bool:  # type: ignore[override]
        return True


class _StrVersion(_IntVersion):
    version: str = "1.0.0"  # type: ignore[assignment]


class _ISettable(typing_extensions.Protocol):
    name: str


class _ReadOnlyName:
    @property
    def name(self) -> str:
        return "x"


class _ObjectName:
    name: object = "x"


class _StrName:
    name: str = "x"


class _IReadOnlyName(typing_extensions.Protocol):
    @property
    def name(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class _FrozenName:
    name: str = "x"


class _NamedRow(NamedTuple):
    name: str


def test_rule_19_frozen_fields_are_read_only() -> None:
    assert [("name", ProblemKind.ANNOTATION)] == kinds(check(_FrozenName, _ISettable))
    assert [("name", ProblemKind.ANNOTATION)] == kinds(check(_NamedRow("x"), _ISettable))
    assert () == check(_FrozenName, _IReadOnlyName).problems
    assert () == check(_NamedRow("x"), _IReadOnlyName).problems


def test_rule_19_data_members_declared_on_both_sides_are_compared() -> None:
    assert [("version", ProblemKind.ANNOTATION)] == kinds(check(_IntVersion, VersionedInterface))
    assert [("version", ProblemKind.ANNOTATION)] == kinds(check(_BoolVersion, VersionedInterface))
    assert () == check(_StrVersion, VersionedInterface).problems
    # An attribute callers may set: settable, and of exactly its type.
    read_only = check(_ReadOnlyName, _ISettable)
    assert [("name", ProblemKind.ANNOTATION)] == kinds(read_only)
    assert "read-only" in read_only.problems[0].found
    assert [("name", ProblemKind.ANNOTATION)] == kinds(check(_ObjectName, _ISettable))
    assert () == check(_StrName, _ISettable).problems


def test_warnings_are_shown_by_format_and_to_dict() -> None:
    class SeedStyle:
        def execute(self, tool: Any, operation_name: str, **params: Any) -> Any: ...
        async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...

    report = check(SeedStyle, IToolExecutor)
    text = report.format()
    assert text.startswith(
        f"{__name__}.{SeedStyle.__qualname__} conforms to IToolExecutor, with 1 warning:"
    )
    assert "  - warning: execute: expected positional-only parameters" in text
    data = report.to_dict()
    assert True is data["conforms"]
    assert ["keyword_collision"] == [w["kind"] for w in data["warnings"]]
    both = check(SyncOnlyExecutor, IToolExecutor)
    assert "(1 problem)" in both.format()


class _Operations:
    """A conforming IOperationExecutor to derive broken ones from."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[Any]:
        return []

    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []


# --- versions -------------------------------------------------------------------------------


def _declaring(version: object) -> type:
    return type("Declared", (EchoExecutor,), {"__implements_version__": version})


@pytest.mark.parametrize(
    ("declared", "ok"),
    [("1.0.0", True), ("1.10.0", True), ("1.0", True), ("0.9.0", False), ("2.0.0", False)],
)
def test_declared_version_is_compared_with_the_protocol_version(declared: str, ok: bool) -> None:
    report = check(_declaring(declared), IToolExecutor)
    assert ok == report.ok
    if not ok:
        assert [("__implements_version__", ProblemKind.VERSION)] == kinds(report)


def test_malformed_declared_version_is_a_problem() -> None:
    assert [("__implements_version__", ProblemKind.VERSION)] == kinds(
        check(_declaring(1.0), IToolExecutor)
    )


def test_check_version_compares_numerically_not_as_strings() -> None:
    assert "1.10.0" == check_version(_declaring("1.10.0"), "1.9.0")
    with pytest.raises(ConformanceError, match=r"'1\.9\.0'"):
        check_version(_declaring("1.9.0"), "1.10.0")


def test_check_version_prefers_get_version_then_version_then_declared() -> None:
    class Versioned:
        version = "1.2.0"
        __implements_version__ = "0.1.0"

        def get_version(self) -> str:
            return "1.3.0"

    class Attribute:
        version = "1.2.0"

    assert "1.3.0" == check_version(Versioned(), "1.3.0")
    assert "1.2.0" == check_version(Attribute(), "1.1.0")


def test_check_version_orders_prereleases_before_their_release() -> None:
    assert "1.0.0" == check_version(_declaring("1.0.0"), "1.0.0-rc.2")
    with pytest.raises(ConformanceError):
        check_version(_declaring("1.0.0-rc.2"), "1.0.0")
    with pytest.raises(ConformanceError):
        check_version(_declaring("1.0.0-rc.2"), "1.0.0-rc.10")


def test_check_version_without_a_declared_version_raises_with_the_fix() -> None:
    with pytest.raises(ConformanceError, match="__implements_version__") as caught:
        check_version(EchoExecutor(), "1.0.0")
    assert isinstance(caught.value.report, ConformanceReport)


def test_check_version_rejects_a_malformed_required_version() -> None:
    with pytest.raises(ValueError, match="semantic version"):
        check_version(_declaring("1.0.0"), "one")


# --- conforms: cache, shadowing -------------------------------------------------------------


def test_instance_attribute_shadowing_a_method_is_not_fooled_by_the_cache() -> None:
    good = EchoExecutor()
    assert True is conforms(good, IToolExecutor)
    shadowed = EchoExecutor()
    shadowed.execute_async = lambda tool, name, /, **params: None  # type: ignore[method-assign]
    assert isinstance(shadowed, IToolExecutor)
    assert False is conforms(shadowed, IToolExecutor)
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(check(shadowed, IToolExecutor))
    assert True is conforms(good, IToolExecutor)


def test_first_call_on_a_shadowed_instance_is_not_cached_for_its_type() -> None:
    class Executor(EchoExecutor):
        pass

    shadowed = Executor()
    shadowed.execute = 3  # type: ignore[assignment,method-assign]
    assert False is conforms(shadowed, IToolExecutor)
    assert True is conforms(Executor(), IToolExecutor)


def test_objects_conforming_through_instance_attributes_conform() -> None:
    async def execute_async(tool: Any, name: str, /, **params: Any) -> Any: ...

    def execute(tool: Any, name: str, /, **params: Any) -> Any: ...

    namespace = types.SimpleNamespace(execute=execute, execute_async=execute_async)
    assert True is conforms(namespace, IToolExecutor)
    assert False is conforms(types.SimpleNamespace(execute=execute), IToolExecutor)


def test_objects_without_instance_dict_are_cached_by_type() -> None:
    class Slotted:
        __slots__ = ()

        def execute(self, tool: Any, name: str, /, **params: Any) -> Any: ...
        async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any: ...

    assert True is conforms(Slotted(), IToolExecutor)
    assert True is conforms(Slotted(), IToolExecutor)
    assert False is conforms(object(), IToolExecutor)
    assert False is conforms(object(), IToolExecutor)


def test_cache_assumes_classes_are_not_changed_until_cleared() -> None:
    class Executor(EchoExecutor):
        pass

    assert True is conforms(Executor(), IToolExecutor)
    Executor.execute_async = EchoExecutor.execute  # type: ignore[method-assign]
    assert True is conforms(Executor(), IToolExecutor)  # the documented assumption
    clear_cache()
    assert False is conforms(Executor(), IToolExecutor)


def test_cache_is_bounded_per_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_boundary, "_MAX_TYPES_PER_PROTOCOL", 3)
    clear_cache()
    classes = [type(f"E{i}", (EchoExecutor,), {}) for i in range(5)]
    assert [True] * 5 == [conforms(cls(), IToolExecutor) for cls in classes]
    assert 3 >= len(_boundary._VERDICTS[id(IToolExecutor)])


# --- ensure, implements ---------------------------------------------------------------------


def test_ensure_returns_the_object_when_it_conforms() -> None:
    executor = EchoExecutor()
    assert executor is ensure(executor, IToolExecutor)


def test_ensure_raises_a_type_error_carrying_the_report() -> None:
    with pytest.raises(ConformanceError) as caught:
        ensure(SyncOnlyExecutor(), IToolExecutor)
    assert isinstance(caught.value, TypeError)
    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(caught.value.report)
    assert "execute_async" in str(caught.value)


def test_implements_returns_the_class_when_it_conforms() -> None:
    @implements(IToolExecutor)
    class Executor:
        def execute(self, tool: Any, name: str, /, **params: Any) -> Any: ...
        async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any: ...

    assert "Executor" == Executor.__name__


def test_implements_fails_at_class_definition() -> None:
    with pytest.raises(ConformanceError, match="execute_async") as caught:

        @implements(IToolExecutor)
        class Executor:  # type: ignore[type-var]
            def execute(self, tool: Any, name: str, /, **params: Any) -> Any: ...
            def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any: ...

    assert [("execute_async", ProblemKind.NOT_ASYNC)] == kinds(caught.value.report)


def test_implements_rejects_a_non_protocol_immediately() -> None:
    with pytest.raises(TypeError, match="expected a Protocol class"):
        implements(EchoExecutor)


_STATIC_SNIPPET = """
from typing import Any
from execproto.conformance import implements
from execproto.protocols import IToolExecutor
from execproto.typed import ITypedToolExecutor


@implements(IToolExecutor)
class Good:
    def execute(self, tool: Any, name: str, /, **params: Any) -> Any: ...
    async def execute_async(self, tool: Any, name: str, /, **params: Any) -> Any: ...


@implements(ITypedToolExecutor[int, int])
class Bad:  # line 15
    def execute(self, tool: int, name: str, /, **params: Any) -> int:
        return 0

    def execute_async(self, tool: int, name: str, /, **params: Any) -> int:
        return 0
"""


def _errors(diagnostics: list[_checkers.Diagnostic]) -> list[tuple[str, int, str]]:
    return [(d.path.name, d.line, d.code) for d in diagnostics if d.severity == "error"]


@pytest.mark.typecheck
@pytest.mark.slow
def test_implements_is_enforced_statically_by_mypy_and_pyright(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text(textwrap.dedent(_STATIC_SNIPPET))
    env = {**os.environ, "MYPYPATH": str(REPO / "src")}
    mypy = _checkers.run_mypy(
        [source], cwd=tmp_path, env=env, options=["--strict", "--no-incremental"]
    )
    assert [("snippet.py", 14, "arg-type")] == _errors(mypy)
    pyright = _checkers.find_pyright()
    if pyright is None:
        pytest.skip(
            "pyright is not installed (pip install 'execproto[typecheck]', or set $PYRIGHT)"
        )
    config = {
        "include": [source.name],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.10",
        "extraPaths": [str(REPO / "src")],
    }
    diagnostics = _checkers.run_pyright(pyright, config, cwd=tmp_path, env=os.environ)
    assert [("snippet.py", 14, "reportArgumentType")] == _errors(diagnostics)


# --- property: check() against an oracle that calls the members -----------------------------

_POOL = ("a", "b", "tool", "operation_name", "cache_key", "value", "operations")
_PROTOCOLS = (IToolExecutor, ICacheProvider, IToolProvider, IOperationExecutor)


@st.composite
def _parameter_source(draw: st.DrawFn, protocol_signature: inspect.Signature) -> str:
    if draw(st.integers(0, 3)):
        # Near the protocol's own shape, so that conforming classes are common.
        parts: list[str] = []
        defaults_started = False
        parameters = list(protocol_signature.parameters.values())[1:]
        for index, parameter in enumerate(parameters):
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                if draw(st.integers(0, 3)):
                    parts.append("**kwargs")
                continue
            name = parameter.name
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                name = draw(st.sampled_from((name, f"{name}_renamed")))
            has_default = parameter.default is not inspect.Parameter.empty
            if has_default and not defaults_started and not draw(st.integers(0, 3)):
                has_default = False
            defaults_started = defaults_started or has_default
            parts.append(f"{name}=None" if has_default else name)
            last_positional_only = parameter.kind is inspect.Parameter.POSITIONAL_ONLY and (
                index + 1 == len(parameters)
                or parameters[index + 1].kind is not inspect.Parameter.POSITIONAL_ONLY
            )
            if last_positional_only and draw(st.integers(0, 3)):
                parts.append("/")
        return ", ".join(parts)
    names = draw(st.lists(st.sampled_from(_POOL), unique=True, max_size=6))
    positional_count = draw(st.integers(0, min(4, len(names))))
    parts = []
    defaults_started = False
    for name in names[:positional_count]:
        defaults_started = defaults_started or draw(st.booleans())
        parts.append(f"{name}=None" if defaults_started else name)
    slash_at = draw(st.integers(-1, positional_count))
    if 0 < slash_at:
        parts.insert(slash_at, "/")
    if draw(st.booleans()):
        parts.append("*args")
    keyword_only = names[positional_count:]
    if keyword_only and "*args" not in parts:
        parts.append("*")
    parts.extend(f"{name}=None" if draw(st.booleans()) else name for name in keyword_only)
    if draw(st.booleans()):
        parts.append("**kwargs")
    return ", ".join(parts)


def _is_async_member(protocol: Any, name: str) -> bool:
    # As check() reads it: an async def, or a def declared to return a Coroutine.
    return bool(_members.spec_of(protocol).methods[name].is_async)


@st.composite
def _implementations(draw: st.DrawFn) -> tuple[type, Any]:
    protocol = draw(st.sampled_from(_PROTOCOLS))
    lines = ["class Generated:"]
    for name in sorted(_members.spec_of(protocol).members):
        wanted = getattr(protocol, name)
        flavour = draw(st.sampled_from(("method",) * 9 + ("async", "missing", "attribute")))
        if flavour == "missing":
            continue
        if flavour == "attribute":
            lines.append(f"    {name} = 3")
            continue
        is_async = _is_async_member(protocol, name)
        if flavour == "async":
            is_async = not is_async
        parameters = draw(_parameter_source(inspect.signature(wanted)))
        prefix = "async def" if is_async else "def"
        lines.append(f"    {prefix} {name}(self{', ' if parameters else ''}{parameters}):")
        lines.append("        return dict(locals())")
    lines.append("    pass")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    return namespace["Generated"], protocol


def _location(bound: dict[str, Any], sentinel: object) -> str:
    for name, value in bound.items():
        if value is sentinel:
            return f"named:{name}"
        if name == "args" and isinstance(value, tuple) and sentinel in value:
            return "collected"
        if name == "kwargs" and isinstance(value, dict) and sentinel in value.values():
            return "collected"
    return "lost"


def _call(member: Any, is_async: bool, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call *member*; return its bound arguments, or raise TypeError as the call would."""
    result = member(*args, **kwargs)
    if inspect.iscoroutine(result):
        try:
            result.send(None)
        except StopIteration as stop:
            return stop.value if is_async else None
        raise AssertionError("generated coroutines do not suspend")  # pragma: no cover
    return result if not is_async else None


def _oracle(cls: type, protocol: Any, collisions: bool) -> bool:
    """Whether every call the protocol allows works on an instance, found by calling.

    With *collisions*, the keys tried in ``**params`` include the member's own
    positional-or-keyword parameter names (which fail with "multiple values"): what
    ``check(strict=True)`` rejects and ``check()`` only warns about.
    """
    instance = cls()
    P = inspect.Parameter
    for name in _members.spec_of(protocol).members:
        member = getattr(instance, name, None)
        if member is None or not callable(member):
            return False
        wanted = getattr(protocol, name)
        is_async = _is_async_member(protocol, name)
        parameters = list(inspect.signature(wanted).parameters.values())[1:]
        positional = [
            p for p in parameters if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
        ]
        keyword_only = [p for p in parameters if p.kind is P.KEYWORD_ONLY]
        takes_kwargs = any(p.kind is P.VAR_KEYWORD for p in parameters)
        sentinels = {p.name: object() for p in parameters}
        required = [p for p in positional if p.default is P.empty]
        full = [sentinels[p.name] for p in positional]
        minimal = [sentinels[p.name] for p in required]
        kw_full = {p.name: sentinels[p.name] for p in keyword_only}
        first_keyword = next(
            (i for i, p in enumerate(positional) if p.kind is P.POSITIONAL_OR_KEYWORD), None
        )
        shapes: list[tuple[list[Any], dict[str, Any]]] = [(full, kw_full), (minimal, {})]
        if first_keyword is not None:
            by_keyword = {p.name: sentinels[p.name] for p in positional[first_keyword:]}
            shapes.append((full[:first_keyword], {**by_keyword, **kw_full}))
        if takes_kwargs:
            capable = {
                p.name for p in parameters if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)
            }
            # **params may hold any key: try every name either side could care about.
            own = inspect.signature(member).parameters.values()
            candidates = (*_POOL, *(p.name for p in own), "zz_extra")
            collidable = {p.name for p in own if p.kind is P.POSITIONAL_OR_KEYWORD}
            extra = {
                key: object()
                for key in candidates
                if key not in capable and (collisions or key not in collidable)
            }
            shapes.append((minimal, extra))
        try:
            bindings = [_call(member, is_async, list(a), dict(k)) for a, k in shapes]
        except TypeError:
            return False
        if any(binding is None for binding in bindings):
            return False  # sync where async is required, or the reverse
        if first_keyword is not None:
            for p in positional[first_keyword:]:
                positionally = _location(bindings[0], sentinels[p.name])
                by_name = _location(bindings[2], sentinels[p.name])
                if positionally != by_name or "lost" == positionally:
                    return False
    return True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_implementations())
def test_check_agrees_with_calling_the_members(case: tuple[type, Any]) -> None:
    cls, protocol = case
    assert _oracle(cls, protocol, collisions=False) == check(cls, protocol).ok
    assert _oracle(cls, protocol, collisions=True) == check(cls, protocol, strict=True).ok


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_implementations(), st.booleans())
def test_conforms_agrees_with_check(case: tuple[type, Any], clear: bool) -> None:
    cls, protocol = case
    if clear:
        clear_cache()
    expected = check(cls, protocol).ok
    assert expected == conforms(cls(), protocol)
    assert expected == conforms(cls(), protocol)
    assert expected == check(cls(), protocol).ok


def test_a_class_checked_as_an_instance_is_read_through_its_metaclass_without_error() -> None:
    # A class passed where an instance is expected (key_function=SomeClass) is an instance
    # of ``type``, whose ``__annotations__`` entry is a descriptor, not a dict.
    from execproto.capabilities import Namespaced

    class Plain:
        pass

    assert not conforms(Plain, Namespaced)
    assert not conforms(type, Namespaced)
