"""The execution context (who runs what): user and task, carried in :mod:`contextvars`.

Executors read the current context to scope cache keys and to label metrics and spans, so a
result computed for one user's task is never served to another. The context follows the
code that runs it: it is inherited by tasks created with :func:`asyncio.create_task` and by
:func:`asyncio.to_thread`, and left behind when the ``with`` block exits::

    with execution_context(user_id="u1", task_id="t1"):
        await executor.execute_async(tool, "search", query="x")
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = [
    "AttemptCounter",
    "ExecutionContext",
    "current_context",
    "execution_context",
    "record_attempt",
]


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Who an execution runs for: a user and one of their tasks.

    The empty string means "unknown"; a cache shared between users must treat it as a
    scope of its own, never as a wildcard.
    """

    user_id: str = ""
    task_id: str = ""

    def __post_init__(self) -> None:
        for name in ("user_id", "task_id"):
            value: object = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(
                    f"{name} must be a str, got {value!r} of type {type(value).__name__}; "
                    f"convert identifiers with str() before passing them"
                )


_EMPTY = ExecutionContext()
_current: ContextVar[ExecutionContext] = ContextVar("execproto_execution_context", default=_EMPTY)


def current_context() -> ExecutionContext:
    """Return the execution context in force (an empty one outside any ``with`` block)."""
    return _current.get()


@contextmanager
def execution_context(
    *, user_id: str = "", task_id: str = ""
) -> Generator[ExecutionContext, None, None]:
    """Run the ``with`` block as *user_id*'s task *task_id*; restore the outer context after.

    Raises:
        TypeError: *user_id* or *task_id* is not a string.
    """
    context = ExecutionContext(user_id=user_id, task_id=task_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class AttemptCounter:
    """Counts the attempts of the operations run inside its ``with`` block.

    An operation executor opens one around each step; a tool executor that retries calls
    :func:`record_attempt` as each attempt starts, so the step can report how many attempts
    it took (``TaskStepResult.attempts``) without the :class:`~execproto.IToolExecutor`
    protocol having to return it. ``attempts`` stays 1 when nothing reports a retry.
    """

    __slots__ = ("_token", "attempts")

    def __init__(self) -> None:
        self.attempts: int = 1
        self._token: Token[AttemptCounter | None] | None = None

    def __enter__(self) -> AttemptCounter:
        self._token = _attempt_counter.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _attempt_counter.reset(self._token)
            self._token = None


_attempt_counter: ContextVar[AttemptCounter | None] = ContextVar(
    "execproto_attempt_counter", default=None
)


def record_attempt(attempt: int) -> None:
    """Report that attempt number *attempt* (from 1) of the current operation is starting.

    A no-op outside an :class:`AttemptCounter` block; executors call it only for retries.
    """
    counter = _attempt_counter.get()
    if counter is not None:
        counter.attempts = attempt
