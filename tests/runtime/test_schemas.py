"""JSON Schemas of operations: shape, sources, and agreement with the executor's validation."""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from examples import tools as example_tools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from execproto.errors import InvalidOperationError, OperationNotFoundError
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.registry import ToolRegistry, list_operations, operation, resolve_operation
from execproto.runtime.schemas import (
    INPUT_SCHEMA_ATTRIBUTE,
    OperationSchema,
    operation_schema,
    parameters_schema,
    registry_schemas,
)


def _examples() -> ToolRegistry:
    registry = ToolRegistry()
    example_tools.register(registry)
    return registry


class Unresolvable:
    def run(self, item: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
        """Take an item whose type cannot be resolved."""


class Opaque:
    pass


class Varied:
    """A tool with every kind of parameter the schema must handle."""

    def keyword_only(self, *, name: str, count: int = 2, ratio: float | None = None) -> None:
        """Take keyword-only parameters."""

    def open_ended(self, topic: str, **extra: Any) -> None:
        """Take any further keyword."""

    def positional(self, first: int, /, second: int, *rest: int) -> None:
        """Mix positional-only, normal and star parameters."""

    def described(  # type: ignore[no-untyped-def]
        self,
        city: Annotated[str, Field(description="the city to look up")],
        unit: Literal["c", "f"] = "c",
        anything: Any = None,
        bare=3,
    ) -> None:
        """Look a city up."""

    def opaque(self, thing: Opaque) -> None:
        """Take a value with no JSON form."""

    def undocumented(self, flag: bool) -> None:
        pass

    @staticmethod
    def static(value: list[int]) -> None:
        """A static operation."""


def test_example_search_is_described_with_its_docstring_types_defaults_and_required() -> None:
    expected = {
        "name": "web.search",
        "description": 'Return the *limit* best hits for *query* as ``{"query", "hits": [...]}``.',
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 3}},
            "required": ["query"],
            "additionalProperties": False,
        },
    }
    assert (
        expected
        == operation_schema(_examples().get_tool("web"), "search", tool_name="web").function()
    )


def test_registry_schemas_cover_every_operation_sorted_by_tool_then_operation() -> None:
    expected = [
        "rates.convert",
        "report.compose",
        "text.analyze",
        "text.summarize",
        "web.search",
    ]
    assert expected == [schema.name for schema in registry_schemas(_examples())]


def test_every_example_schema_is_a_valid_draft_2020_12_schema() -> None:
    for schema in registry_schemas(_examples()):
        jsonschema.Draft202012Validator.check_schema(schema.parameters)


def test_the_three_output_forms_carry_the_same_schema() -> None:
    schema = OperationSchema("t.op", "Do it.", {"type": "object"}, "t", "op")
    assert {"name": "t.op", "description": "Do it.", "inputSchema": {"type": "object"}} == (
        schema.mcp_tool()
    )
    assert {"type": "function", "function": schema.function()} == schema.openai_tool()
    assert {"type": "object"} == schema.function()["parameters"]


def test_a_separator_other_than_a_dot_names_openai_compatible_functions() -> None:
    names = [schema.name for schema in registry_schemas(_examples(), separator="__")]
    assert "web__search" in names


def test_an_empty_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="separator"):
        registry_schemas(_examples(), separator="")


def test_a_separator_that_makes_two_names_equal_is_refused() -> None:
    class A:
        def b_c(self) -> None:
            """One."""

    class AB:
        def c(self) -> None:
            """Two."""

    registry = ToolRegistry({"a": A(), "a_b": AB()})
    with pytest.raises(ValueError, match="'a_b_c'"):
        registry_schemas(registry, separator="_")


def test_keyword_only_parameters_with_optional_types_are_described() -> None:
    schema = operation_schema(Varied(), "keyword_only").parameters
    assert ["name"] == schema["required"]
    assert {"type": "integer", "default": 2} == schema["properties"]["count"]
    assert {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None} == (
        schema["properties"]["ratio"]
    )


def test_var_keyword_operations_accept_additional_properties() -> None:
    schema = operation_schema(Varied(), "open_ended").parameters
    assert True is schema["additionalProperties"]
    assert ["topic"] == list(schema["properties"])


def test_positional_only_and_star_args_are_left_out_because_they_cannot_be_named() -> None:
    schema = operation_schema(Varied(), "positional").parameters
    assert ["second"] == list(schema["properties"])
    assert ["second"] == schema["required"]


def test_field_descriptions_literals_any_and_unannotated_parameters() -> None:
    properties = operation_schema(Varied(), "described").parameters["properties"]
    assert {"type": "string", "description": "the city to look up"} == properties["city"]
    assert "c" == properties["unit"]["default"]
    assert ["c", "f"] == properties["unit"]["enum"]
    assert {"default": None} == properties["anything"]
    assert {"default": 3} == properties["bare"]


def test_a_type_without_json_form_gets_the_empty_schema() -> None:
    assert {} == operation_schema(Varied(), "opaque").parameters["properties"]["thing"]


def test_unresolvable_annotations_give_untyped_properties_like_the_executor() -> None:
    schema = operation_schema(Unresolvable(), "run").parameters
    assert {"item": {}} == schema["properties"]
    assert ["item"] == schema["required"]


def test_static_operations_keep_their_first_parameter() -> None:
    schema = operation_schema(Varied(), "static").parameters
    assert {"type": "array", "items": {"type": "integer"}} == schema["properties"]["value"]


def test_an_operation_without_docstring_is_described_by_its_name() -> None:
    assert "Varied.undocumented" == operation_schema(Varied(), "undocumented").description


def test_the_description_is_the_whole_cleaned_docstring() -> None:
    description = operation_schema(_examples().get_tool("rates"), "convert").description
    assert description.startswith("Convert *amount* US dollars to *currency*.\n\nRaises:\n")


def test_an_explicit_name_replaces_tool_dot_operation() -> None:
    assert "lookup" == operation_schema(Varied(), "keyword_only", name="lookup").name


def test_an_unknown_operation_raises_operation_not_found() -> None:
    with pytest.raises(OperationNotFoundError, match="no operation 'nope'"):
        operation_schema(Varied(), "nope")


def test_an_operation_may_carry_its_own_schema() -> None:
    own = {"type": "object", "properties": {"x-y": {"type": "string"}}, "required": ["x-y"]}

    class Remote:
        async def call(self, **arguments: Any) -> Any:
            """A remote tool."""

    setattr(Remote.call, INPUT_SCHEMA_ATTRIBUTE, own)
    assert own == operation_schema(Remote(), "call").parameters


def test_each_call_returns_a_fresh_copy() -> None:
    _, info = resolve_operation(Varied(), "keyword_only")
    first = parameters_schema(info)
    first["properties"].clear()
    assert "name" in parameters_schema(info)["properties"]


def test_without_pydantic_common_annotations_still_get_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Plain:
        def run(
            self,
            n: int,
            names: list[str],
            mode: Literal["a", "b"],
            maybe: float | None = None,
            raw: Opaque | None = None,
        ) -> None:
            """Run."""

    monkeypatch.setitem(sys.modules, "pydantic", None)
    properties = operation_schema(Plain(), "run").parameters["properties"]
    assert {"type": "integer"} == properties["n"]
    assert {"type": "array", "items": {"type": "string"}} == properties["names"]
    assert {"enum": ["a", "b"]} == properties["mode"]
    assert {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None} == properties["maybe"]
    assert {"anyOf": [{}, {"type": "null"}], "default": None} == properties["raw"]


# -- agreement with the executor -------------------------------------------------------------
#
# The executor's verdict is taken on a probe: a tool whose operations have the example
# tools' very signatures and annotations (functools.wraps) but do nothing, so thousands of
# verdicts cost no sleeping and no flaky service.


def _probe(tool: object) -> object:
    namespace: dict[str, Any] = {}
    for name, info in list_operations(tool).items():

        @functools.wraps(info.function)
        def noop(self: object, *args: Any, **kwargs: Any) -> None:
            return None

        namespace[name] = noop
    return type(f"Probe{type(tool).__name__}", (), namespace)()


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
_JSON = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)

# Values of the wrong JSON type that pydantic's lax mode does not convert either: the
# conversions it does make are pinned separately below.
_WRONG: dict[str, list[Any]] = {
    "integer": [None, "abc", [], {}, [1], 1.5],
    "number": [None, "abc", [], {}, [1.5]],
    "string": [None, 5, 1.5, True, [], {}, ["a"]],
    "boolean": [None, "maybe not", [], {}, 2, 0.5],
    "array": [None, "abc", 5, {}, True],
    "object": [None, "abc", 5, [], True],
}


def _valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "anyOf" in schema:
        return st.one_of([_valid(option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(-(10**6), 10**6)
    if kind == "number":
        return st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "string":
        return st.text(max_size=8)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_valid(schema.get("items", {})), max_size=3)
    if kind == "object":
        values = schema.get("additionalProperties", True)
        return st.dictionaries(
            st.text(max_size=4), _valid(values) if isinstance(values, dict) else _JSON, max_size=3
        )
    return _JSON


@st.composite
def _inputs(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Parameters drawn from *schema*: valid, or broken in one way the schema can see."""
    properties: dict[str, Any] = schema["properties"]
    required: list[str] = schema.get("required", [])
    params = {
        name: draw(_valid(prop))
        for name, prop in properties.items()
        if name in required or draw(st.booleans())
    }
    mutation = draw(st.sampled_from(["none", "drop", "extra", "wrong"]))
    if mutation == "drop" and required:
        del params[draw(st.sampled_from(required))]
    elif mutation == "extra":
        unknown = draw(st.text(min_size=1, max_size=6).filter(lambda key: key not in properties))
        params[unknown] = draw(_JSON)
    elif mutation == "wrong" and params:
        name = draw(st.sampled_from(sorted(params)))
        params[name] = draw(st.sampled_from(_WRONG[properties[name]["type"]]))
    return params


def _executor_accepts(
    executor: ToolExecutor, tool: object, name: str, params: dict[str, Any]
) -> bool:
    try:
        executor.execute(tool, name, **params)
    except InvalidOperationError:
        return False
    return True


_CASES = [
    (schema, _probe(_examples().get_tool(schema.tool))) for schema in registry_schemas(_examples())
]


@pytest.mark.parametrize(("schema", "probe"), _CASES, ids=[schema.name for schema, _ in _CASES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_executor_accepts_exactly_what_the_schema_accepts(
    schema: OperationSchema, probe: object, data: st.DataObject
) -> None:
    params = data.draw(_inputs(schema.parameters))
    schema_verdict = jsonschema.Draft202012Validator(schema.parameters).is_valid(params)
    with ToolExecutor() as executor:
        assert schema_verdict == _executor_accepts(executor, probe, schema.operation, params)


@pytest.mark.parametrize(
    ("tool", "name", "params"),
    [
        ("web", "search", {"query": "q", "limit": "5"}),
        ("rates", "convert", {"amount": True, "currency": "EUR"}),
        ("web", "search", {"query": "q", "limit": True}),
        ("rates", "convert", {"amount": "12.5", "currency": "EUR"}),
    ],
)
def test_lax_conversions_are_the_documented_way_the_executor_accepts_more(
    tool: str, name: str, params: dict[str, Any]
) -> None:
    schema = operation_schema(_examples().get_tool(tool), name, tool_name=tool)
    probe = _probe(_examples().get_tool(tool))
    with ToolExecutor() as executor:
        assert (False, True) == (
            jsonschema.Draft202012Validator(schema.parameters).is_valid(params),
            _executor_accepts(executor, probe, name, params),
        )


def test_the_probe_agrees_with_the_real_tool() -> None:
    # The agreement test is only as good as the probe: it must validate like the real tool.
    registry = _examples()
    probe = _probe(registry.get_tool("text"))
    with ToolExecutor() as executor:
        for params in (
            {"texts": "not a list", "keywords": []},
            {"texts": [], "keywords": [], "x": 1},
        ):
            with pytest.raises(InvalidOperationError):
                executor.execute(registry.get_tool("text"), "summarize", **params)
            assert False is _executor_accepts(executor, probe, "summarize", params)


def test_an_idempotent_marked_operation_is_described_like_any_other() -> None:
    class Marked:
        @operation(idempotent=True)
        async def fetch(self, key: str) -> str:
            """Fetch a key."""
            return key

    assert ["key"] == operation_schema(Marked(), "fetch").parameters["required"]


def test_registry_schemas_method_matches_the_function() -> None:
    registry = ToolRegistry()
    example_tools.register(registry)
    assert [s.function() for s in registry_schemas(registry, separator="__")] == [
        s.function() for s in registry.schemas(separator="__")
    ]
    assert "web.search" in [s.name for s in registry.schemas()]
