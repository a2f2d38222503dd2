# Types for the untyped ``vendor_executors`` package (examples/vendor_executors), written by
# its users rather than its authors. Nothing here imports execproto: conformance to the
# execution interfaces is structural, and typecheck/ proves it.
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CountingExecutor",
    "DictToolbox",
    "JsonKeyCache",
    "LegacyExecutor",
    "ReflectingExecutor",
]

class DictToolbox:
    def __init__(self, tools: Mapping[str, object] | None = None) -> None: ...
    def get_tool(self, tool_name: str) -> object: ...
    def has_tool(self, tool_name: str) -> bool: ...

class ReflectingExecutor:
    def execute(self, target: Any, name: str, /, **params: Any) -> Any: ...
    async def execute_async(self, target: Any, name: str, /, **params: Any) -> Any: ...

class CountingExecutor:
    calls: int
    def __init__(self) -> None: ...
    def execute(self, tool: object, operation_name: str, /, **params: object) -> int: ...
    async def execute_async(
        self, tool: object, operation_name: str, /, **params: object
    ) -> int: ...

class LegacyExecutor:
    calls: int
    def __init__(self) -> None: ...
    def execute(self, tool: object, operation_name: str, /, **params: object) -> int: ...
    def execute_async(self, tool: object, operation_name: str, /, **params: object) -> int: ...

class JsonKeyCache:
    maxsize: int
    def __init__(self, maxsize: int = 1024) -> None: ...
    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str: ...
    def get_from_cache(self, cache_key: str) -> Any | None: ...
    def add_to_cache(self, cache_key: str, value: Any) -> None: ...
