"""TaskStatus, ErrorCode and TaskStepResult."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execproto import ErrorCode, TaskStatus, TaskStepResult


def test_status_values_match_aiecs() -> None:
    expected = ["pending", "running", "completed", "cancelled", "timed_out", "failed"]
    assert expected == [status.value for status in TaskStatus]


def test_error_code_values_match_aiecs() -> None:
    expected = {
        "VALIDATION_ERROR": "E001",
        "TIMEOUT_ERROR": "E002",
        "EXECUTION_ERROR": "E003",
        "CANCELLED_ERROR": "E004",
        "RETRY_EXHAUSTED": "E005",
        "DATABASE_ERROR": "E006",
        "DSL_EVALUATION_ERROR": "E007",
    }
    assert expected == {code.name: code.value for code in ErrorCode}


def test_enums_print_as_their_values() -> None:
    assert "timed_out" == str(TaskStatus.TIMED_OUT)
    assert "E002" == f"{ErrorCode.TIMEOUT_ERROR}"


def test_seed_style_string_values_are_coerced_to_enums() -> None:
    result = TaskStepResult(
        step="calc.add",
        result=None,
        completed=False,
        message="failed",
        status=TaskStatus.FAILED.value,
        error_code=ErrorCode.EXECUTION_ERROR.value,
        error_message="boom",
    )
    assert TaskStatus.FAILED is result.status
    assert ErrorCode.EXECUTION_ERROR is result.error_code
    assert result.failed


def test_enum_members_are_stored_as_given() -> None:
    result = TaskStepResult(
        step="calc.add", status=TaskStatus.TIMED_OUT, error_code=ErrorCode.TIMEOUT_ERROR
    )
    assert (TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR) == (result.status, result.error_code)


def test_unknown_string_status_is_still_rejected() -> None:
    with pytest.raises(ValueError, match="'done'"):
        TaskStepResult(step="calc.add", status="done")  # type: ignore[arg-type]


def test_step_result_is_immutable() -> None:
    result = TaskStepResult(step="a.b", completed=True, status=TaskStatus.COMPLETED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.completed = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("status", "done", "'done' is not a valid TaskStatus"),
        ("error_code", "E999", "'E999' is not a valid ErrorCode"),
        ("duration", -1.0, "duration must be a finite number"),
        ("duration", float("nan"), "duration must be a finite number"),
        ("attempts", -1, "attempts must be >= 0"),
    ],
)
def test_invalid_fields_are_rejected(field: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TaskStepResult(step="a.b", **{field: value})


def test_dict_has_plain_values() -> None:
    result = TaskStepResult(
        step="a.b",
        result={"x": [1, 2]},
        completed=True,
        message="ok",
        status=TaskStatus.COMPLETED,
        duration=0.25,
        attempts=2,
    )
    expected = {
        "step": "a.b",
        "result": {"x": [1, 2]},
        "completed": True,
        "message": "ok",
        "status": "completed",
        "error_code": None,
        "error_message": None,
        "duration": 0.25,
        "attempts": 2,
    }
    assert expected == result.dict()
    assert expected == json.loads(result.json())


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown TaskStepResult field\(s\) \['colour'\]"):
        TaskStepResult.from_dict({"step": "a.b", "colour": "red"})


def test_from_json_rejects_non_objects() -> None:
    with pytest.raises(TypeError, match="expected a JSON object, got list"):
        TaskStepResult.from_json("[1, 2]")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(
    step=st.text(min_size=1),
    result=_json_values,
    completed=st.booleans(),
    message=st.text(),
    status=st.sampled_from(TaskStatus),
    error_code=st.none() | st.sampled_from(ErrorCode),
    error_message=st.none() | st.text(),
    duration=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    attempts=st.integers(min_value=0, max_value=100),
)
def test_json_round_trip(
    step: str,
    result: Any,
    completed: bool,
    message: str,
    status: TaskStatus,
    error_code: ErrorCode | None,
    error_message: str | None,
    duration: float,
    attempts: int,
) -> None:
    original = TaskStepResult(
        step, result, completed, message, status, error_code, error_message, duration, attempts
    )
    assert original == TaskStepResult.from_json(original.json())
    assert original == TaskStepResult.from_dict(original.dict())
