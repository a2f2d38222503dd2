"""Data passed through the execution layer: statuses, error codes, step results, plan items.

The values of :class:`TaskStatus` and :class:`ErrorCode` are those of the AIECS models, so
results serialised by one side are read by the other.
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from typing_extensions import NotRequired, Self, TypedDict

__all__ = [
    "ErrorCode",
    "OperationItem",
    "TaskItem",
    "TaskStatus",
    "TaskStepResult",
]


class TaskStatus(str, Enum):
    """The state of a task or of one step of it."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    FAILED = "failed"

    def __str__(self) -> str:
        # The ``str`` mixin's ``__str__`` differs between 3.10 and 3.11+; the value is what
        # every version should print.
        return self.value


class ErrorCode(str, Enum):
    """Why a step failed (AIECS codes E001-E007)."""

    VALIDATION_ERROR = "E001"
    TIMEOUT_ERROR = "E002"
    EXECUTION_ERROR = "E003"
    CANCELLED_ERROR = "E004"
    RETRY_EXHAUSTED = "E005"
    DATABASE_ERROR = "E006"
    DSL_EVALUATION_ERROR = "E007"

    def __str__(self) -> str:
        return self.value


class OperationItem(TypedDict):
    """One item of an operation plan.

    ``operation`` is a spec ``"tool.operation"``; ``params`` its keyword arguments, which in a
    sequence may hold ``"$result[N].path"`` references to earlier steps. ``id`` and
    ``depends_on`` turn a plan into a DAG: an item runs after the items it depends on and is
    skipped when one of them failed.
    """

    operation: str
    params: NotRequired[dict[str, Any]]
    id: NotRequired[str]
    depends_on: NotRequired[list[str]]


class TaskItem(TypedDict):
    """One item of a task batch: the task's registered name, its input and its context."""

    task_name: str
    input_data: NotRequired[dict[str, Any]]
    context: NotRequired[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TaskStepResult:
    """The outcome of one step (operation) of a task. Immutable.

    ``status`` and ``error_code`` accept the enum members or their string values (the seed
    passes ``TaskStatus.COMPLETED.value``); they are always stored as enum members.
    ``duration`` is the wall time of the step in seconds, ``attempts`` how many times the
    operation was started (0 when it never ran, e.g. a skipped step).

    Raises:
        ValueError: an unknown status or error code, or a negative or non-finite duration or
            attempt count.
    """

    step: str
    result: Any = None
    completed: bool = False
    message: str = ""
    status: TaskStatus = TaskStatus.PENDING
    error_code: ErrorCode | None = None
    error_message: str | None = None
    duration: float = 0.0
    attempts: int = 0

    def __post_init__(self) -> None:
        # ``object.__setattr__``: the instance is frozen, and coercion must happen once here.
        # The executor passes members already; only other values (strings) need coercing.
        if type(self.status) is not TaskStatus:
            object.__setattr__(self, "status", TaskStatus(self.status))
        if self.error_code is not None and type(self.error_code) is not ErrorCode:
            object.__setattr__(self, "error_code", ErrorCode(self.error_code))
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(
                f"duration must be a finite number of seconds >= 0, got {self.duration!r}"
            )
        if self.attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {self.attempts!r}")

    @property
    def failed(self) -> bool:
        """Whether the step ended without completing (failed, timed out, cancelled)."""
        return self.status in _UNSUCCESSFUL

    def dict(self) -> builtins.dict[str, Any]:
        """Return the result as a plain dict; enums become their string values."""
        return {
            "step": self.step,
            "result": self.result,
            "completed": self.completed,
            "message": self.message,
            "status": self.status.value,
            "error_code": None if self.error_code is None else self.error_code.value,
            "error_message": self.error_message,
            "duration": self.duration,
            "attempts": self.attempts,
        }

    def json(self, **dumps_kwargs: Any) -> str:
        """Return the result as JSON (``result`` must be JSON-serialisable).

        Raises:
            TypeError: ``result`` cannot be encoded as JSON.
        """
        return json.dumps(self.dict(), **dumps_kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a result from the output of :meth:`dict` (unknown keys are an error).

        Raises:
            TypeError: *data* has keys that are not fields, or lacks ``step``.
            ValueError: an unknown status or error code.
        """
        unknown = set(data) - _FIELD_NAMES
        if unknown:
            raise TypeError(
                f"unknown TaskStepResult field(s) {sorted(unknown)!r}; "
                f"expected a subset of {sorted(_FIELD_NAMES)!r}"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Build a result from the output of :meth:`json`.

        Raises:
            TypeError: the JSON is not an object of result fields.
            ValueError: malformed JSON, or an unknown status or error code.
        """
        data = json.loads(text)
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        return cls.from_dict(_str_keyed(data))  # pyright: ignore[reportUnknownArgumentType]


_UNSUCCESSFUL = frozenset({TaskStatus.FAILED, TaskStatus.TIMED_OUT, TaskStatus.CANCELLED})
_FIELD_NAMES = frozenset(f.name for f in fields(TaskStepResult) if f.init)


def _str_keyed(data: Mapping[Any, Any]) -> builtins.dict[str, Any]:
    return {str(key): value for key, value in data.items()}
