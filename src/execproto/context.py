"""Every context variable of execproto: who runs what, and the tool call being made.

:class:`ExecutionContext` says who runs what: a user and one of their tasks.

Executors read the current context to scope cache keys and to label metrics and spans, so a
result computed for one user's task is never served to another. The context follows the
code that runs it: it is inherited by tasks created with :func:`asyncio.create_task` and by
:func:`asyncio.to_thread`, and left behind when the ``with`` block exits::

    with execution_context(user_id="u1", task_id="t1"):
        await executor.execute_async(tool, "search", query="x")

:class:`CallContext` holds the facts of one tool call (its id, how many attempts it took),
which travel together from the operation executor to the tool executor and the monitor.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = [
    "CallContext",
    "ExecutionContext",
    "current_call",
    "current_context",
    "enter_call",
    "execution_context",
    "exit_call",
    "tool_call_id",
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


class CallContext:
    """The facts of the tool call being made, for whoever needs them along the way.

    One per logical call: an operation executor opens one around each plan step (with the
    item's ``id``, or its index, as ``call_id``); :func:`tool_call_id` opens one for a caller
    that holds the id a model gave the call. The tool executor raises ``attempts`` as each
    retry starts, so the step can report how many attempts it took without the
    :class:`~execproto.protocols.IToolExecutor` protocol having to return it; a monitor puts
    ``call_id`` on its span. Outside any call, :func:`current_call` returns ``None``.

    ``claimed`` is set by the first tracked tool execution inside the call: tool executions
    nested inside it (a tool that runs other tools) do not inherit its ``call_id``.
    """

    __slots__ = ("attempts", "call_id", "claimed")

    def __init__(self, call_id: str | None = None) -> None:
        self.call_id: str | None = call_id
        self.attempts: int = 1
        self.claimed: bool = False

    def __repr__(self) -> str:
        return f"CallContext(call_id={self.call_id!r}, attempts={self.attempts})"


_current_call: ContextVar[CallContext | None] = ContextVar("execproto_current_call", default=None)


def current_call() -> CallContext | None:
    """Return the tool call in progress in this context, or ``None`` outside any."""
    return _current_call.get()


def enter_call(call: CallContext) -> Token[CallContext | None]:
    """Make *call* the current call; pass the returned token to :func:`exit_call`.

    A pair of functions rather than a context manager: the operation executor opens one per
    plan step, where a generator-based ``with`` would cost more than the rest of the step.
    """
    return _current_call.set(call)


def exit_call(token: Token[CallContext | None]) -> None:
    """Restore the call that was current before the matching :func:`enter_call`."""
    _current_call.reset(token)


@contextmanager
def tool_call_id(call_id: str) -> Generator[CallContext, None, None]:
    """Run the ``with`` block as the tool call *call_id* (the id a model gave the call).

    For callers that hold the id of a model's tool call (``call_abc123``) but run the tool
    through an executor whose protocol has no parameter for it::

        with tool_call_id(call.id):
            result = await executor.execute_async(tool, call.name, **call.arguments)

    The first tool execution tracked by a monitor inside the block puts it on its span as
    ``gen_ai.tool.call.id``; tool executions nested inside that one do not inherit it.

    Raises:
        TypeError: *call_id* is not a non-empty str.
    """
    if not isinstance(call_id, str) or not call_id:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"call_id must be a non-empty str, got {call_id!r} of type {type(call_id).__name__}"
        )
    call = CallContext(call_id)
    token = _current_call.set(call)
    try:
        yield call
    finally:
        _current_call.reset(token)
