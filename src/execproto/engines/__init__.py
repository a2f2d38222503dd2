"""Execution engines: where operations run (this process, a cluster).

An engine is a factory ``(tool_provider, tool_executor, /, **options) -> IToolExecutor``;
the contract is documented in :mod:`execproto.runtime.engine`. Engines are found by name through
the entry-point group ``execproto.engines``; ``local`` (:mod:`execproto.engines.local`) is
built in and the default.
"""

from __future__ import annotations

__all__: list[str] = []
