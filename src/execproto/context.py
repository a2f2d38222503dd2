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
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["ExecutionContext", "current_context", "execution_context"]


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
