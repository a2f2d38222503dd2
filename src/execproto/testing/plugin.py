"""The pytest plugin of the contract kit: fixtures, a marker and hypothesis profiles.

Installed with execproto (entry point ``pytest11``), so ``pip install execproto[testing]``
is enough; load it by hand with ``pytest -p execproto.testing.plugin``. It provides:

* the marker ``execproto_contract``, put on every check that comes from a contract suite,
  so ``pytest -m execproto_contract`` runs only those (and ``-m "not execproto_contract"``
  everything else); registered, so ``--strict-markers`` accepts it;
* the fixtures ``execproto_clock`` (a :class:`~execproto.testing.ManualClock`),
  ``execproto_calculator`` and ``execproto_probe`` (fresh kit tools);
* the hypothesis profiles ``execproto`` (few examples, no deadline: executors with thread
  pools have uneven latency) and ``execproto-thorough`` (many examples, for a nightly run),
  chosen with ``--hypothesis-profile``. Nothing is loaded unless asked for.

The suites themselves do not depend on the plugin: without it they run, unmarked.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from execproto.testing._clock import ManualClock
from execproto.testing._tools import Calculator, Probe
from execproto.testing.contracts import (
    CacheProviderContract,
    ExecutionInterfaceContract,
    OperationExecutorContract,
    ToolExecutorContract,
    ToolProviderContract,
)

__all__ = [
    "execproto_calculator",
    "execproto_clock",
    "execproto_probe",
    "pytest_collection_modifyitems",
    "pytest_configure",
]

MARKER = "execproto_contract"
_SUITES = (
    CacheProviderContract,
    ExecutionInterfaceContract,
    OperationExecutorContract,
    ToolExecutorContract,
    ToolProviderContract,
)

settings.register_profile(
    "execproto",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "execproto-thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``execproto_contract`` marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}: a check that comes from an execproto.testing contract suite"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every collected check that a contract suite defines with ``execproto_contract``.

    Tests a user adds to a suite subclass are left unmarked.
    """
    for item in items:
        cls = getattr(item, "cls", None)
        function = getattr(item, "function", None)
        if (
            isinstance(cls, type)
            and issubclass(cls, _SUITES)
            and getattr(function, "__module__", None) == "execproto.testing.contracts"
        ):
            item.add_marker(MARKER)


@pytest.fixture
def execproto_clock() -> ManualClock:
    """A :class:`~execproto.testing.ManualClock` starting at 0."""
    return ManualClock()


@pytest.fixture
def execproto_calculator() -> Calculator:
    """A fresh :class:`~execproto.testing.Calculator`."""
    return Calculator()


@pytest.fixture
def execproto_probe() -> Probe:
    """A fresh :class:`~execproto.testing.Probe`."""
    return Probe()
