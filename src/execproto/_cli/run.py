"""``execproto run PLAN --tools MODULE``: run an operation plan and print its step results.

**Tools.** ``--tools`` names an importable module (the current directory is searched first,
as with ``python -m``). The module provides its tools in one of two ways, tried in order:

1. a function ``register(registry)``, called with a fresh
   :class:`~execproto.runtime.registry.ToolRegistry` to register its tools into;
2. a module attribute ``registry``: any :class:`~execproto.protocols.IToolProvider`.

**MCP servers.** ``--mcp NAME=COMMAND`` (repeatable) starts an MCP server as a subprocess
and registers its tools as the tool *NAME*: a plan calls ``NAME.tool_name`` (see
:mod:`execproto.integrations.mcp_client`; needs the ``mcp`` extra). ``--tools`` may then be left out.

Operations run through a :class:`~execproto.runtime.executor.ToolExecutor` (default retry policy,
so idempotent operations are retried on transient errors) and an
:class:`~execproto.runtime.engine.ExecutionEngine` (``--engine``, default ``local``).

**Plan.** A JSON file holding either a list of operation items (a sequence), or an object::

    {"mode": "sequence" | "parallel" | "dag", "stop_on_failure": false, "operations": [...]}

Items are ``{"operation": "tool.op", "params": {...}, "id": "...", "depends_on": [...]}``.
A sequence whose items carry ``id``/``depends_on`` runs as a DAG; ``"dag"`` says so
explicitly and requires ids. The plan is validated before anything runs.

**Output.** Progress goes to stderr: a progress bar on a terminal when ``rich`` is installed
(extra ``cli``), one plain line per finished step otherwise. The step table goes to stdout
(``--json``: a JSON list of step results, each with its ``index`` and ``id``).

**Metrics.** ``--metrics`` runs the plan under an :class:`~execproto.runtime.monitoring.Monitor` and
prints its per-operation summary after the step table: tool calls (count, errors, latency
percentiles) and steps by outcome. With ``--json`` the output becomes an object,
``{"steps": [...], "metrics": {"operations": [...], "step_outcomes": {...},
"error_types": {...}}}``. The monitor also traces the run (one ``invoke_workflow`` span, an
``execute_tool`` span per tool execution) when ``opentelemetry-api`` is installed; the
spans go to the global tracer provider, so they are exported only if the process installs
one (for instance under ``opentelemetry-instrument``).

Exit codes: 0 every step completed; 1 some step did not; 2 bad input (unreadable or
malformed plan, tools that cannot be loaded, unknown engine).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO, cast

from execproto.errors import EngineNotFoundError, InvalidOperationError
from execproto.models import TaskStepResult
from execproto.protocols import IToolProvider
from execproto.runtime.engine import ExecutionEngine
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.metrics import MetricsSnapshot, format_summary, summarize
from execproto.runtime.monitoring import Monitor
from execproto.runtime.operations import validate_plan
from execproto.runtime.registry import ToolRegistry

__all__ = ["add_arguments", "run"]

_MODES = ("sequence", "parallel", "dag")
_PLAN_KEYS = frozenset({"mode", "operations", "stop_on_failure"})
_CELL = 60


class PlanError(Exception):
    """Bad input for ``execproto run``: reported on stderr with exit code 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` subcommand's arguments to *parser*."""
    parser.add_argument("plan", type=Path, help="the plan: a JSON file (see docs for the format)")
    parser.add_argument(
        "--tools",
        metavar="MODULE",
        help="module providing register(registry) or a module-level 'registry'",
    )
    parser.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="start an MCP server with COMMAND and call its tools as NAME.tool (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print step results as JSON")
    parser.add_argument("--engine", default="local", help="execution engine (default: local)")
    parser.add_argument("--user", default="", help="user id the plan runs for (cache scope)")
    parser.add_argument("--task", default="", help="task id the plan runs as (cache scope)")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=10,
        metavar="N",
        help="most operations in flight at once (default: 10)",
    )
    parser.add_argument(
        "--stop-on-failure",
        action="store_true",
        help="start no further step after one fails (overrides the plan)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="print per-operation call and step metrics after the results",
    )


def run(args: argparse.Namespace) -> int:
    """Run the plan described by *args*; return the exit code."""
    try:
        mode, stop_on_failure, operations = load_plan(args.plan)
        mcp_servers = [_parse_mcp(option) for option in args.mcp]
        if args.tools is None and not mcp_servers:
            raise PlanError("no tools: pass --tools MODULE, --mcp NAME=COMMAND, or both")
        provider = ToolRegistry() if args.tools is None else load_tools(args.tools)
        if args.max_concurrency < 1:
            raise PlanError(f"--max-concurrency must be >= 1, got {args.max_concurrency}")
        monitor = Monitor() if args.metrics else None
        steps = asyncio.run(
            _execute(
                provider,
                operations,
                mode=mode,
                stop_on_failure=stop_on_failure or args.stop_on_failure,
                engine=args.engine,
                user=args.user,
                task=args.task,
                max_concurrency=args.max_concurrency,
                progress=not args.quiet,
                mcp_servers=mcp_servers,
                monitor=monitor,
            )
        )
    except (PlanError, EngineNotFoundError) as err:
        print(f"execproto run: {err}", file=sys.stderr)
        return 2
    ids = [item.get("id") for item in operations]
    snapshot = None if monitor is None else monitor.metrics.snapshot()
    if args.json:
        print(_as_json(steps, ids, snapshot))
    else:
        _print_table(steps, ids, sys.stdout)
        if snapshot is not None:
            print(f"\n{format_summary(snapshot)}")
    return 1 if any(step.failed for step in steps) else 0


def load_plan(path: Path) -> tuple[str, bool, list[dict[str, Any]]]:
    """Read and validate the plan at *path*: ``(mode, stop_on_failure, operations)``.

    Raises:
        PlanError: unreadable file, invalid JSON, or a malformed plan (naming the item).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PlanError(f"cannot read the plan {str(path)!r}: {err.strerror or err}") from err
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as err:
        raise PlanError(
            f"the plan {str(path)!r} is not valid JSON: {err.msg} at line {err.lineno}, "
            f"column {err.colno}"
        ) from err
    mode, stop_on_failure = "sequence", False
    if isinstance(data, dict):
        plan = cast("dict[str, Any]", data)
        unknown = sorted(set(plan) - _PLAN_KEYS)
        if unknown:
            raise PlanError(
                f"the plan object has unknown key(s) {unknown!r}; expected {sorted(_PLAN_KEYS)!r}"
            )
        mode = plan.get("mode", "sequence")
        if mode not in _MODES:
            raise PlanError(f"the plan's mode must be one of {list(_MODES)!r}, got {mode!r}")
        stop_on_failure = plan.get("stop_on_failure", False)
        if not isinstance(stop_on_failure, bool):
            raise PlanError(
                f"the plan's stop_on_failure must be true or false, got {stop_on_failure!r}"
            )
        data = plan.get("operations")
    if not isinstance(data, list):
        raise PlanError(
            f"the plan must be a JSON list of operation items, or an object with an "
            f"'operations' list; got {type(data).__name__}"
        )
    items = cast("list[dict[str, Any]]", data)
    try:
        validate_plan(items)
    except InvalidOperationError as err:
        raise PlanError(str(err)) from err
    if mode == "dag":
        missing = [index for index, item in enumerate(items) if "id" not in item]
        if missing:
            raise PlanError(
                f"a 'dag' plan needs an 'id' on every item; plan item(s) {missing} have none"
            )
    return mode, stop_on_failure, items


def load_tools(module_name: str) -> IToolProvider:
    """Import *module_name* and return the tool provider it defines.

    Raises:
        PlanError: the module cannot be imported, or provides no tools.
    """
    # Like `python -m`: modules of the current project are importable by their dotted name.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module: ModuleType = importlib.import_module(module_name)
    except Exception as err:
        raise PlanError(
            f"cannot import the tools module {module_name!r}: {type(err).__name__}: {err}"
        ) from err
    register: object = getattr(module, "register", None)
    if callable(register):
        registry = ToolRegistry()
        try:
            register(registry)
        except Exception as err:
            raise PlanError(
                f"{module_name}.register(registry) raised {type(err).__name__}: {err}"
            ) from err
        return registry
    provider: object = getattr(module, "registry", None)
    if isinstance(provider, IToolProvider):
        return provider
    raise PlanError(
        f"the tools module {module_name!r} defines neither a function register(registry) "
        f"nor a module-level 'registry' tool provider"
        + ("" if provider is None else f" ('registry' is {type(provider).__name__})")
    )


async def _execute(
    provider: IToolProvider,
    operations: list[dict[str, Any]],
    *,
    mode: str,
    stop_on_failure: bool,
    engine: str,
    user: str,
    task: str,
    max_concurrency: int,
    progress: bool,
    mcp_servers: Sequence[tuple[str, Any]] = (),
    monitor: Monitor | None = None,
) -> list[TaskStepResult]:
    registry = provider if isinstance(provider, ToolRegistry) else None
    async with AsyncExitStack() as stack:
        if mcp_servers:
            if registry is None:
                raise PlanError(
                    "--mcp needs a tools module with register(registry) (its 'registry' is a "
                    f"{type(provider).__name__}, which cannot take the MCP servers' tools)"
                )
            await _connect_mcp(stack, registry, mcp_servers)
        return await _run_plan(
            provider,
            registry,
            operations,
            mode=mode,
            stop_on_failure=stop_on_failure,
            engine=engine,
            user=user,
            task=task,
            max_concurrency=max_concurrency,
            progress=progress,
            monitor=monitor,
        )


def _parse_mcp(option: str) -> tuple[str, Any]:
    try:
        from execproto.integrations.mcp_client import parse_mcp_option
    except ImportError as err:
        raise PlanError(f"--mcp {option}: {err}") from err
    try:
        return parse_mcp_option(option)
    except ValueError as err:
        raise PlanError(f"--mcp: {err}") from err


async def _connect_mcp(
    stack: AsyncExitStack, registry: ToolRegistry, servers: Sequence[tuple[str, Any]]
) -> None:
    from execproto.integrations.mcp_client import MCPToolProvider

    mcp = await stack.enter_async_context(MCPToolProvider())
    for name, parameters in servers:
        if registry.has_tool(name):
            raise PlanError(f"--mcp {name}=...: the tools module already registers {name!r}")
        try:
            tool = await mcp.connect(name, parameters)
        except Exception as err:
            raise PlanError(str(err)) from err
        registry.register(name, tool)


async def _run_plan(
    provider: IToolProvider,
    registry: ToolRegistry | None,
    operations: list[dict[str, Any]],
    *,
    mode: str,
    stop_on_failure: bool,
    engine: str,
    user: str,
    task: str,
    max_concurrency: int,
    progress: bool,
    monitor: Monitor | None,
) -> list[TaskStepResult]:
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        async with ExecutionEngine(
            provider,
            tool_executor,
            engine=engine,
            max_concurrency=max_concurrency,
            monitor=monitor,
        ) as execution:
            with _progress(len(operations), operations, enabled=progress) as on_step:
                if mode == "parallel":
                    return await execution.execute_parallel_operations(
                        operations, stop_on_failure=stop_on_failure, on_step=on_step
                    )
                return await execution.execute_operations_sequence(
                    operations, user, task, stop_on_failure, on_step=on_step
                )


class _progress:
    """Reports finished steps: a rich progress bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, operations: list[dict[str, Any]], *, enabled: bool) -> None:
        self._total = total
        self._operations = operations
        self._enabled = enabled
        self._done = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[int, TaskStepResult], None]:
        if self._enabled and sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )
            except ImportError:
                pass
            else:
                self._bar = Progress(
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=False,
                )
                self._bar.start()
                self._task = self._bar.add_task("running plan", total=self._total)
        return self._on_step

    def _on_step(self, index: int, step: TaskStepResult) -> None:
        self._done += 1
        label = _label(index, self._operations[index].get("id"), step.step)
        if self._bar is not None:
            from rich.markup import escape

            description = escape(f"{label}: {step.status.value}")
            self._bar.update(self._task, advance=1, description=description)
        elif self._enabled:
            print(
                f"[{self._done}/{self._total}] {label}: {step.status.value}"
                + ("" if step.error_code is None else f" {step.error_code.value}")
                + f" ({step.duration:.2f}s)",
                file=sys.stderr,
                flush=True,
            )

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _label(index: int, item_id: object, step: str) -> str:
    return f"#{index} {step}" + ("" if item_id is None else f" [{item_id}]")


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", " ")
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


def _rows(steps: Sequence[TaskStepResult], ids: Sequence[object]) -> list[list[str]]:
    return [
        [
            str(index),
            "" if item_id is None else str(item_id),
            step.step,
            step.status.value + ("" if step.error_code is None else f" {step.error_code.value}"),
            str(step.attempts),
            f"{step.duration:.2f}",
            _short(
                step.result if step.completed and step.error_message is None else step.error_message
            ),
        ]
        for index, (step, item_id) in enumerate(zip(steps, ids, strict=True))
    ]


_COLOURS = {"completed": "green", "cancelled": "yellow"}
_HEADERS = ["#", "id", "operation", "status", "tries", "secs", "result / error"]


def _widths(rows: list[list[str]]) -> list[int]:
    return [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(_HEADERS)]


def _print_table(steps: Sequence[TaskStepResult], ids: Sequence[object], out: TextIO) -> None:
    rows = _rows(steps, ids)
    widths = _widths(rows)
    if out.isatty():
        try:
            from rich import box
            from rich.console import Console
            from rich.markup import escape
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(title="step results", box=box.SIMPLE_HEAD, pad_edge=False)
            for header, width in zip(_HEADERS[:-1], widths, strict=False):
                # Fixed widths: only the result column gives way on a narrow terminal.
                table.add_column(header, no_wrap=True, min_width=width)
            console = Console(file=out)
            # Rich collapses narrow columns when a row is too wide; bound the last one instead.
            room = console.width - sum(widths[:-1]) - 2 * len(_HEADERS)
            table.add_column(
                _HEADERS[-1], no_wrap=True, overflow="ellipsis", max_width=max(12, room)
            )
            for row, step in zip(rows, steps, strict=True):
                colour = _COLOURS.get(step.status.value, "red")
                cells = [escape(cell) for cell in row]
                cells[3] = f"[{colour}]{cells[3]}[/{colour}]"
                table.add_row(*cells)
            console.print(table)
            return
    for row in [_HEADERS, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
    completed = sum(not step.failed for step in steps)
    print(f"{completed}/{len(steps)} steps completed", file=out)


def _as_json(
    steps: Sequence[TaskStepResult], ids: Sequence[object], metrics: MetricsSnapshot | None = None
) -> str:
    documents = [
        {"index": index, "id": item_id, **step.dict()}
        for index, (step, item_id) in enumerate(zip(steps, ids, strict=True))
    ]
    output: object = documents
    if metrics is not None:
        output = {
            "steps": documents,
            "metrics": {
                "operations": summarize(metrics),
                "step_outcomes": metrics["outcomes"],
                "error_types": metrics["error_types"],
            },
        }
    # A result that JSON cannot encode is shown by its repr rather than failing the output.
    return json.dumps(output, indent=2, default=repr)
