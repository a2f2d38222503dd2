"""ToolRegistry, @operation and the rules that decide what is an operation."""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.metadata
import keyword
import logging
import pickle
import threading
import weakref
from typing import Any, ClassVar

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execproto.errors import OperationNotFoundError, ToolNotFoundError
from execproto.protocols import IToolProvider
from execproto.runtime.registry import (
    ENTRY_POINT_GROUP,
    OperationInfo,
    OperationPolicy,
    ToolRegistry,
    list_operations,
    operation,
    resolve_operation,
    validate_tool_name,
)
from execproto.typed import ITypedToolProvider


class Base:
    def inherited(self) -> str:
        return "inherited"

    def overridden_by_property(self) -> str:
        return "method"


class Tool(Base):
    """A tool whose non-operations record any evaluation in ``touched``."""

    touched: ClassVar[list[str]] = []
    limit = 10  # a data attribute, not an operation
    helper = functools.partial(print, "never")  # a callable class attribute

    class Nested:  # a class is callable, but it is not an operation
        pass

    def __init__(self) -> None:
        self.data = "instance data"

    def plain(self, x: int) -> int:
        """Double x.

        More text that is not the summary.
        """
        return 2 * x

    @operation(idempotent=True, timeout=2.5)
    async def fetch(self, key: str) -> str:
        return key

    @operation
    def send(self, to: str) -> str:
        return to

    @staticmethod
    def static(x: int) -> int:
        return x + 1

    @classmethod
    def klass(cls) -> str:
        return cls.__name__

    @property
    def evaluated(self) -> str:
        Tool.touched.append("evaluated")
        raise AssertionError("a property was evaluated by a lookup")

    @property
    def overridden_by_property(self) -> str:  # type: ignore[override]
        Tool.touched.append("overridden_by_property")
        raise AssertionError("a property was evaluated by a lookup")

    def _private(self) -> None:
        raise AssertionError("private method ran")

    def __getattr__(self, name: str) -> Any:
        Tool.touched.append(f"__getattr__({name})")
        raise AssertionError(f"__getattr__ was called for {name!r}")


class FailingTool:
    def __init__(self) -> None:
        raise RuntimeError("cannot connect")


@pytest.fixture(autouse=True)
def _reset_touched() -> None:
    Tool.touched.clear()


# -- what is an operation -----------------------------------------------------------------


def test_public_methods_are_operations_and_nothing_else_is() -> None:
    expected = ["fetch", "inherited", "klass", "plain", "send", "static"]

    actual = list(list_operations(Tool()))

    assert expected == actual
    assert [] == Tool.touched


@pytest.mark.parametrize(
    "name",
    [
        "evaluated",
        "overridden_by_property",
        "limit",
        "helper",
        "Nested",
        "data",
        "touched",
        "_private",
        "__init__",
        "__class__",
        "__getattr__",
        "missing",
        "",
        "plain.x",
    ],
)
def test_names_that_are_not_operations_are_refused_without_evaluating_anything(
    name: str,
) -> None:
    with pytest.raises(OperationNotFoundError) as caught:
        resolve_operation(Tool(), name)

    assert [] == Tool.touched
    assert "plain" in str(caught.value)  # the message lists what can be called


def test_non_string_operation_name_is_refused() -> None:
    with pytest.raises(OperationNotFoundError, match="must be a str"):
        resolve_operation(Tool(), 42)  # type: ignore[arg-type]


def test_property_is_named_as_such_in_the_error() -> None:
    with pytest.raises(OperationNotFoundError, match="is a property, not an operation"):
        resolve_operation(Tool(), "evaluated")


def test_unknown_operation_error_suggests_close_names() -> None:
    with pytest.raises(OperationNotFoundError, match="did you mean 'plain'"):
        resolve_operation(Tool(), "plian")


def test_instance_attribute_cannot_replace_an_operation() -> None:
    tool = Tool()
    tool.plain = lambda x: "hijacked"  # type: ignore[method-assign]

    function, _ = resolve_operation(tool, "plain")

    assert 6 == function(3)


def test_methods_of_builtin_bases_are_not_operations() -> None:
    class DictTool(dict[str, int]):
        def total(self) -> int:
            return sum(self.values())

    with pytest.raises(OperationNotFoundError):
        resolve_operation(DictTool(), "clear")
    assert ["total"] == list(list_operations(DictTool()))


class Profile(pydantic.BaseModel):
    name: str

    def greet(self) -> str:
        return f"hello {self.name}"

    @operation
    def model_dump_json(self, **kwargs: Any) -> str:  # type: ignore[override]
        return super().model_dump_json()


class Worker(threading.Thread):
    def status(self) -> str:
        return "idle"


@pytest.mark.parametrize(
    ("tool", "name"),
    [
        (Profile(name="a"), "parse_file"),
        (Profile(name="a"), "model_validate"),
        (Profile(name="a"), "copy"),
        (Worker(), "start"),
        (Worker(), "run"),
        (Worker(), "join"),
    ],
)
def test_methods_inherited_from_another_packages_base_are_not_operations(
    tool: object, name: str
) -> None:
    with pytest.raises(OperationNotFoundError, match=f"{name!r} is inherited from"):
        resolve_operation(tool, name)


def test_the_error_for_an_inherited_method_names_its_class_and_the_way_out() -> None:
    with pytest.raises(OperationNotFoundError) as caught:
        resolve_operation(Profile(name="a"), "parse_file")

    message = str(caught.value)
    assert "pydantic.main.BaseModel" in message
    assert "@operation" in message


def test_a_third_party_subclass_exposes_only_what_its_author_wrote() -> None:
    assert ["greet", "model_dump_json"] == list(list_operations(Profile(name="a")))
    assert ["status"] == list(list_operations(Worker()))


def test_an_override_of_a_third_party_method_on_the_tool_is_an_operation() -> None:
    function, info = resolve_operation(Profile(name="a"), "model_dump_json")

    assert '{"name":"a"}' == function()
    assert Profile is info.owner


def test_a_marked_function_on_a_third_party_base_is_an_operation() -> None:
    # What a library shipping tool base classes does: its marked methods count.
    Foreign = type("Foreign", (), {"__module__": "elsewhere.tools", "ping": operation(_ping)})
    Local = type("Local", (Foreign,), {"__module__": __name__})

    assert "pong" == resolve_operation(Local(), "ping")[0]()


def _ping(self: object) -> str:
    return "pong"


def test_a_base_class_of_the_tools_own_package_contributes_operations() -> None:
    # Base lives in this test module, Tool in the same module: one package ("tests").
    Sub = type("Sub", (Tool,), {"__module__": "tests.another_module"})

    assert "inherited" == resolve_operation(Sub(), "inherited")[0]()
    assert 8 == resolve_operation(Sub(), "plain")[0](4)


def test_a_base_of_another_top_level_package_contributes_nothing_unmarked() -> None:
    Sub = type("Sub", (Tool,), {"__module__": "otherapp.tools"})

    with pytest.raises(OperationNotFoundError, match="'plain' is inherited from"):
        resolve_operation(Sub(), "plain")
    assert ["fetch", "send"] == list(list_operations(Sub()))


def test_classes_resolved_once_are_collected_when_unused() -> None:
    references: list[weakref.ref[type]] = []
    for index in range(1000):

        class Made(Base):
            offset = index

            def run(self, x: int) -> int:
                return x + self.offset

            def chained(self) -> str:
                return super().inherited()  # a __class__ cell refers to Made

        resolve_operation(Made(), "run")
        resolve_operation(Made(), "chained")
        list_operations(Made())
        references.append(weakref.ref(Made))
    del Made
    gc.collect()

    assert 1 >= sum(reference() is not None for reference in references)


def test_an_operation_info_outliving_its_class_says_so() -> None:
    class Short:
        def run(self) -> None:
            pass

    info = resolve_operation(Short(), "run")[1]
    del Short
    gc.collect()

    assert not info.alive
    with pytest.raises(ReferenceError, match="no longer exists"):
        info.bind(object())


def test_a_method_replaced_and_collected_is_resolved_again() -> None:
    class Changing:
        def run(self) -> str:
            return "old"

    assert "old" == resolve_operation(Changing(), "run")[0]()

    def run(self: Changing) -> str:
        return "new"

    Changing.run = run  # type: ignore[method-assign]
    del run
    gc.collect()

    assert "new" == resolve_operation(Changing(), "run")[0]()


def test_a_class_passed_as_tool_has_no_operations() -> None:
    with pytest.raises(OperationNotFoundError, match="has no operations"):
        resolve_operation(Tool, "plain")


def test_resolved_operations_are_bound_to_the_tool() -> None:
    tool = Tool()

    assert 8 == resolve_operation(tool, "plain")[0](4)
    assert 5 == resolve_operation(tool, "static")[0](4)
    assert "Tool" == resolve_operation(tool, "klass")[0]()
    assert "inherited" == resolve_operation(tool, "inherited")[0]()


def test_resolution_is_cached_per_class_and_name() -> None:
    first = resolve_operation(Tool(), "plain")[1]
    second = resolve_operation(Tool(), "plain")[1]

    assert first is second


def test_operation_info_describes_the_bound_signature_and_policy() -> None:
    info = list_operations(Tool())

    assert ["x"] == list(info["plain"].signature.parameters)
    assert ["x"] == list(info["static"].signature.parameters)
    assert [] == list(info["klass"].signature.parameters)
    assert "Double x." == info["plain"].summary
    assert info["fetch"].is_async
    assert not info["plain"].is_async
    assert OperationPolicy(idempotent=True, timeout=2.5) == info["fetch"].policy
    assert info["fetch"].marked
    assert not info["plain"].marked
    assert Base is info["inherited"].owner


# -- @operation ---------------------------------------------------------------------------


def test_unmarked_and_bare_marked_operations_are_neither_retried_nor_cached() -> None:
    info = list_operations(Tool())

    for name in ("plain", "send"):
        assert not info[name].policy.idempotent
        assert not info[name].policy.caches
        assert info[name].policy.timeout is None


def test_cacheable_defaults_to_idempotent_and_can_be_overridden() -> None:
    assert OperationPolicy(idempotent=True).caches
    assert not OperationPolicy(idempotent=True, cacheable=False).caches
    assert OperationPolicy(idempotent=False, cacheable=True).caches


def test_operation_returns_the_function_itself() -> None:
    def function(x: int) -> int:
        return x

    assert function is operation(function)
    assert function is operation(idempotent=True)(function)


def test_operation_works_over_and_under_staticmethod() -> None:
    class Either:
        @operation(idempotent=True)
        @staticmethod
        def over(x: int) -> int:
            return x

        @staticmethod
        @operation(idempotent=True)
        def under(x: int) -> int:
            return x

    info = list_operations(Either())

    assert info["over"].policy.idempotent
    assert info["under"].policy.idempotent


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_operation_refuses_a_bad_timeout(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        operation(timeout=timeout)


def test_operation_refuses_non_bool_flags_and_non_functions() -> None:
    with pytest.raises(TypeError, match="@operation: idempotent must be True or False"):
        operation(idempotent="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expects a function"):
        operation(functools.partial(print))


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("idempotent", 1, "idempotent must be True or False, got 1 of type int"),
        ("idempotent", None, "idempotent must be True or False, got None of type NoneType"),
        ("cacheable", "no", "cacheable must be True or False or None, got 'no' of type str"),
        ("timeout", "5", "timeout must be a finite number of seconds > 0 or None, got '5'"),
        ("timeout", True, "timeout must be a finite number of seconds > 0 or None, got True"),
    ],
)
def test_a_policy_argument_of_the_wrong_type_is_a_type_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as by_decorator:
        operation(**{argument: value})
    with pytest.raises(TypeError) as by_policy:
        OperationPolicy(**{argument: value})

    assert f"@operation: {expected}" in str(by_decorator.value)
    assert f"OperationPolicy: {expected}" in str(by_policy.value)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_a_policy_timeout_out_of_range_is_a_value_error_with_the_way_out(timeout: float) -> None:
    with pytest.raises(ValueError, match=r"^OperationPolicy: ") as caught:
        OperationPolicy(timeout=timeout)

    message = str(caught.value)
    assert message.startswith("OperationPolicy: timeout must be a finite number of seconds > 0")
    assert f"got {timeout!r} of type {type(timeout).__name__}" in message
    assert "timeout=None for the executor's default" in message


@pytest.mark.parametrize("tools", [[("a", 1)], "tools", 3])
def test_registry_refuses_tools_that_are_not_a_mapping(tools: object) -> None:
    with pytest.raises(TypeError) as caught:
        ToolRegistry(tools)  # type: ignore[arg-type]

    message = str(caught.value)
    assert message.startswith(
        "ToolRegistry: tools must be an instance of collections.abc.Mapping or None"
    )
    assert f"got {tools!r} of type {type(tools).__name__}" in message


def test_registry_refuses_a_mapping_whose_keys_cannot_name_tools() -> None:
    with pytest.raises(TypeError, match="a tool name must be a str, got 1 of type int"):
        ToolRegistry({1: Tool()})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="must be a Python identifier"):
        ToolRegistry({"two words": Tool()})


def test_private_names_are_never_operations_even_when_marked() -> None:
    class Marked:
        @operation(idempotent=True)
        def _hidden(self) -> None:
            raise AssertionError("ran")

    with pytest.raises(OperationNotFoundError, match="private"):
        resolve_operation(Marked(), "_hidden")


# -- registry -----------------------------------------------------------------------------


def test_registry_conforms_to_both_provider_protocols() -> None:
    assert isinstance(ToolRegistry(), IToolProvider)
    assert isinstance(ToolRegistry(), ITypedToolProvider)


def test_register_get_has_unregister() -> None:
    registry = ToolRegistry()
    tool = Tool()

    assert tool is registry.register("tool", tool)
    assert tool is registry.get_tool("tool")
    assert registry.has_tool("tool")
    assert tool is registry.unregister("tool")
    assert not registry.has_tool("tool")
    with pytest.raises(ToolNotFoundError):
        registry.get_tool("tool")


def test_constructor_registers_a_mapping() -> None:
    tool = Tool()

    registry = ToolRegistry({"a": tool, "b": Base()})

    assert ("a", "b") == registry.names()
    assert tool is registry.get_tool("a")
    assert 2 == len(registry)
    assert "a" in registry


def test_decorator_registers_instances_and_instantiates_classes() -> None:
    registry = ToolRegistry()

    @registry.register("made")
    class Made:
        def go(self) -> str:
            return "went"

    instance = registry.register("given")(Tool())

    assert isinstance(registry.get_tool("made"), Made)
    assert instance is registry.get_tool("given")


def test_registering_a_class_instead_of_an_instance_is_refused() -> None:
    with pytest.raises(TypeError, match=r"register Tool\(\) instead"):
        ToolRegistry().register("tool", Tool)


def test_duplicate_name_is_refused_with_a_way_out() -> None:
    registry = ToolRegistry({"tool": Tool()})

    with pytest.raises(ValueError, match=r"replace=True"):
        registry.register("tool", Base())


def test_replace_true_replaces() -> None:
    registry = ToolRegistry({"tool": Tool()})
    replacement = Base()

    registry.register("tool", replacement, replace=True)

    assert replacement is registry.get_tool("tool")


@pytest.mark.parametrize("name", ["", "a.b", "1tool", "with space", "tool-name"])
def test_names_that_are_not_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        ToolRegistry().register(name, Tool())


def test_non_string_names_are_refused() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        ToolRegistry().register(3, Tool())  # type: ignore[call-overload]


@given(st.text(max_size=12))
def test_validate_tool_name_accepts_exactly_identifiers(name: str) -> None:
    if name.isidentifier():
        assert name == validate_tool_name(name)
    else:
        with pytest.raises(ValueError, match="identifier"):
            validate_tool_name(name)


def test_unknown_tool_error_lists_known_names_bounded() -> None:
    registry = ToolRegistry({f"tool{i:02d}": Base() for i in range(50)})

    with pytest.raises(ToolNotFoundError) as caught:
        registry.get_tool("nothere")

    message = str(caught.value)
    assert "tool00" in message
    assert "and 30 more" in message
    assert "tool49" not in message
    assert isinstance(caught.value, LookupError)


def test_unknown_tool_error_suggests_close_names() -> None:
    with pytest.raises(ToolNotFoundError, match="did you mean 'calculator'"):
        ToolRegistry({"calculator": Base()}).get_tool("calculater")


def test_unregister_unknown_name_raises_tool_not_found() -> None:
    with pytest.raises(ToolNotFoundError):
        ToolRegistry().unregister("nothing")


def test_has_tool_is_false_for_unhashable_and_non_string_names() -> None:
    registry = ToolRegistry({"tool": Base()})

    assert not registry.has_tool([])  # type: ignore[arg-type]
    assert [] not in registry
    with pytest.raises(ToolNotFoundError):
        registry.get_tool([])  # type: ignore[arg-type]


def test_name_of_is_the_smallest_registered_name_of_that_object() -> None:
    tool = Tool()
    registry = ToolRegistry()
    registry.register("zeta", tool)
    registry.register("alpha", tool)
    registry.register("other", Tool())

    assert "alpha" == registry.name_of(tool)
    assert registry.name_of(Tool()) is None
    registry.unregister("alpha")
    assert "zeta" == registry.name_of(tool)


def test_lookups_do_not_touch_the_tool() -> None:
    registry = ToolRegistry({"tool": Tool()})

    registry.get_tool("tool")
    registry.has_tool("tool")
    registry.name_of(registry.get_tool("tool"))
    registry.describe()

    assert [] == Tool.touched


def test_operations_and_describe_list_each_tools_operations() -> None:
    registry = ToolRegistry({"tool": Tool(), "base": Base()})

    described = registry.describe()

    assert ["base", "tool"] == list(described)
    assert ["inherited", "overridden_by_property"] == list(described["base"])
    assert isinstance(registry.operations("tool")["fetch"], OperationInfo)


# -- entry points -------------------------------------------------------------------------


def _entry(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_discovery_registers_good_entry_points_and_reports_broken_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = ToolRegistry({"taken": Base()})
    entries = [
        _entry("klass", "tests.runtime.test_registry:Base"),  # a class: instantiated
        _entry("broken_import", "no_such_module_for_execproto:Tool"),
        _entry("missing_attribute", "tests.runtime.test_registry:NoSuchThing"),
        _entry("bad.name", "tests.runtime.test_registry:Base"),
        _entry("taken", "tests.runtime.test_registry:Base"),
        _entry("failing_constructor", "tests.runtime.test_registry:FailingTool"),
        _entry("ordered", "collections:OrderedDict"),
    ]

    with caplog.at_level(logging.WARNING, logger="execproto.runtime.registry"):
        result = registry.discover(entry_points=entries)

    assert ("klass", "ordered") == result.registered
    assert isinstance(registry.get_tool("klass"), Base)
    failed = {failure.name: failure for failure in result.failed}
    expected = {"broken_import", "missing_attribute", "bad.name", "taken", "failing_constructor"}
    assert expected == set(failed)
    assert isinstance(failed["broken_import"].error, ImportError)
    assert isinstance(failed["missing_attribute"].error, AttributeError)
    assert "no_such_module_for_execproto" in str(failed["broken_import"])
    assert isinstance(failed["failing_constructor"].error, RuntimeError)
    assert 5 == len([r for r in caplog.records if "entry point" in r.getMessage()])


def test_discovery_with_replace_replaces_existing_tools() -> None:
    registry = ToolRegistry({"taken": Tool()})

    result = registry.discover(
        entry_points=[_entry("taken", "tests.runtime.test_registry:Base")], replace=True
    )

    assert ("taken",) == result.registered
    assert type(registry.get_tool("taken")) is Base


def test_discovery_reads_the_installed_group_by_default() -> None:
    result = ToolRegistry().discover(group="execproto.tests.no_such_group")

    assert ((), ()) == (result.registered, result.failed)


# -- concurrency --------------------------------------------------------------------------


def test_threads_hammering_register_unregister_and_lookups() -> None:
    registry = ToolRegistry({"stable": Base()})
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(index: int) -> None:
        start.wait()
        for round_ in range(300):
            name = f"w{index}_{round_ % 7}"
            try:
                registry.register(name, Base())
                assert registry.has_tool(name)
                registry.unregister(name)
            except BaseException as err:
                errors.append(err)

    def reader() -> None:
        start.wait()
        for _ in range(2000):
            try:
                assert isinstance(registry.get_tool("stable"), Base)
                for name in registry.names():
                    # The tool may be gone by now; it must never be half there.
                    if registry.has_tool(name):
                        with contextlib.suppress(ToolNotFoundError):
                            registry.get_tool(name)
            except BaseException as err:
                errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [] == errors
    assert ("stable",) == registry.names()


def test_concurrent_duplicate_registration_lets_exactly_one_win() -> None:
    registry = ToolRegistry()
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contender() -> None:
        start.wait()
        try:
            registry.register("only", Base())
            result = "won"
        except ValueError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ["refused"] * 7 + ["won"] == sorted(outcomes)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["register", "unregister"]),
            st.sampled_from(["a", "b", "c", "d"]),
        ),
        max_size=20,
    )
)
def test_registry_behaves_like_a_dict(steps: list[tuple[str, str]]) -> None:
    registry = ToolRegistry()
    model: dict[str, object] = {}
    for action, name in steps:
        if action == "register":
            tool = Base()
            if name in model:
                with pytest.raises(ValueError, match="already registered"):
                    registry.register(name, tool)
            else:
                registry.register(name, tool)
                model[name] = tool
        elif name in model:
            assert model.pop(name) is registry.unregister(name)
        else:
            with pytest.raises(ToolNotFoundError):
                registry.unregister(name)
        assert tuple(sorted(model)) == registry.names()
        for probe in "abcd":
            assert (probe in model) == registry.has_tool(probe)


def test_keywords_are_identifiers_and_allowed() -> None:
    # "class" cannot be written as tool.class in Python, but a spec string can name it.
    assert keyword.iskeyword("class")
    assert "class" == validate_tool_name("class")


class Picklable:
    def ping(self) -> str:
        return "pong"


def test_a_registry_pickles_with_its_tools() -> None:
    registry = ToolRegistry({"b": Picklable(), "a": Picklable()})

    copy = pickle.loads(pickle.dumps(registry))

    assert ("a", "b") == copy.names()
    assert "pong" == resolve_operation(copy.get_tool("a"), "ping")[0]()
    assert "a" == copy.name_of(copy.get_tool("a"))
    copy.register("c", Picklable())
    assert ("a", "b") == registry.names()
