"""A third party's tool executors: no annotations, no ``py.typed``, no execproto import.

This package stands for the code execproto users meet in the wild: it was written before
(or without knowing about) the execution interfaces, so it cannot inherit from them and ships
no types. ``stubs/vendor_executors-stubs`` describes it (PEP 561 stub-only package), and
``typecheck/`` proves through those stubs that its classes conform to the protocols
structurally; ``stubtest`` keeps the stubs honest about this runtime code.
"""

import asyncio
import hashlib
import json

__all__ = [
    "CountingExecutor",
    "DictToolbox",
    "JsonKeyCache",
    "LegacyExecutor",
    "ReflectingExecutor",
]


class DictToolbox:
    """Tools kept in a plain dict, looked up by name."""

    def __init__(self, tools=None):
        self._tools = dict(tools or {})

    def get_tool(self, tool_name):
        try:
            return self._tools[tool_name]
        except KeyError:
            raise LookupError(
                f"no tool named {tool_name!r}; known: {sorted(self._tools)}"
            ) from None

    def has_tool(self, tool_name):
        return tool_name in self._tools


class ReflectingExecutor:
    """Calls ``getattr(tool, name)(**params)``; runs sync operations in a worker thread."""

    def execute(self, target, name, /, **params):
        return getattr(target, name)(**params)

    async def execute_async(self, target, name, /, **params):
        method = getattr(target, name)
        if asyncio.iscoroutinefunction(method):
            return await method(**params)
        return await asyncio.to_thread(method, **params)


class CountingExecutor:
    """Counts how many operations it was asked to run; returns the running count."""

    def __init__(self):
        self.calls = 0

    def execute(self, tool, operation_name, /, **params):
        self.calls += 1
        return self.calls

    async def execute_async(self, tool, operation_name, /, **params):
        return self.execute(tool, operation_name, **params)


class LegacyExecutor:
    """Predates asyncio: its ``execute_async`` is an ordinary function returning a count."""

    def __init__(self):
        self.calls = 0

    def execute(self, tool, operation_name, /, **params):
        self.calls += 1
        return self.calls

    def execute_async(self, tool, operation_name, /, **params):
        return self.execute(tool, operation_name, **params)


class JsonKeyCache:
    """A dict cache of at most ``maxsize`` entries, keyed by SHA-256 digests of sorted JSON."""

    def __init__(self, maxsize=1024):
        self.maxsize = maxsize
        self._data = {}

    def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs):
        payload = [operation_type, user_id, task_id, list(args), kwargs]
        encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()

    def get_from_cache(self, cache_key):
        return self._data.get(cache_key)

    def add_to_cache(self, cache_key, value):
        if len(self._data) >= self.maxsize:
            self._data.pop(next(iter(self._data)))
        self._data[cache_key] = value
