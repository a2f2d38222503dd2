"""execproto: the execution layer's contract for AI applications.

Structural protocols for the five AIECS execution interfaces (:mod:`execproto.protocols`),
their generic typed variants (:mod:`execproto.typed`), the models and errors they exchange
(:mod:`execproto.models`, :mod:`execproto.errors`), conformance checks, and reference
implementations. This module only re-exports public names.
"""

from __future__ import annotations

from execproto._version import __version__ as __version__
from execproto.conformance import (
    ConformanceReport,
    Problem,
    ProblemKind,
    check,
    check_version,
    clear_cache,
    conforms,
    ensure,
    implements,
)
from execproto.context import (
    AttemptCounter,
    ExecutionContext,
    current_context,
    execution_context,
    record_attempt,
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
    failure_status,
)
from execproto.models import ErrorCode, OperationItem, TaskItem, TaskStatus, TaskStepResult
from execproto.protocols import (
    ExecutionInterface,
    ICacheProvider,
    IOperationExecutor,
    IToolExecutor,
    IToolProvider,
)
from execproto.runtime.cache import (
    CacheStats,
    MemoryCacheProvider,
    SupportsAsyncLookup,
    SupportsLookup,
)
from execproto.runtime.engine import ExecutionEngine, TaskRunner, available_engines, load_engine
from execproto.runtime.executor import (
    NONBLOCKING_CACHE_ATTRIBUTE,
    ExecutionMonitor,
    RetryPolicy,
    ToolExecutor,
)
from execproto.runtime.keys import KeyFunction, canonical_bytes, make_cache_key
from execproto.runtime.monitoring import MetricsCollector, Monitor, monitor_execution, tool_call_id
from execproto.runtime.operations import OperationExecutor, parse_operation_spec, validate_plan
from execproto.runtime.registry import (
    DiscoveryResult,
    OperationInfo,
    OperationPolicy,
    ToolRegistry,
    list_operations,
    operation,
    resolve_operation,
)
from execproto.runtime.schemas import (
    OperationSchema,
    operation_schema,
    parameters_schema,
    registry_schemas,
)
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
    "AttemptCounter",
    "CacheKeyError",
    "CacheStats",
    "ConformanceError",
    "ConformanceReport",
    "DiscoveryResult",
    "EngineNotFoundError",
    "ErrorCode",
    "ExecutionContext",
    "ExecutionEngine",
    "ExecutionError",
    "ExecutionInterface",
    "ExecutionMonitor",
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
    "KeyFunction",
    "MemoryCacheProvider",
    "MetricsCollector",
    "Monitor",
    "NONBLOCKING_CACHE_ATTRIBUTE",
    "OperationCancelledError",
    "OperationExecutor",
    "OperationInfo",
    "OperationItem",
    "OperationNotFoundError",
    "OperationPolicy",
    "OperationSchema",
    "OperationTimeoutError",
    "Problem",
    "ProblemKind",
    "ReferenceResolutionError",
    "RetryExhaustedError",
    "RetryPolicy",
    "SupportsAsyncLookup",
    "SupportsLookup",
    "TaskItem",
    "TaskNotFoundError",
    "TaskRunner",
    "TaskStatus",
    "TaskStepResult",
    "ToolExecutor",
    "ToolNotFoundError",
    "ToolRegistry",
    "VersionedInterface",
    "available_engines",
    "canonical_bytes",
    "check",
    "check_version",
    "clear_cache",
    "conforms",
    "current_context",
    "ensure",
    "execution_context",
    "failure_status",
    "implements",
    "list_operations",
    "load_engine",
    "make_cache_key",
    "monitor_execution",
    "operation",
    "operation_schema",
    "parameters_schema",
    "parse_operation_spec",
    "record_attempt",
    "registry_schemas",
    "resolve_operation",
    "tool_call_id",
    "validate_plan",
]
