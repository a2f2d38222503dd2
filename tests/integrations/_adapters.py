"""What the agent-framework adapter tests share: a registry of tools, arguments from a schema.

No framework is imported here: each test module skips on its own when its framework is
missing.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import jsonschema
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from execproto.runtime.executor import RetryPolicy
from execproto.runtime.registry import ToolRegistry, operation

#: The OpenAI function-name rule every ``to_*`` tool name must follow.
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Calculator:
    """execproto operations for the ``to_*`` direction; counts what ran, and where."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: list[str] = []
        self.flaky_failures = 1

    def multiply(self, a: int, b: int = 3) -> int:
        """Multiply two integers."""
        self.calls.append("multiply")
        self.threads.append(threading.current_thread().name)
        return a * b

    async def negate(self, value: int) -> int:
        """Negate an integer."""
        self.calls.append("negate")
        return -value

    @operation(idempotent=True)
    def square(self, x: int) -> int:
        """Square an integer (idempotent: cached and retried)."""
        self.calls.append("square")
        return x * x

    @operation(idempotent=True)
    def flaky(self, x: int) -> int:
        """Fail with a ConnectionError the first time, then echo."""
        self.calls.append("flaky")
        if self.flaky_failures:
            self.flaky_failures -= 1
            raise ConnectionError("the service is restarting")
        return x

    @operation(timeout=0.05)
    async def slow(self) -> str:
        """Take longer than its timeout."""
        await asyncio.sleep(5)
        return "late"

    def configure(self, config: str, run_manager: str = "none", callbacks: int = 0) -> str:
        """Take parameters whose names LangChain also uses for its own arguments."""
        return f"{config}/{run_manager}/{callbacks}"

    def crash(self) -> None:
        """Raise an error of the operation itself."""
        raise KeyError("the operation's own error")


def calculator_registry() -> tuple[ToolRegistry, Calculator]:
    calculator = Calculator()
    return ToolRegistry({"calc": calculator}), calculator


def no_wait_retries() -> RetryPolicy:
    return RetryPolicy(base_delay=0, jitter="none")


class NamelessProvider:
    """An IToolProvider that cannot list its tools (no ``names()``)."""

    def __init__(self, tools: dict[str, object]) -> None:
        self._tools = tools

    def get_tool(self, tool_name: str) -> object:
        return self._tools[tool_name]

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self._tools


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Return arguments for the required properties of *schema* that the schema accepts."""
    samples = {"integer": 2, "number": 1.5, "string": "x", "boolean": True, "array": []}
    properties: dict[str, Any] = schema.get("properties", {})
    arguments = {
        name: samples.get(properties[name].get("type", "string"), "x")
        for name in schema.get("required", [])
    }
    jsonschema.validate(arguments, schema)
    return arguments


def span_recorder() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
