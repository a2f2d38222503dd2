"""The contract test kit: prove that an implementation keeps its protocol's promises.

One reusable pytest suite per protocol — :class:`ToolProviderContract`,
:class:`ToolExecutorContract`, :class:`CacheProviderContract`,
:class:`OperationExecutorContract`, :class:`ExecutionInterfaceContract` — that you subclass
and give a factory::

    from execproto.testing import ToolExecutorContract

    class TestMyExecutor(ToolExecutorContract):
        def make_executor(self):
            return MyExecutor()

Each check states one promise in its name and, when it fails, in its message, with what
the implementation did. By default every rule of execproto's protocols is checked; the
``seed`` profile (``profile = "seed"`` on the subclass, or ``--execproto-profile=seed``)
checks only what the seed design document promises. Hypothesis-driven checks draw from a
fixed seed, so a run's verdict is the same every time (``--hypothesis-seed`` draws other
examples). Hypothesis strategies and a cache state machine live in
:mod:`execproto.testing.strategies`; the pytest plugin (:mod:`execproto.testing.plugin`)
adds a marker, an option, fixtures and profiles. The suites drive coroutines with
:func:`asyncio.run`, so no async test plugin is needed.

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
        PROFILES,
        CacheProviderContract,
        Contract,
        ExecutionInterfaceContract,
        OperationExecutorContract,
        ToolExecutorContract,
        ToolProviderContract,
    )

__all__ = [
    "CONTRACT_TASKS",
    "PROFILES",
    "CacheProviderContract",
    "Calculator",
    "Contract",
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
        "PROFILES",
        "CacheProviderContract",
        "Contract",
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
