"""Run operations named ``"tool.operation"``: one, a batch, a sequence, in parallel, as a DAG.

:class:`OperationExecutor` is built from any :class:`~execproto.protocols.IToolProvider` (finds
tools by name) and any :class:`~execproto.protocols.IToolExecutor` (runs one operation of one
tool), plus a concurrency limit::

    executor = OperationExecutor(registry, ToolExecutor(), max_concurrency=10)
    steps = await executor.execute_operations_sequence(
        [
            {"operation": "search.query", "params": {"text": "protocols"}},
            {"operation": "text.summarise", "params": {"doc": "$result[0].hits.0"}},
        ],
        user_id="u1",
        task_id="t1",
    )

What every mode guarantees:

* **One concurrency limit.** Every tool call, whatever the mode, holds one slot of a
  semaphore that belongs to the executor, so two batches running at once stay within
  ``max_concurrency`` *together*. Items waiting for a slot or for their dependencies hold
  none.
* **Input order.** Results come back one per input item, in input order.
* **No bare exceptions in step results.** In sequence, parallel and DAG runs a failure
  becomes a :class:`~execproto.models.TaskStepResult` whose ``status`` and ``error_code``
  come from :func:`~execproto.errors.failure_status` (E001 validation, E002 timeout, E003
  execution, E004 cancelled, E005 retries exhausted), with ``duration`` and ``attempts``.
  :meth:`OperationExecutor.batch_execute_operations` keeps the seed's semantics: a result or
  the exception object, per item.
* **Nothing computed is lost.** A raising ``save_callback`` does not discard the step's
  result (see below), and ``on_step`` reports every finished step as it finishes, so a
  caller whose run is cancelled still holds every completed step::

      finished: dict[int, TaskStepResult] = {}
      task = asyncio.create_task(executor.execute_parallel_operations(ops, on_step=finished.__setitem__))
      ...
      task.cancel()  # `finished` keeps every step that completed, and the in-flight ones as cancelled

Plan items (:class:`~execproto.models.OperationItem`) are mappings with ``operation`` (the
spec), optional ``params``, ``id`` and ``depends_on``; any other key is refused (a typo such as
``"param"`` would otherwise be silently ignored). A malformed item fails its own step with
E001; :func:`validate_plan` reports every problem of a plan at once, before anything runs.

**References.** In a sequence, a parameter value that is a string starting with ``$result[``
is a reference to an earlier step's result: ``$result[N]`` followed by any number of path
segments ``.name`` or ``[i]``. References are resolved anywhere inside nested lists and dicts
of ``params`` (dict keys are never resolved). The rules, each there to stop a defect of the
AIECS implementation:

* ``N`` counts from 0 (the position of the item in the plan) and must name a step that has
  finished before the referring one starts: no negative index, no forward reference. In a
  plain sequence that is an earlier position; in a DAG it is an item the referring item
  depends on, directly or transitively, wherever it sits in the plan (any other item may
  not have run yet).
* A path segment looks up a key of a mapping (``.name``) or an index of a list or tuple
  (``.0`` or ``[0]``). Nothing else: no attribute access at all, so no getattr side effect
  and no way from ``$result[0].__init__.__globals__`` to module globals. Segments starting
  with ``_`` are refused outright, even as dict keys. (Public dataclass fields are *not*
  reachable either: convert results to dicts if you want to reach into them.)
* The whole string must be one reference; ``"see $result[0]"`` is a plain string.
* A reference that cannot be resolved (malformed, out of range, to a failed step, missing
  key) fails the referring step with E001
  (:class:`~execproto.errors.ReferenceResolutionError`) and the tool is **not called**.

Batch and parallel items run independently of each other, so in them every reference fails
with E001 rather than being passed on as a literal string. :meth:`execute_operation` takes
its ``params`` literally.

**DAG.** When any item of a sequence or parallel run has ``id`` or ``depends_on``, the run is a
DAG: an item starts once every item it depends on has completed, independent branches run
concurrently (within the limit), and results still come back in input order. Unknown ids,
duplicate ids, an item depending on itself and cycles fail the affected items with E001 before
anything runs. The dependants of an item that did not complete are *skipped*: status
``cancelled`` with E004 and ``attempts == 0`` (they never started, so ``failed`` would
suggest the tool raised), and a message that names the upstream item.

**save_callback** (sequence and DAG runs): ``save_callback(user_id, task_id, index,
step_result)``, sync or async, is called once for every step the executor tried to run
(completed or failed, including E001 failures such as a bad reference), after it finished and
before any step that depends on it starts; never for steps that did not start (skipped
dependants, steps after ``stop_on_failure``, the items of a malformed DAG). If it raises, the
step result is kept with its ``result`` intact and ``completed`` still true (the operation did
return that result) but becomes ``failed`` with E006 (``DATABASE_ERROR``: the step ran but
could not be saved) and an ``error_message`` that names the callback's error. The run is never
aborted by a callback, so nothing already computed is lost.

One rule decides what follows a step, in every mode: its ``status``. Only a ``completed``
*status* lets the run build on a step; ``completed=True`` alone only says the operation
returned. So an unsaved (E006) step is a failure everywhere: it triggers ``stop_on_failure``,
its DAG dependants are skipped (E004), and a ``$result[N]`` reference to it in a sequence
fails the referring step with E001 without calling its tool. A later step never builds on a
result that is not saved.

**stop_on_failure**: after the first step that did not complete, no further step starts;
every step that did not start is reported as ``cancelled`` (E004, ``attempts == 0``) naming
the failed step, so the result list still has one entry per item.

**Cancellation.** Cancelling the task that awaits a run cancels the steps in flight and
propagates :class:`asyncio.CancelledError` (as asyncio code expects). Steps that completed
before were already passed to ``save_callback`` and ``on_step``; each step in flight is
reported to ``on_step`` as ``cancelled`` (E004) before the error propagates.

Sequence and DAG runs happen inside :func:`execproto.context.execution_context` for the
given user and task, so caches and metrics of the tool executor are scoped to them.

**Monitoring.** Built with ``monitor=`` (an :class:`execproto.runtime.monitoring.Monitor`, normally
the same one the tool executor was given), the executor records what only it knows; the
tool executor's monitor still records each tool execution (its ``execute_tool`` span and
call metrics), so nothing is counted or traced twice:

* each run of a plan (sequence, parallel, DAG, batch; not :meth:`~OperationExecutor.
  execute_operation`, which is one tool execution) gets one ``invoke_workflow`` span, the
  parent of its steps' ``execute_tool`` spans, with the mode, the number of steps and, at
  the end, how many completed (see :meth:`execproto.runtime.monitoring.Monitor.track_plan`);
* every step is counted by operation and outcome (``"completed"``, ``"failed E003"``,
  ``"cancelled E004"``), including steps that never reached the tool;
* each item's ``id`` (or, without one, its index as a string) becomes the
  ``gen_ai.tool.call.id`` of its tool span, through the current
  :class:`~execproto.context.CallContext`, so any tool executor that tracks with that
  monitor picks it up.

Without a monitor none of this costs anything but the step's call context: no span, no counter.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from execproto.capabilities import StepCallback
from execproto.context import CallContext, enter_call, execution_context, exit_call
from execproto.errors import (
    InvalidOperationError,
    ReferenceResolutionError,
    RetryExhaustedError,
    ToolNotFoundError,
    failure_status,
)
from execproto.models import ErrorCode, TaskStatus, TaskStepResult
from execproto.protocols import IToolExecutor, IToolProvider
from execproto.runtime.monitoring import Monitor, TrackedPlan

__all__ = [
    "OperationExecutor",
    "parse_operation_spec",
    "validate_plan",
]


_ITEM_KEYS = frozenset({"operation", "params", "id", "depends_on"})
_REFERENCE_PREFIX = "$result["
_REFERENCE = re.compile(r"\$result\[(-?\d+)\]((?:\.[^.\[\]]+|\[-?\d+\])*)")
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(-?\d+)\]")
_SPEC_CACHE_SIZE = 1024
_COMPLETED = TaskStatus.COMPLETED
_spec_cache: dict[str, tuple[str, str]] = {}


def parse_operation_spec(spec: object) -> tuple[str, str]:
    """Split ``"tool.operation"`` into ``(tool, operation)``.

    Both parts must be Python identifiers that do not start with ``_``, joined by exactly
    one dot.

    Raises:
        InvalidOperationError: *spec* is not a string, is empty, has no dot or more than
            one, or a part is not a public identifier.
    """
    if isinstance(spec, str):
        cached = _spec_cache.get(spec)
        if cached is not None:
            return cached
    else:
        raise InvalidOperationError(
            f"an operation spec must be a str 'tool.operation', got {spec!r} of type "
            f"{type(spec).__name__}"
        )
    if not spec:
        raise InvalidOperationError(
            "the operation spec is empty; expected 'tool.operation', e.g. 'search.query'"
        )
    parts = spec.split(".")
    if len(parts) != 2:
        raise InvalidOperationError(
            f"an operation spec has exactly one dot, 'tool.operation'; {spec!r} has "
            f"{len(parts) - 1}"
        )
    tool_name, operation_name = parts
    for part, what in ((tool_name, "tool name"), (operation_name, "operation name")):
        if not part.isidentifier():
            raise InvalidOperationError(
                f"the {what} in {spec!r} must be a Python identifier, got {part!r}"
            )
        if part.startswith("_"):
            raise InvalidOperationError(
                f"the {what} in {spec!r} starts with '_': private names cannot be run"
            )
    if len(_spec_cache) >= _SPEC_CACHE_SIZE:
        _spec_cache.clear()
    _spec_cache[spec] = (tool_name, operation_name)
    return tool_name, operation_name


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field
class _Item:
    """One validated plan item; ``error`` is set (and the rest may be empty) when invalid."""

    index: int
    spec: str
    tool_name: str = ""
    operation_name: str = ""
    params: Mapping[str, Any] | None = None
    id: str | None = None
    depends_on: tuple[str, ...] = ()
    error: InvalidOperationError | None = None

    @property
    def call_id(self) -> str:
        """The item's tool call id: its ``id``, else its index."""
        return self.id if self.id is not None else str(self.index)

    @property
    def label(self) -> str:
        return f"step {self.index}" + ("" if self.id is None else f" ({self.id!r})")


def _as_mapping(raw: object) -> Mapping[Any, Any]:
    if isinstance(raw, Mapping):
        mapping: Mapping[Any, Any] = raw  # pyright: ignore[reportUnknownVariableType]
        return mapping
    return {}


def _parse_item(index: int, raw: object) -> _Item:
    try:
        return _parse_item_or_raise(index, raw)
    except InvalidOperationError as err:
        fields = _as_mapping(raw)
        spec = fields.get("operation")
        item_id = fields.get("id")
        return _Item(
            index=index,
            spec=spec if isinstance(spec, str) and spec else f"<item {index}>",
            id=item_id if isinstance(item_id, str) else None,
            error=err,
        )


def _parse_item_or_raise(index: int, raw: object) -> _Item:
    where = f"plan item {index}"
    if not isinstance(raw, Mapping):
        raise InvalidOperationError(
            f"{where} must be a mapping with an 'operation' key, got {raw!r} of type "
            f"{type(raw).__name__}"
        )
    item: Mapping[Any, Any] = raw  # pyright: ignore[reportUnknownVariableType]
    if not _ITEM_KEYS.issuperset(item.keys()):
        unknown = sorted(str(key) for key in item if key not in _ITEM_KEYS)
        raise InvalidOperationError(
            f"{where} has unknown key(s) {unknown!r}; expected only {sorted(_ITEM_KEYS)!r}"
        )
    if "operation" not in item:
        raise InvalidOperationError(f"{where} has no 'operation' key ('tool.operation')")
    spec = item["operation"]
    try:
        tool_name, operation_name = parse_operation_spec(spec)
    except InvalidOperationError as err:
        raise InvalidOperationError(f"{where}: {err}") from err
    params = item.get("params", _NO_PARAMS)
    if not isinstance(params, Mapping) or not _has_str_keys(params):  # pyright: ignore[reportUnknownArgumentType]
        raise InvalidOperationError(
            f"{where} ({spec!r}): 'params' must be a mapping with str keys, got {params!r} "
            f"of type {type(params).__name__}"  # pyright: ignore[reportUnknownArgumentType]
        )
    item_id = item.get("id")
    if item_id is not None and (not isinstance(item_id, str) or not item_id):
        raise InvalidOperationError(
            f"{where} ({spec!r}): 'id' must be a non-empty str, got {item_id!r} of type "
            f"{type(item_id).__name__}"
        )
    return _Item(
        index,
        spec,
        tool_name,
        operation_name,
        params,  # pyright: ignore[reportUnknownArgumentType]
        item_id,
        _depends_on(item["depends_on"], where, spec) if "depends_on" in item else (),
    )


_NO_PARAMS: Mapping[str, Any] = {}


def _has_str_keys(mapping: Mapping[Any, Any]) -> bool:
    for key in mapping:  # noqa: SIM110 - a generator costs more than the keys it checks
        if not isinstance(key, str):
            return False
    return True


def _depends_on(depends_on: object, where: str, spec: str) -> tuple[str, ...]:
    if isinstance(depends_on, str) or not isinstance(depends_on, (list, tuple)):
        raise InvalidOperationError(
            f"{where} ({spec!r}): 'depends_on' must be a list of item ids, got "
            f"{depends_on!r} of type {type(depends_on).__name__}"
        )
    deps: list[Any] = list(depends_on)  # pyright: ignore[reportUnknownArgumentType]
    bad = [dep for dep in deps if not isinstance(dep, str) or not dep]
    if bad:
        raise InvalidOperationError(
            f"{where} ({spec!r}): 'depends_on' must hold non-empty str ids, got {bad!r}"
        )
    return tuple(deps)


def _is_graph(items: Sequence[_Item]) -> bool:
    return any(item.id is not None or item.depends_on for item in items)


@dataclass(slots=True)
class _Graph:
    """The dependency structure of a plan: edges by index, and per-item structural errors."""

    deps: list[list[int]]
    dependants: list[list[int]]
    errors: dict[int, InvalidOperationError]


def _build_graph(items: Sequence[_Item]) -> _Graph:
    n = len(items)
    errors: dict[int, InvalidOperationError] = {}
    by_id: dict[str, int] = {}
    for item in items:
        if item.id is None:
            continue
        if item.id in by_id:
            errors[item.index] = InvalidOperationError(
                f"{item.label}: id {item.id!r} is already used by step {by_id[item.id]}; "
                f"ids must be unique within a plan"
            )
        else:
            by_id[item.id] = item.index
    deps: list[list[int]] = [[] for _ in range(n)]
    dependants: list[list[int]] = [[] for _ in range(n)]
    for item in items:
        for dep in item.depends_on:
            target = by_id.get(dep)
            if target is None:
                errors.setdefault(
                    item.index,
                    InvalidOperationError(
                        f"{item.label} depends on {dep!r}, but no item has that id; "
                        f"known ids: {sorted(by_id)!r}"
                    ),
                )
            elif target == item.index:
                errors.setdefault(
                    item.index, InvalidOperationError(f"{item.label} depends on itself")
                )
            elif target not in deps[item.index]:
                deps[item.index].append(target)
                dependants[target].append(item.index)
    # Kahn's algorithm: whatever cannot be ordered is on a cycle or downstream of one.
    indegree = [len(d) for d in deps]
    queue = deque(i for i in range(n) if indegree[i] == 0)
    ordered = 0
    while queue:
        i = queue.popleft()
        ordered += 1
        for j in dependants[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                queue.append(j)
    if ordered < n:
        blocked = [i for i in range(n) if indegree[i] > 0]
        cycle = _find_cycle(blocked, deps, items)
        for i in cycle:
            errors.setdefault(
                i,
                InvalidOperationError(
                    f"{items[i].label} is on a dependency cycle: "
                    f"{' -> '.join(_name(items[j]) for j in [*cycle, cycle[0]])}; "
                    f"remove one of these depends_on entries"
                ),
            )
    return _Graph(deps=deps, dependants=dependants, errors=errors)


def _name(item: _Item) -> str:
    return item.id if item.id is not None else str(item.index)


def _find_cycle(blocked: list[int], deps: list[list[int]], items: Sequence[_Item]) -> list[int]:
    # Walking dependencies from a blocked item only meets blocked items and must repeat one.
    blocked_set = set(blocked)
    seen: dict[int, int] = {}
    path: list[int] = []
    current = blocked[0]
    while current not in seen:
        seen[current] = len(path)
        path.append(current)
        current = next(d for d in deps[current] if d in blocked_set)
    return path[seen[current] :]


def validate_plan(operations: object) -> None:
    """Check a plan (a list of operation items) before running it; report every problem.

    Checks each item's shape and spec, and, when items carry ``id`` / ``depends_on``, unknown
    and duplicate ids and cycles. References are checked at run time (they depend on what
    earlier steps return).

    Raises:
        InvalidOperationError: *operations* is not a list of items, or some items are
            malformed; the message names every bad item, one per line.
    """
    if not isinstance(operations, (list, tuple)):
        raise InvalidOperationError(
            f"a plan must be a list of operation items, got {operations!r} of type "
            f"{type(operations).__name__}"
        )
    raw_items: list[object] = list(operations)  # pyright: ignore[reportUnknownArgumentType]
    items = [_parse_item(i, raw) for i, raw in enumerate(raw_items)]
    problems = {item.index: item.error for item in items if item.error is not None}
    if _is_graph(items):
        for index, error in _build_graph(items).errors.items():
            problems.setdefault(index, error)
    if problems:
        lines = [str(problems[i]) for i in sorted(problems)]
        raise InvalidOperationError(
            f"the plan has {len(lines)} malformed item(s):\n  " + "\n  ".join(lines)
        )


class _Slots:
    """A counting semaphore for one event loop, with a fast uncontended path.

    ``asyncio.Semaphore`` costs several microseconds per uncontended acquire on 3.11 (it
    scans its waiters); this one costs a comparison. A released slot is handed straight to
    the oldest waiter, so waiters are served in order and a newcomer cannot overtake them.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, limit: int) -> None:
        self.free = limit
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # Cancelled after the slot was handed over: pass it on rather than leak it.
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():  # skip waiters that were cancelled meanwhile
                waiter.set_result(None)
                return
        self.free += 1

    async def __aenter__(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
        else:
            await self.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()


class _Limiter:
    """One set of slots per event loop: futures must not cross loops."""

    __slots__ = ("_last", "_lock", "_slots", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[asyncio.AbstractEventLoop, _Slots] | None = None

    def semaphore(self) -> _Slots:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        with self._lock:
            slots = self._slots.get(loop)
            if slots is None:
                slots = self._slots[loop] = _Slots(self.limit)
            self._last = (loop, slots)
            return slots


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    cause = error.__cause__
    # A wrapper such as RetryExhaustedError must not hide the error that caused it.
    if cause is not None and isinstance(error, RetryExhaustedError):
        text += f" (last error: {type(cause).__name__}: {cause})"
    return text


def _failed_step(
    spec: str, error: BaseException, duration: float, counted: int = 1
) -> TaskStepResult:
    status, code = failure_status(error)
    if isinstance(error, RetryExhaustedError):
        attempts = error.attempts
    elif code is ErrorCode.VALIDATION_ERROR:
        attempts = 0  # refused before the operation started
    else:
        attempts = counted  # as the tool executor reported them (1 without retries)
    description = _describe(error)
    return TaskStepResult(
        step=spec,
        result=None,
        completed=False,
        message=f"Operation {spec} {status.value}: {description}",
        status=status,
        error_code=code,
        error_message=description,
        duration=duration,
        attempts=attempts,
    )


def _not_run_step(spec: str, reason: str) -> TaskStepResult:
    return TaskStepResult(
        step=spec,
        completed=False,
        message=f"Operation {spec} not run: {reason}",
        status=TaskStatus.CANCELLED,
        error_code=ErrorCode.CANCELLED_ERROR,
        error_message=reason,
    )


def _cancelled_step(spec: str, duration: float) -> TaskStepResult:
    return _failed_step(spec, asyncio.CancelledError("the run was cancelled"), duration)


def _is_reference(value: str) -> bool:
    return value.startswith(_REFERENCE_PREFIX)


def _resolve(value: Any, lookup: Callable[[int, str], Any]) -> Any:
    """Return *value* with every reference replaced; containers are copied, not mutated."""
    if isinstance(value, str):
        return _resolve_reference(value, lookup) if _is_reference(value) else value
    if isinstance(value, dict):
        return {
            key: _resolve(item, lookup)
            for key, item in value.items()  # pyright: ignore[reportUnknownVariableType]
        }
    if isinstance(value, list):
        return [_resolve(item, lookup) for item in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, tuple):
        return tuple(_resolve(item, lookup) for item in value)  # pyright: ignore[reportUnknownVariableType]
    return value


def _contains_reference(value: Any) -> bool:
    # Runs once per step on every params dict: scalars and plain strings, the common
    # values, are checked inline; only containers recurse.
    values: Iterable[Any]
    if isinstance(value, dict):
        values = cast("Iterable[Any]", value.values())  # pyright: ignore[reportUnknownMemberType]
    elif isinstance(value, (list, tuple)):
        values = cast("Sequence[Any]", value)
    else:
        return isinstance(value, str) and value.startswith(_REFERENCE_PREFIX)
    for item in values:
        kind = type(item)  # pyright: ignore[reportUnknownVariableType]
        if kind is str:
            if item.startswith(_REFERENCE_PREFIX):
                return True
        elif kind is int or kind is float or item is None or kind is bool:
            continue
        elif _contains_reference(item):
            return True
    return False


def _resolve_reference(reference: str, lookup: Callable[[int, str], Any]) -> Any:
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ReferenceResolutionError(
            f"malformed reference {reference!r}: expected '$result[N]' followed by "
            f"'.key' or '[index]' segments, e.g. '$result[0].hits[2].title'"
        )
    target = int(match.group(1))
    if target < 0:
        raise ReferenceResolutionError(
            f"reference {reference!r} has the negative step index {target}; steps count "
            f"from 0 at the first item of the plan"
        )
    value = lookup(target, reference)
    walked = f"$result[{target}]"
    for segment in _SEGMENT.finditer(match.group(2)):
        name, index = segment.group(1), segment.group(2)
        if name is not None and name.startswith("_"):
            raise ReferenceResolutionError(
                f"reference {reference!r} has the segment {name!r}: segments starting with "
                f"'_' are refused (references reach dict keys and list items only)"
            )
        value = _step_into(value, name, index, walked, reference)
        walked += segment.group(0)
    return value


def _step_into(value: Any, name: str | None, index: str | None, walked: str, ref: str) -> Any:
    if isinstance(value, Mapping):
        mapping: Mapping[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        key: Any = name if name is not None else int(index or 0)
        if key not in mapping:
            shown = sorted(map(repr, mapping))[:10]  # pyright: ignore[reportUnknownArgumentType]
            raise ReferenceResolutionError(
                f"reference {ref!r}: {walked} has no key {key!r}; its keys are {shown}"
            )
        return mapping[key]
    if isinstance(value, (list, tuple)):
        items = cast("Sequence[Any]", value)
        text = name if name is not None else index or ""
        if not text.isdigit():
            raise ReferenceResolutionError(
                f"reference {ref!r}: {walked} is a {type(items).__name__}, so the next "
                f"segment must be a non-negative index, got {text!r}"
            )
        position = int(text)
        if position >= len(items):
            raise ReferenceResolutionError(
                f"reference {ref!r}: index {position} is out of range for {walked}, which "
                f"has {len(items)} item(s)"
            )
        return items[position]
    segment = name if name is not None else f"[{index}]"
    raise ReferenceResolutionError(
        f"reference {ref!r}: cannot look up {segment!r} in {walked}, a value of type "
        f"{type(value).__name__}; references reach into dicts, lists and tuples only"
    )


_Save = Callable[[int, TaskStepResult], Awaitable[TaskStepResult]]


class OperationExecutor:
    """Runs ``"tool.operation"`` specs through a tool provider and a tool executor.

    Conforms to :class:`~execproto.protocols.IOperationExecutor` and
    :class:`~execproto.typed.ITypedOperationExecutor` ``[Any]``. *tool_provider* and
    *tool_executor* may be any conforming implementations (a Dask engine is just another
    tool executor). *max_concurrency* bounds the number of tool calls in flight from this
    executor, across all its methods and concurrent runs. See the module documentation for
    references, DAGs, callbacks and cancellation.

    An executor may be used from several event loops (each gets its own semaphore) but a
    run belongs to the loop that started it.

    *monitor* traces each plan run and counts its steps by outcome (see "Monitoring" in the
    module documentation); give the tool executor the same monitor for the tool spans.

    Raises:
        ConformanceError: *tool_provider* or *tool_executor* does not conform.
        ValueError: *max_concurrency* is not a positive int.
        TypeError: *monitor* is not an :class:`~execproto.runtime.monitoring.Monitor`.
    """

    __slots__ = ("_limiter", "_monitor", "_provider", "_tool_executor")

    def __init__(
        self,
        tool_provider: IToolProvider,
        tool_executor: IToolExecutor,
        *,
        max_concurrency: int = 10,
        monitor: Monitor | None = None,
    ) -> None:
        from execproto.errors import ConformanceError

        if not isinstance(tool_provider, IToolProvider):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConformanceError(
                f"tool_provider must conform to IToolProvider (get_tool, has_tool), got "
                f"{tool_provider!r} of type {type(tool_provider).__name__}"
            )
        if not isinstance(tool_executor, IToolExecutor):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConformanceError(
                f"tool_executor must conform to IToolExecutor (execute, execute_async), got "
                f"{tool_executor!r} of type {type(tool_executor).__name__}"
            )
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)  # pyright: ignore[reportUnnecessaryIsInstance]
            or max_concurrency < 1
        ):
            raise ValueError(
                f"max_concurrency must be an int >= 1, got {max_concurrency!r} of type "
                f"{type(max_concurrency).__name__}"
            )
        if monitor is not None and not isinstance(monitor, Monitor):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"monitor must be an execproto.runtime.monitoring.Monitor or None, got {monitor!r} of "
                f"type {type(monitor).__name__}"
            )
        self._provider = tool_provider
        self._tool_executor = tool_executor
        self._limiter = _Limiter(max_concurrency)
        self._monitor = monitor

    @property
    def max_concurrency(self) -> int:
        """The most tool calls this executor runs at once, across all its runs."""
        return self._limiter.limit

    @property
    def tool_provider(self) -> IToolProvider:
        """The provider tools are looked up in."""
        return self._provider

    @property
    def tool_executor(self) -> IToolExecutor:
        """The executor (engine) each operation is run with."""
        return self._tool_executor

    @property
    def monitor(self) -> Monitor | None:
        """The monitor plan runs are traced and counted with, if any."""
        return self._monitor

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._provider!r}, {self._tool_executor!r}, "
            f"max_concurrency={self._limiter.limit})"
        )

    async def _call(self, tool_name: str, operation_name: str, params: Mapping[str, Any]) -> Any:
        try:
            tool = self._provider.get_tool(tool_name)
        except ToolNotFoundError:
            raise
        except LookupError as err:
            # A third-party provider raises a plain LookupError; give it the E001 type.
            raise ToolNotFoundError(
                f"no tool named {tool_name!r} in {type(self._provider).__name__}: {err}"
            ) from err
        # The uncontended path inlined: this runs once per operation in every mode.
        slots = self._limiter.semaphore()
        if slots.free > 0 and not slots.waiters:
            slots.free -= 1
        else:
            await slots.acquire()
        try:
            return await self._tool_executor.execute_async(tool, operation_name, **params)
        finally:
            slots.release()

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        """Run *operation_spec* (``"tool.operation"``) with *params*, taken literally.

        The call holds one slot of the executor's concurrency limit while it runs.

        Raises:
            InvalidOperationError: malformed spec, *params* not a mapping with str keys, or
                parameters the operation cannot accept.
            ToolNotFoundError: no tool of that name.
            Exception: whatever the tool executor raised (timeouts, exhausted retries,
                the operation's own error).
        """
        tool_name, operation_name = parse_operation_spec(operation_spec)
        if type(params) is not dict and not isinstance(params, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOperationError(
                f"params of {operation_spec!r} must be a mapping of parameter names to "
                f"values, got {params!r} of type {type(params).__name__}"
            )
        return await self._call(tool_name, operation_name, params)

    async def _call_identified(self, item: _Item, params: Mapping[str, Any]) -> Any:
        """Run *item* with *params* as the tool call named by the item (monitored batches)."""
        token = enter_call(CallContext(item.call_id))
        try:
            return await self._call(item.tool_name, item.operation_name, params)
        finally:
            exit_call(token)

    async def _step(self, item: _Item, lookup: Callable[[int, str], Any]) -> TaskStepResult:
        """Run one item and return its step result; only cancellation propagates."""
        start = time.perf_counter()
        # The tool executor reports retries into the call (execproto.context); a monitor
        # puts its id on the tool span.
        call = CallContext(item.call_id)
        try:
            if item.error is not None:
                raise item.error
            params = item.params or {}
            if _contains_reference(params):
                params = _resolve(dict(params), lookup)
            token = enter_call(call)
            try:
                result = await self._call(item.tool_name, item.operation_name, params)
            finally:
                exit_call(token)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            return _failed_step(item.spec, err, time.perf_counter() - start, call.attempts)
        # Positional (step, result, completed, message, status, error_code, error_message,
        # duration, attempts): built once per successful step, keywords cost more.
        return TaskStepResult(
            item.spec,
            result,
            True,
            f"Operation {item.spec} completed",
            _COMPLETED,
            None,
            None,
            time.perf_counter() - start,
            call.attempts,
        )

    async def _workers(self, count: int, worker: Callable[[], Awaitable[None]]) -> None:
        # At most `limit` workers pull items, instead of one task per item: 10 000 items cost
        # 10 000 task creations and semaphore waiters otherwise.
        tasks = [asyncio.ensure_future(worker()) for _ in range(min(count, self._limiter.limit))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            # Let cancelled siblings finish (and report their in-flight steps) before leaving.
            await asyncio.gather(*tasks, return_exceptions=True)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        """Run *operations* concurrently within the limit; return each result or exception.

        The seed's semantics: one entry per item in input order, either the operation's
        result or the exception it raised (a malformed item gives an
        :class:`InvalidOperationError`, a reference a :class:`ReferenceResolutionError`).

        Raises:
            InvalidOperationError: *operations* is not a list.
            asyncio.CancelledError: the awaiting task was cancelled.
        """
        items = self._items(operations)
        results: list[Any] = [None] * len(items)
        pending = iter(items)
        plan: TrackedPlan | None = None

        async def worker() -> None:
            for item in pending:
                try:
                    if item.error is not None:
                        raise item.error
                    params = item.params or {}
                    if _contains_reference(params):
                        params = _resolve(dict(params), _no_references)
                    if plan is None:
                        results[item.index] = await self._call(
                            item.tool_name, item.operation_name, params
                        )
                    else:
                        results[item.index] = await self._call_identified(item, params)
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    results[item.index] = err
                if plan is not None:
                    _record_batch_item(plan, item, results[item.index])

        if self._monitor is None:
            await self._workers(len(items), worker)
            return results
        with self._monitor.track_plan("batch", len(items)) as tracked:
            plan = tracked  # the workers count each item into it as it finishes
            await self._workers(len(items), worker)
        return results

    async def execute_parallel_operations(
        self,
        operations: list[dict[str, Any]],
        *,
        stop_on_failure: bool = False,
        on_step: StepCallback | None = None,
    ) -> list[TaskStepResult]:
        """Run *operations* concurrently within the limit; one step result each, in order.

        Items with ``id`` / ``depends_on`` run as a DAG. References fail with E001 unless
        the item depends on the referenced one. *on_step* is called as each step finishes.

        Raises:
            InvalidOperationError: *operations* is not a list.
            asyncio.CancelledError: the awaiting task was cancelled (see module docs).
        """
        items = self._items(operations)
        if self._monitor is not None:
            mode = "dag" if _is_graph(items) else "parallel"
            with self._monitor.track_plan(mode, len(items)) as plan:
                return await self._run_graph(
                    items,
                    stop_on_failure=stop_on_failure,
                    save=None,
                    on_step=_recording(plan, on_step),
                )
        return await self._run_graph(
            items,
            stop_on_failure=stop_on_failure,
            save=None,
            on_step=on_step,
        )

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
        *,
        on_step: StepCallback | None = None,
    ) -> list[TaskStepResult]:
        """Run *operations* one after another as *user_id*'s task *task_id*.

        Items may refer to earlier results with ``$result[N].path``. When items carry
        ``id`` / ``depends_on`` the plan runs as a DAG instead (independent branches
        concurrently). ``save_callback(user_id, task_id, index, step_result)`` may be sync
        or async; see the module documentation for what happens when it raises.

        Raises:
            InvalidOperationError: *operations* is not a list.
            TypeError: *user_id* or *task_id* is not a str.
            asyncio.CancelledError: the awaiting task was cancelled (see module docs).
        """
        items = self._items(operations)
        save = _saver(save_callback, user_id, task_id)
        with execution_context(user_id=user_id, task_id=task_id):
            if self._monitor is not None:
                return await self._run_monitored(items, stop_on_failure, save, on_step)
            if _is_graph(items):
                return await self._run_graph(
                    items, stop_on_failure=stop_on_failure, save=save, on_step=on_step
                )
            return await self._run_sequence(
                items, stop_on_failure=stop_on_failure, save=save, on_step=on_step
            )

    async def _run_monitored(
        self,
        items: list[_Item],
        stop_on_failure: bool,
        save: _Save | None,
        on_step: StepCallback | None,
    ) -> list[TaskStepResult]:
        assert self._monitor is not None
        graph = _is_graph(items)
        with self._monitor.track_plan("dag" if graph else "sequence", len(items)) as plan:
            run = self._run_graph if graph else self._run_sequence
            return await run(
                items, stop_on_failure=stop_on_failure, save=save, on_step=_recording(plan, on_step)
            )

    @staticmethod
    def _items(operations: object) -> list[_Item]:
        if not isinstance(operations, (list, tuple)):
            raise InvalidOperationError(
                f"operations must be a list of operation items, got {operations!r} of type "
                f"{type(operations).__name__}"
            )
        raw_items: list[object] = list(operations)  # pyright: ignore[reportUnknownArgumentType]
        return [_parse_item(index, raw) for index, raw in enumerate(raw_items)]

    async def _run_sequence(
        self,
        items: list[_Item],
        *,
        stop_on_failure: bool,
        save: _Save | None,
        on_step: StepCallback | None,
    ) -> list[TaskStepResult]:
        results: list[TaskStepResult] = []

        def lookup(target: int, reference: str) -> Any:
            index = len(results)
            if target >= index:
                raise ReferenceResolutionError(
                    f"reference {reference!r} in step {index} points at step {target}, which "
                    f"has not run yet; a step can refer only to earlier steps (0..{index - 1})"
                )
            return _completed_result(results[target], target, reference)

        stopped_by: _Item | None = None
        for item in items:
            if stopped_by is None:
                if save is None and on_step is None:
                    step = await self._step(item, lookup)  # nothing to save or report
                else:
                    step = await self._finish(item, self._step(item, lookup), save, on_step)
                if step.failed and stop_on_failure:
                    stopped_by = item
            else:
                step = _not_run_step(
                    item.spec, f"{stopped_by.label} did not complete and stop_on_failure is set"
                )
                if on_step is not None:
                    on_step(item.index, step)
            results.append(step)
        return results

    async def _finish(
        self,
        item: _Item,
        running: Awaitable[TaskStepResult],
        save: _Save | None,
        on_step: StepCallback | None,
    ) -> TaskStepResult:
        """Await one step, save it, report it; report it cancelled if cancelled meanwhile."""
        start = time.perf_counter()
        step: TaskStepResult | None = None
        try:
            step = await running
            if save is not None:
                step = await save(item.index, step)
        except asyncio.CancelledError:
            if on_step is not None:
                on_step(item.index, step or _cancelled_step(item.spec, time.perf_counter() - start))
            raise
        if on_step is not None:
            on_step(item.index, step)
        return step

    async def _run_graph(
        self,
        items: list[_Item],
        *,
        stop_on_failure: bool,
        save: _Save | None,
        on_step: StepCallback | None,
    ) -> list[TaskStepResult]:
        n = len(items)
        graph = _build_graph(items) if _is_graph(items) else None
        results: list[TaskStepResult | None] = [None] * n
        started = [False] * n
        pending = [0 if graph is None else len(graph.deps[i]) for i in range(n)]
        ready: deque[int] = deque()
        ancestors: dict[int, frozenset[int]] = {}
        changed = asyncio.Event()
        state = {"running": 0, "waiting": 0}
        stopped: list[_Item] = []

        def ancestors_of(index: int) -> frozenset[int]:
            if graph is None:
                return frozenset()
            known = ancestors.get(index)
            if known is None:
                found: set[int] = set()
                stack = list(graph.deps[index])
                while stack:
                    dep = stack.pop()
                    if dep not in found:
                        found.add(dep)
                        stack.extend(graph.deps[dep])
                known = ancestors[index] = frozenset(found)
            return known

        def lookup_for(index: int) -> Callable[[int, str], Any]:
            if graph is None:
                return _no_references

            def lookup(target: int, reference: str) -> Any:
                if target >= n or target not in ancestors_of(index):
                    raise ReferenceResolutionError(
                        f"reference {reference!r} in {items[index].label} points at step "
                        f"{target}, which it does not depend on, so it may not have run; "
                        f"add that item's id to 'depends_on' (references need an ordering)"
                    )
                step = results[target]
                assert step is not None  # an ancestor has finished before its dependants start
                return _completed_result(step, target, reference)

            return lookup

        def settle(index: int, step: TaskStepResult) -> None:
            """Record a finished step; release or skip its dependants."""
            results[index] = step
            if step.failed and stop_on_failure and not stopped:
                stopped.append(items[index])
            if graph is None:
                return
            work = [(index, step)]
            while work:
                done, done_step = work.pop()
                for dependant in graph.dependants[done]:
                    if results[dependant] is not None or started[dependant]:
                        continue
                    if done_step.failed:
                        skipped = _not_run_step(
                            items[dependant].spec,
                            f"it depends on {items[done].label}, which did not complete "
                            f"({done_step.status.value}"
                            + (f", {done_step.error_code.value})" if done_step.error_code else ")"),
                        )
                        results[dependant] = skipped
                        if on_step is not None:
                            on_step(dependant, skipped)
                        work.append((dependant, skipped))
                    else:
                        pending[dependant] -= 1
                        if pending[dependant] == 0:
                            ready.append(dependant)

        for item in items:
            # Items of a malformed DAG never start; a malformed item alone still "runs" (and
            # fails with E001 in _step) so that it is saved like any attempted step.
            error = None if graph is None else graph.errors.get(item.index)
            if error is not None:
                step = _failed_step(item.spec, error, 0.0)
                if on_step is not None:
                    on_step(item.index, step)
                settle(item.index, step)
        for item in items:
            if results[item.index] is None and pending[item.index] == 0:
                ready.append(item.index)

        bare = save is None and on_step is None

        async def worker() -> None:
            while True:
                if ready and not stopped:
                    index = ready.popleft()
                    if results[index] is not None:
                        continue
                    started[index] = True
                    state["running"] += 1
                    try:
                        if bare:
                            # One coroutine layer less per step: with nothing to save or
                            # report, _finish would only await the step.
                            step = await self._step(items[index], lookup_for(index))
                        else:
                            step = await self._finish(
                                items[index],
                                self._step(items[index], lookup_for(index)),
                                save,
                                on_step,
                            )
                    finally:
                        state["running"] -= 1
                    settle(index, step)
                    if state["waiting"]:
                        changed.set()  # wakes every current waiter; they re-check the state
                        changed.clear()
                elif state["running"] == 0:
                    changed.set()
                    changed.clear()
                    return
                else:
                    state["waiting"] += 1
                    try:
                        await changed.wait()
                    finally:
                        state["waiting"] -= 1

        await self._workers(n, worker)
        final: list[TaskStepResult] = []
        for item, result in zip(items, results, strict=True):
            if result is None:
                reason = (
                    f"{stopped[0].label} did not complete and stop_on_failure is set"
                    if stopped
                    else "it was never scheduled"
                )
                result = _not_run_step(item.spec, reason)
                if on_step is not None:
                    on_step(item.index, result)
            final.append(result)
        return final


def _recording(plan: TrackedPlan, on_step: StepCallback | None) -> StepCallback:
    """Return an ``on_step`` that counts each step into *plan*, then calls *on_step*."""

    def record(index: int, step: TaskStepResult) -> None:
        code = step.error_code
        plan.record_step(step.step, step.status.value, None if code is None else code.value)
        if on_step is not None:
            on_step(index, step)

    return record


def _record_batch_item(plan: TrackedPlan, item: _Item, outcome: object) -> None:
    # A batch keeps the seed's results (a value or the exception), so the step outcome is
    # derived here the way a step result would carry it.
    if isinstance(outcome, BaseException):
        status, code = failure_status(outcome)
        plan.record_step(item.spec, status.value, code.value)
    else:
        plan.record_step(item.spec, TaskStatus.COMPLETED.value, None)


def _completed_result(step: TaskStepResult, target: int, reference: str) -> Any:
    # The status, not ``completed``: a step whose save failed (E006) keeps completed=True
    # but must not be built on, exactly as its DAG dependants are skipped (module docs).
    if step.status is not _COMPLETED:
        code = "" if step.error_code is None else f", {step.error_code.value}"
        raise ReferenceResolutionError(
            f"reference {reference!r} points at step {target}, which did not complete "
            f"successfully ({step.status.value}{code}); its result cannot be used"
        )
    return step.result


def _no_references(target: int, reference: str) -> Any:
    raise ReferenceResolutionError(
        f"reference {reference!r}: items of a batch or parallel run are independent, so "
        f"there is no earlier result to refer to; use a sequence, or 'id' and 'depends_on'"
    )


def _saver(callback: Callable[..., Any] | None, user_id: str, task_id: str) -> _Save | None:
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(
            f"save_callback must be callable as (user_id, task_id, index, step_result), got "
            f"{callback!r} of type {type(callback).__name__}"
        )

    async def save(index: int, step: TaskStepResult) -> TaskStepResult:
        try:
            outcome = callback(user_id, task_id, index, step)
            if inspect.isawaitable(outcome):
                await outcome
        except asyncio.CancelledError:
            raise
        except Exception as err:
            description = _describe(err)
            return TaskStepResult(
                step=step.step,
                result=step.result,
                completed=step.completed,
                message=(
                    f"{step.message}; but save_callback raised {description}, so the step "
                    f"was not saved"
                ),
                status=TaskStatus.FAILED,
                error_code=ErrorCode.DATABASE_ERROR,
                error_message=(
                    f"save_callback raised {description}"
                    + ("" if step.error_message is None else f"; step: {step.error_message}")
                ),
                duration=step.duration,
                attempts=step.attempts,
            )
        return step

    return save
