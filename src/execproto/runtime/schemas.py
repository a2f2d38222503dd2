"""JSON Schemas of operations, in the shape model providers and MCP use for tool calling.

Every operation of a tool can be described as a function a model may call: a name, a
description (the operation's docstring) and a JSON Schema of its parameters, derived from
its signature and annotations (with pydantic when it is installed)::

    registry = ToolRegistry({"web": WebSearch()})
    [schema.function() for schema in registry_schemas(registry)]
    # [{"name": "web.search", "description": "Return the ...",
    #   "parameters": {"type": "object", "properties": {"query": {"type": "string"},
    #                  "limit": {"type": "integer", "default": 3}},
    #                  "required": ["query"], "additionalProperties": false}}]

:meth:`OperationSchema.mcp_tool` gives the MCP form (``inputSchema``),
:meth:`OperationSchema.openai_tool` the ``{"type": "function", "function": ...}`` form.

**Agreement with the executor.** The schema describes exactly the parameters
:class:`~execproto.runtime.executor.ToolExecutor` binds: keyword parameters (positional-only ones
and ``*args`` cannot be passed by name, so they are left out), the ones without a default
are ``required``, unknown names are refused (``additionalProperties: false``) unless the
operation takes ``**kwargs``. Types come from the same annotations the executor validates
with pydantic, so every input the schema accepts, the executor accepts. The executor is
*lax* where the schema is not: it also converts what pydantic's lax mode converts (a numeric
string or a bool for a number, an integral float for an integer, ``0``/``1`` or
``"true"``/``"yes"``-style strings for a bool). The schema states what callers should send.

A parameter annotated ``Any``, left unannotated, or whose annotations cannot be resolved
has the empty schema ``{}`` (anything), as the executor does not check it either; so does a
parameter whose type has no JSON form (an arbitrary class), which JSON callers cannot pass.

An operation function may carry its own schema in the attribute named by
:data:`INPUT_SCHEMA_ATTRIBUTE` (operations generated from a remote MCP tool do); it is then
used as is.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
import types
import typing
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import typing_extensions

from execproto.capabilities import SchemaSource
from execproto.runtime._resolution import OperationInfo, list_operations, resolve_operation

__all__ = [
    "INPUT_SCHEMA_ATTRIBUTE",
    "OperationSchema",
    "operation_schema",
    "parameters_schema",
    "registry_schemas",
]

_log = logging.getLogger(__name__)

#: The attribute an operation function may set to a JSON Schema of its parameters, used
#: instead of one derived from its signature.
INPUT_SCHEMA_ATTRIBUTE = "__execproto_input_schema__"

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@dataclass(frozen=True, slots=True)
class OperationSchema:
    """One operation described for tool calling: name, description, JSON Schema of parameters.

    ``name`` is what a model calls (``"tool.operation"`` by default); ``tool`` and
    ``operation`` say which operation it stands for. ``parameters`` is a JSON Schema
    (draft 2020-12) object; treat it as read-only (each call of :func:`operation_schema`
    returns a fresh copy).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    tool: str
    operation: str

    def function(self) -> dict[str, Any]:
        """Return ``{"name", "description", "parameters"}``: the function-calling form."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def mcp_tool(self) -> dict[str, Any]:
        """Return ``{"name", "description", "inputSchema"}``: an MCP tool definition."""
        return {"name": self.name, "description": self.description, "inputSchema": self.parameters}

    def openai_tool(self) -> dict[str, Any]:
        """Return ``{"type": "function", "function": {...}}``, the OpenAI tools form.

        OpenAI function names allow only letters, digits, ``_`` and ``-``: build the schemas
        with ``registry_schemas(registry, separator="__")`` for it.
        """
        return {"type": "function", "function": self.function()}


# Per operation function, its schema; weak keys so that functions of collected classes go.
_schemas: weakref.WeakKeyDictionary[Callable[..., Any], dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
_schemas_lock = threading.Lock()


def parameters_schema(info: OperationInfo) -> dict[str, Any]:
    """Return the JSON Schema of the parameters of the operation *info* describes.

    A fresh copy each call: the caller may change it. See the module docstring for what it
    contains and how it agrees with the executor's validation.
    """
    try:
        schema = _schemas[info.function]
    except KeyError:
        schema = _build_parameters_schema(info)
        with _schemas_lock:
            schema = _schemas.setdefault(info.function, schema)
    return copy.deepcopy(schema)


def operation_schema(
    tool: object,
    operation_name: str,
    *,
    name: str | None = None,
    tool_name: str | None = None,
) -> OperationSchema:
    """Describe *tool*'s operation *operation_name* for tool calling.

    *tool_name* is the tool's registered name (default: its class name); *name* the name
    the model calls (default ``"<tool_name>.<operation_name>"``). The description is the
    operation's docstring (cleaned with :func:`inspect.getdoc`), or its name when it has
    none.

    Raises:
        OperationNotFoundError: *operation_name* is not an operation of *tool*.
    """
    label = tool_name if tool_name is not None else type(tool).__name__
    _, info = resolve_operation(tool, operation_name, tool_label=label)
    return _describe(info, label, name if name is not None else f"{label}.{info.name}")


def registry_schemas(registry: SchemaSource, *, separator: str = ".") -> list[OperationSchema]:
    """Describe every operation of every tool of *registry*, sorted by tool then operation.

    Names are ``tool + separator + operation``. ``"."`` matches the operation spec of
    :meth:`~execproto.runtime.operations.OperationExecutor.execute_operation` and is valid in MCP;
    OpenAI function names need another separator, e.g. ``"__"``.

    Raises:
        ValueError: *separator* is empty or two operations would get the same name.
    """
    if not separator:
        raise ValueError(
            "separator must be a non-empty string, got ''; use '.' (MCP) or '__' (OpenAI)"
        )
    described: list[OperationSchema] = []
    seen: dict[str, tuple[str, str]] = {}
    for tool_name in sorted(registry.names()):
        tool: object = registry.get_tool(tool_name)
        for info in list_operations(tool).values():
            name = f"{tool_name}{separator}{info.name}"
            if name in seen:
                raise ValueError(
                    f"{tool_name}.{info.name} and {'.'.join(seen[name])} would both be called "
                    f"{name!r} with separator {separator!r}; choose a separator that cannot "
                    f"occur in tool names, such as '.'"
                )
            seen[name] = (tool_name, info.name)
            described.append(_describe(info, tool_name, name))
    return described


def _describe(info: OperationInfo, tool_name: str, name: str) -> OperationSchema:
    description = inspect.getdoc(info.function) or ""
    return OperationSchema(
        name=name,
        description=description.strip() or f"{tool_name}.{info.name}",
        parameters=parameters_schema(info),
        tool=tool_name,
        operation=info.name,
    )


def _build_parameters_schema(info: OperationInfo) -> dict[str, Any]:
    own: object = info.function.__dict__.get(INPUT_SCHEMA_ATTRIBUTE)
    if isinstance(own, dict):
        return copy.deepcopy(typing.cast("dict[str, Any]", own))
    parameters = info.signature.parameters.values()
    keyword = [parameter for parameter in parameters if parameter.kind in _KEYWORD_KINDS]
    typed, definitions = _typed_properties(info, keyword)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in keyword:
        prop: dict[str, Any] = dict(typed.get(parameter.name, {}))
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif _is_json_value(parameter.default):
            prop["default"] = parameter.default
        properties[parameter.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)
    schema["additionalProperties"] = takes_any
    if definitions:
        schema["$defs"] = definitions
    return schema


def _typed_properties(
    info: OperationInfo, keyword: Sequence[inspect.Parameter]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Return the JSON Schema of each annotated parameter, and the shared ``$defs``.

    The same annotations as the executor's validator (``executor._build_validator``) are
    used, resolved the same way, so schema and validation cannot drift apart.
    """
    try:
        # typing_extensions' version: on 3.10 typing's adds Optional[...] to every parameter
        # whose default is None, so the schema would differ between Python versions.
        hints = typing_extensions.get_type_hints(info.function, include_extras=True)
    except Exception as err:
        _log.debug("no parameter types for %s: %r", info.function.__qualname__, err)
        return {}, {}
    fields = {
        parameter.name: hints[parameter.name]
        for parameter in keyword
        if parameter.name in hints and hints[parameter.name] is not Any
    }
    if not fields:
        return {}, {}
    try:
        import pydantic
        from pydantic.json_schema import GenerateJsonSchema
    except ImportError:
        return {name: _plain_schema(hint) for name, hint in fields.items()}, {}
    from typing_extensions import TypedDict

    class _Lenient(GenerateJsonSchema):
        # A type with no JSON form (an arbitrary class) gets {} instead of failing the
        # whole operation's schema.
        def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> Any:
            return {}

    make_typed_dict: Any = TypedDict
    params_type: Any = make_typed_dict(f"{info.name}_parameters", fields, total=False)
    params_type.__pydantic_config__ = pydantic.ConfigDict(arbitrary_types_allowed=True)
    try:
        generated: dict[str, Any] = pydantic.TypeAdapter(params_type).json_schema(
            schema_generator=_Lenient
        )
    except Exception as err:
        # The executor skips validation when it cannot build the adapter: so does the schema.
        _log.debug("no parameter types for %s: %r", info.function.__qualname__, err)
        return {}, {}
    properties: dict[str, dict[str, Any]] = generated.get("properties", {})
    for name, prop in properties.items():
        # pydantic titles every field with its name; the name already says it.
        if prop.get("title") == name.replace("_", " ").title():
            del prop["title"]
    return properties, generated.get("$defs", {})


_PLAIN: dict[object, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _plain_schema(hint: object) -> dict[str, Any]:
    """A schema for the common annotations, for when pydantic is not installed."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _plain_schema(args[0])
    if hint is None:
        return {"type": "null"}
    if origin is typing.Literal and all(_is_json_value(arg) for arg in args):
        return {"enum": list(args)}
    if origin is typing.Union or isinstance(hint, types.UnionType):
        return {"anyOf": [_plain_schema(arg) for arg in args]}
    if origin in (list, tuple, set, frozenset, Sequence) and args and args[-1] is not Ellipsis:
        return {"type": "array", "items": _plain_schema(args[0])}
    base = origin if origin is not None else hint
    kind = _PLAIN.get(base)
    return {} if kind is None else {"type": kind}


def _is_json_value(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            return False
        return True
    if isinstance(value, (list, tuple, dict)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return False
        return True
    return False
