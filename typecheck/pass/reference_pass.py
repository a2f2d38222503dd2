"""execproto's reference implementations conform to the protocols they implement.

Assignability is checked through parameters typed as the concrete classes, so these lines do
not depend on the constructors' signatures.
"""

from __future__ import annotations

from execproto.protocols import (
    ExecutionInterface,
    ICacheProvider,
    IOperationExecutor,
    IToolExecutor,
    IToolProvider,
)
from execproto.runtime.cache import MemoryCacheProvider
from execproto.runtime.engine import ExecutionEngine
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.operations import OperationExecutor
from execproto.runtime.registry import ToolRegistry
from execproto.typed import IAsyncCacheProvider, ITypedToolProvider


def registry(tools: ToolRegistry) -> tuple[IToolProvider, ITypedToolProvider[object]]:
    return tools, tools


def executor(tool_executor: ToolExecutor) -> IToolExecutor:
    return tool_executor


def cache(memory: MemoryCacheProvider) -> tuple[ICacheProvider, IAsyncCacheProvider]:
    return memory, memory


def operations(operation_executor: OperationExecutor) -> IOperationExecutor:
    return operation_executor


def engine(execution_engine: ExecutionEngine) -> tuple[ExecutionInterface, IOperationExecutor]:
    return execution_engine, execution_engine
