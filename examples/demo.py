"""`make demo`: what the foundation can show so far, on embedded defaults (no server).

Checks the third-party-style executors in ``examples/third_party.py`` against the
protocols with ``isinstance`` and calls the conforming one.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from examples.third_party import EchoExecutor, NotAnExecutor, SyncOnlyExecutor
from execproto import IToolExecutor


class Greeter:
    def greet(self, tool: str, operation_name: str) -> str:
        return f"{tool} says {operation_name}"


def main() -> int:
    for cls in (EchoExecutor, SyncOnlyExecutor, NotAnExecutor):
        verdict = isinstance(cls(), IToolExecutor)
        print(f"isinstance({cls.__name__}(), IToolExecutor) = {verdict}")
    executor = EchoExecutor()
    print(executor.execute(Greeter(), "greet", tool="hammer", operation_name="hello"))
    print(asyncio.run(executor.execute_async(Greeter(), "greet", tool="saw", operation_name="hi")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
