"""``execproto serve-mcp --tools MODULE``: publish a module's tools as an MCP server on stdio.

The tools module is loaded as for ``execproto run`` (a ``register(registry)`` function, or a
module-level ``registry`` that is a :class:`~execproto.runtime.registry.ToolRegistry`). Every
operation becomes the MCP tool ``tool.operation`` with its JSON Schema, executed through a
:class:`~execproto.runtime.executor.ToolExecutor` (validation, retries, timeouts); see
:func:`execproto.integrations.mcp_server.mcp_server`. An MCP host starts it as a subprocess, e.g.::

    {"command": "execproto", "args": ["serve-mcp", "--tools", "examples.tools"]}

stdout carries the protocol; diagnostics go to stderr. Exit codes: 0 when the client
closes the connection, 2 bad input (tools that cannot be loaded, MCP SDK not installed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from execproto._cli.run import PlanError, load_tools
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.registry import ToolRegistry

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve-mcp`` subcommand's arguments to *parser*."""
    parser.add_argument(
        "--tools",
        required=True,
        metavar="MODULE",
        help="module providing register(registry) or a module-level ToolRegistry 'registry'",
    )
    parser.add_argument("--name", default="execproto", help="server name shown to clients")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-attempt timeout for operations that set none (default: none)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=10,
        metavar="N",
        help="most tool calls running at once (default: 10)",
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between progress notifications of a running call (default: 1)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve the tools named by *args* over stdio until the client disconnects."""
    try:
        from execproto.integrations.mcp_server import serve_mcp
    except ImportError as err:
        print(f"execproto serve-mcp: {err}", file=sys.stderr)
        return 2
    try:
        provider = load_tools(args.tools)
    except PlanError as err:
        print(f"execproto serve-mcp: {err}", file=sys.stderr)
        return 2
    if not isinstance(provider, ToolRegistry):
        print(
            f"execproto serve-mcp: the tools module {args.tools!r} provides a "
            f"{type(provider).__name__}; serving needs a ToolRegistry (to list the operations): "
            f"define register(registry) in the module",
            file=sys.stderr,
        )
        return 2
    try:
        executor = ToolExecutor(provider, timeout=args.timeout)
        with executor:
            asyncio.run(
                serve_mcp(
                    provider,
                    executor=executor,
                    name=args.name,
                    max_concurrency=args.max_concurrency,
                    progress_interval=args.progress_interval,
                )
            )
    except ValueError as err:
        print(f"execproto serve-mcp: {err}", file=sys.stderr)
        return 2
    return 0
