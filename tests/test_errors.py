"""The exception tree: one root, codes, builtin bases."""

from __future__ import annotations

import asyncio

import pytest

import execproto.errors as errors
from execproto import ErrorCode, ExecutionError, TaskStatus
from execproto.errors import failure_status


@pytest.mark.parametrize(
    ("error", "builtin", "code"),
    [
        (errors.InvalidOperationError, ValueError, ErrorCode.VALIDATION_ERROR),
        (errors.OperationNotFoundError, LookupError, ErrorCode.VALIDATION_ERROR),
        (errors.ReferenceResolutionError, ValueError, ErrorCode.VALIDATION_ERROR),
        (errors.ToolNotFoundError, LookupError, ErrorCode.VALIDATION_ERROR),
        (errors.EngineNotFoundError, LookupError, ErrorCode.VALIDATION_ERROR),
        (errors.TaskNotFoundError, LookupError, ErrorCode.VALIDATION_ERROR),
        (errors.CacheKeyError, TypeError, ErrorCode.VALIDATION_ERROR),
        (errors.ConformanceError, TypeError, ErrorCode.VALIDATION_ERROR),
        (errors.OperationTimeoutError, TimeoutError, ErrorCode.TIMEOUT_ERROR),
        (errors.OperationCancelledError, ExecutionError, ErrorCode.CANCELLED_ERROR),
        (errors.RetryExhaustedError, ExecutionError, ErrorCode.RETRY_EXHAUSTED),
    ],
)
def test_error_has_root_builtin_and_code(
    error: type[ExecutionError], builtin: type[Exception], code: ErrorCode
) -> None:
    assert issubclass(error, ExecutionError)
    assert issubclass(error, builtin)
    assert code is error.code


def test_every_error_in_module_is_listed_and_drawn_in_docstring() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, ExecutionError)
    }
    assert sorted(classes) == sorted(set(errors.__all__) - {"failure_status"})
    doc = errors.__doc__ or ""
    assert [] == [name for name in classes if name not in doc]


def test_root_code_is_execution_error() -> None:
    assert ErrorCode.EXECUTION_ERROR is ExecutionError.code


def test_conformance_error_carries_report() -> None:
    report = object()
    error = errors.ConformanceError("does not conform", report)
    assert report is error.report
    assert "does not conform" == str(error)


def test_retry_exhausted_keeps_attempts_and_cause() -> None:
    cause = ConnectionError("reset")
    with pytest.raises(errors.RetryExhaustedError) as info:
        raise errors.RetryExhaustedError("3 attempts failed", attempts=3) from cause
    assert 3 == info.value.attempts
    assert cause is info.value.__cause__


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncio.CancelledError(), (TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR)),
        (errors.OperationCancelledError("x"), (TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR)),
        (errors.OperationTimeoutError("x"), (TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR)),
        (TimeoutError("socket"), (TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR)),
        (errors.InvalidOperationError("x"), (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR)),
        (errors.RetryExhaustedError("x", 3), (TaskStatus.FAILED, ErrorCode.RETRY_EXHAUSTED)),
        (ZeroDivisionError(), (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR)),
    ],
)
def test_failure_status_maps_errors_to_status_and_code(
    error: BaseException, expected: tuple[TaskStatus, ErrorCode]
) -> None:
    assert expected == failure_status(error)
