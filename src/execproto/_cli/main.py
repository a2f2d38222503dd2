"""The ``execproto`` command line: ``execproto check``, ``execproto run``, ``execproto serve-mcp``.

Each subcommand lives in its own private module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Those modules import their optional dependencies (rich, mypy) only
when they run, so ``execproto --help`` stays fast and works with the core install alone.

Exit codes: 0 success, 1 a negative verdict (non-conformance, a failed step), 2 bad input
(unimportable target, unknown protocol, malformed plan).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

# name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "execproto._cli.check",
        "report which protocols an object or class conforms to, and every problem",
    ),
    "run": (
        "execproto._cli.run",
        "run an operation plan (sequence, parallel or DAG) and print its step results",
    ),
    "serve-mcp": (
        "execproto._cli.serve_mcp",
        "publish a tools module's operations as MCP tools over stdio",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="execproto", description="Execution-layer protocols: conformance and plans."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in _COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``); return the exit code."""
    args = _parser().parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        code: int = module.run(args)
    except BrokenPipeError:
        # The reader went away (``execproto run --json ... | head``): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
