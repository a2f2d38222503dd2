"""The contract test kit: prove that an implementation keeps its protocol's promises.

One reusable pytest suite per protocol — :class:`ToolProviderContract`,
:class:`ToolExecutorContract`, :class:`CacheProviderContract`,
:class:`OperationExecutorContract`, :class:`ExecutionInterfaceContract` — that you subclass
and give a factory::

    from execproto.testing import ToolExecutorContract

    class TestMyExecutor(ToolExecutorContract):
        def make_executor(self):
            return MyExecutor()

Hypothesis strategies and a cache state machine live in :mod:`execproto.testing.strategies`;
the pytest plugin (:mod:`execproto.testing.plugin`) adds a marker, fixtures and profiles.
The suites drive coroutines with :func:`asyncio.run`, so no async test plugin is needed.

This package needs the ``testing`` extra (pytest, hypothesis); ``import execproto`` never
imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from execproto.testing._clock import ManualClock
from execproto.testing._tools import Calculator, ContractToolError, Probe

if TYPE_CHECKING:
    from execproto.testing.contracts import (
        CONTRACT_TASKS,
        CacheProviderContract,
        ExecutionInterfaceContract,
        OperationExecutorContract,
        ToolExecutorContract,
        ToolProviderContract,
    )

__all__ = [
    "CONTRACT_TASKS",
    "CacheProviderContract",
    "Calculator",
    "ContractToolError",
    "ExecutionInterfaceContract",
    "ManualClock",
    "OperationExecutorContract",
    "Probe",
    "ToolExecutorContract",
    "ToolProviderContract",
]

_FROM_CONTRACTS = frozenset(
    {
        "CONTRACT_TASKS",
        "CacheProviderContract",
        "ExecutionInterfaceContract",
        "OperationExecutorContract",
        "ToolExecutorContract",
        "ToolProviderContract",
    }
)


def __getattr__(name: str) -> Any:
    # The suites need hypothesis; importing them on first use lets the pytest plugin (a
    # submodule, loaded wherever execproto is installed) import this package without it.
    if name in _FROM_CONTRACTS:
        from execproto.testing import contracts

        return getattr(contracts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
