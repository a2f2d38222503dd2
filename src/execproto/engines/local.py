"""The ``local`` engine: operations run in this process, with the tool executor as given.

The default engine of :class:`~execproto.runtime.engine.ExecutionEngine`. It adds nothing: the tool
executor already runs async operations on the event loop and sync ones in its own bounded
thread pool, and ordering, references, DAGs and the concurrency limit live in
:class:`~execproto.runtime.operations.OperationExecutor`. Returning the executor itself keeps the
local path free of any extra layer (no additional await per operation).
"""

from __future__ import annotations

from typing import Any

from execproto.protocols import IToolExecutor, IToolProvider

__all__ = ["create_engine"]


def create_engine(
    tool_provider: IToolProvider, tool_executor: IToolExecutor, /, **options: Any
) -> IToolExecutor:
    """Return *tool_executor*: the local engine runs operations exactly as it does.

    *tool_provider* is accepted for the engine contract (see :mod:`execproto.runtime.engine`) and
    not needed here. The local engine takes no options.

    Raises:
        TypeError: *options* is not empty.
    """
    if options:
        raise TypeError(
            f"the local engine takes no options, got {sorted(options)!r}; engine options "
            f"are for engines such as 'dask' that run operations elsewhere"
        )
    return tool_executor
