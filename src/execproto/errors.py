"""The exceptions execproto raises, under one root.

::

    ExecutionError (Exception)                   E003, the root; .code on every class
    ├── InvalidOperationError (ValueError)       E001 malformed spec, bad parameters
    │   ├── OperationNotFoundError (LookupError) E001 no such operation on the tool
    │   └── ReferenceResolutionError             E001 bad "$result[N].path" reference
    ├── ToolNotFoundError (LookupError)          E001 no tool registered under the name
    ├── EngineNotFoundError (LookupError)        E001 no engine / executor under the name
    ├── TaskNotFoundError (LookupError)          E001 no task registered under the name
    ├── CacheKeyError (TypeError)                E001 a value has no canonical encoding
    ├── ConformanceError (TypeError)             E001 an object does not conform
    ├── OperationTimeoutError (TimeoutError)     E002 an attempt ran past its timeout
    ├── OperationCancelledError                  E004 the operation was cancelled
    └── RetryExhaustedError                      E005 every allowed attempt failed

Each subclass also inherits the builtin exception a caller would naturally catch, so
``except LookupError`` or ``except TimeoutError`` keeps working. The error a tool raised is
never replaced: it reaches the caller as itself or as the ``__cause__`` of one of these.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from execproto.models import ErrorCode, TaskStatus

if TYPE_CHECKING:
    # For annotations only. _report imports nothing from execproto, so there is no cycle
    # for the checkers; at run time, importing it would first run conformance/__init__,
    # whose checks import this module.
    from execproto.conformance._report import ConformanceReport

__all__ = [
    "CacheKeyError",
    "ConformanceError",
    "EngineNotFoundError",
    "ExecutionError",
    "InvalidOperationError",
    "OperationCancelledError",
    "OperationNotFoundError",
    "OperationTimeoutError",
    "ReferenceResolutionError",
    "RetryExhaustedError",
    "TaskNotFoundError",
    "ToolNotFoundError",
    "failure_status",
]


class ExecutionError(Exception):
    """Root of every execproto error; ``code`` says which AIECS error code it maps to."""

    code: ClassVar[ErrorCode] = ErrorCode.EXECUTION_ERROR


class InvalidOperationError(ExecutionError, ValueError):
    """An operation was requested in a form that cannot run: bad spec or parameters."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR


class OperationNotFoundError(InvalidOperationError, LookupError):
    """The tool has no operation of that name (or the name is not an operation)."""


class ReferenceResolutionError(InvalidOperationError):
    """A ``"$result[N].path"`` reference in a sequence cannot be resolved."""


class ToolNotFoundError(ExecutionError, LookupError):
    """No tool is registered under the requested name."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR


class EngineNotFoundError(ExecutionError, LookupError):
    """No execution engine or executor is registered under the requested name."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR


class TaskNotFoundError(ExecutionError, LookupError):
    """No task is registered under the requested name."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR


class CacheKeyError(ExecutionError, TypeError):
    """A cache key was requested for a value that has no canonical encoding."""

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR


class ConformanceError(ExecutionError, TypeError):
    """An object does not conform to a protocol; ``report`` lists every problem.

    ``report`` is the :class:`~execproto.conformance.ConformanceReport` that was checked.
    """

    code: ClassVar[ErrorCode] = ErrorCode.VALIDATION_ERROR

    def __init__(self, message: str, report: ConformanceReport | None = None) -> None:
        super().__init__(message)
        self.report: ConformanceReport | None = report


class OperationTimeoutError(ExecutionError, TimeoutError):
    """An attempt of an operation ran longer than its timeout."""

    code: ClassVar[ErrorCode] = ErrorCode.TIMEOUT_ERROR


class OperationCancelledError(ExecutionError):
    """The operation was cancelled before it finished."""

    code: ClassVar[ErrorCode] = ErrorCode.CANCELLED_ERROR


class RetryExhaustedError(ExecutionError):
    """Every allowed attempt failed; ``__cause__`` is the last attempt's error.

    ``attempts`` is the number of attempts made.
    """

    code: ClassVar[ErrorCode] = ErrorCode.RETRY_EXHAUSTED

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def failure_status(error: BaseException) -> tuple[TaskStatus, ErrorCode]:
    """Return the step status and error code that *error* stands for.

    Cancellation (:class:`asyncio.CancelledError` or :class:`OperationCancelledError`) is
    ``cancelled``/E004; any :class:`TimeoutError` is ``timed_out``/E002; an
    :class:`ExecutionError` is ``failed`` with its own ``code``; anything else a tool raised is
    ``failed``/E003.
    """
    if isinstance(error, (asyncio.CancelledError, OperationCancelledError)):
        return TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR
    if isinstance(error, TimeoutError):
        return TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR
    if isinstance(error, ExecutionError):
        return TaskStatus.FAILED, error.code
    return TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR
