"""execproto: the execution layer's contract for AI applications.

The five AIECS execution interfaces as structural protocols (:mod:`execproto.protocols`),
their generic typed variants (:mod:`execproto.typed`), the models and errors they exchange
(:mod:`execproto.models`, :mod:`execproto.errors`), conformance checks
(:mod:`execproto.conformance`), and the reference runtime (:mod:`execproto.runtime`). This
module only re-exports what a user calls; plumbing (the optional protocols of
:mod:`execproto.capabilities`, key encoding, operation resolution, ...) stays importable from
its own module.
"""

from __future__ import annotations

from execproto._version import __version__ as __version__
from execproto.conformance import (
    ConformanceReport,
    Problem,
    ProblemKind,
    check,
    check_version,
    conforms,
    ensure,
    implements,
)
from execproto.context import (
    ExecutionContext,
    current_context,
    execution_context,
    tool_call_id,
)
from execproto.errors import (
    CacheKeyError,
    ConformanceError,
    EngineNotFoundError,
    ExecutionError,
    InvalidOperationError,
    OperationCancelledError,
    OperationNotFoundError,
    OperationTimeoutError,
    ReferenceResolutionError,
    RetryExhaustedError,
    TaskNotFoundError,
    ToolNotFoundError,
)
from execproto.models import ErrorCode, OperationItem, TaskItem, TaskStatus, TaskStepResult
from execproto.protocols import (
    ExecutionInterface,
    ICacheProvider,
    IOperationExecutor,
    IToolExecutor,
    IToolProvider,
)
from execproto.runtime.cache import MemoryCacheProvider
from execproto.runtime.engine import ExecutionEngine, available_engines
from execproto.runtime.executor import RetryPolicy, ToolExecutor
from execproto.runtime.keys import make_cache_key
from execproto.runtime.metrics import MetricsCollector
from execproto.runtime.monitoring import Monitor, monitor_execution
from execproto.runtime.operations import OperationExecutor, validate_plan
from execproto.runtime.registry import ToolRegistry, operation
from execproto.runtime.schemas import OperationSchema, operation_schema, registry_schemas
from execproto.typed import (
    IAsyncCacheProvider,
    IAsyncContextExecutor,
    ITypedCacheProvider,
    ITypedOperationExecutor,
    ITypedToolExecutor,
    ITypedToolProvider,
    VersionedInterface,
)

__all__ = [
    "CacheKeyError",
    "ConformanceError",
    "ConformanceReport",
    "EngineNotFoundError",
    "ErrorCode",
    "ExecutionContext",
    "ExecutionEngine",
    "ExecutionError",
    "ExecutionInterface",
    "IAsyncCacheProvider",
    "IAsyncContextExecutor",
    "ICacheProvider",
    "IOperationExecutor",
    "IToolExecutor",
    "IToolProvider",
    "ITypedCacheProvider",
    "ITypedOperationExecutor",
    "ITypedToolExecutor",
    "ITypedToolProvider",
    "InvalidOperationError",
    "MemoryCacheProvider",
    "MetricsCollector",
    "Monitor",
    "OperationCancelledError",
    "OperationExecutor",
    "OperationItem",
    "OperationNotFoundError",
    "OperationSchema",
    "OperationTimeoutError",
    "Problem",
    "ProblemKind",
    "ReferenceResolutionError",
    "RetryExhaustedError",
    "RetryPolicy",
    "TaskItem",
    "TaskNotFoundError",
    "TaskStatus",
    "TaskStepResult",
    "ToolExecutor",
    "ToolNotFoundError",
    "ToolRegistry",
    "VersionedInterface",
    "available_engines",
    "check",
    "check_version",
    "conforms",
    "current_context",
    "ensure",
    "execution_context",
    "implements",
    "make_cache_key",
    "monitor_execution",
    "operation",
    "operation_schema",
    "registry_schemas",
    "tool_call_id",
    "validate_plan",
]
