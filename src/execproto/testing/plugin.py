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

The suites themselves do not depend on the plugin: without it they run, unmarked. The plugin
itself imports nothing beyond pytest when it is loaded, because pytest loads it (through the
entry point) wherever execproto is installed, even without the ``testing`` extra; the
profiles are then not registered.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from execproto.testing._clock import ManualClock
    from execproto.testing._tools import Calculator, Probe

__all__ = [
    "execproto_calculator",
    "execproto_clock",
    "execproto_probe",
    "pytest_collection_modifyitems",
    "pytest_configure",
]

MARKER = "execproto_contract"
_CONTRACTS = "execproto.testing.contracts"
_SUITE_NAMES = (
    "CacheProviderContract",
    "ExecutionInterfaceContract",
    "OperationExecutorContract",
    "ToolExecutorContract",
    "ToolProviderContract",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the ``execproto_contract`` marker, and the profiles if hypothesis is there.

    First among the plugins: hypothesis's own plugin loads ``--hypothesis-profile`` in its
    ``pytest_configure``, so the profiles must exist by then.
    """
    config.addinivalue_line(
        "markers", f"{MARKER}: a check that comes from an execproto.testing contract suite"
    )
    # The plugin is loaded by every pytest run where execproto is installed, with or without
    # the ``testing`` extra: nothing optional may be imported unless it is there.
    if importlib.util.find_spec("hypothesis") is not None:
        _register_profiles()


def _register_profiles() -> None:
    from hypothesis import HealthCheck, settings

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every collected check that a contract suite defines with ``execproto_contract``.

    Tests a user adds to a suite subclass are left unmarked.
    """
    for item in items:
        cls = getattr(item, "cls", None)
        function = getattr(item, "function", None)
        if (
            isinstance(cls, type)
            and _is_suite(cls)
            and getattr(function, "__module__", None) == _CONTRACTS
        ):
            item.add_marker(MARKER)


def _is_suite(cls: type) -> bool:
    # By name, not issubclass: importing the suites here would import hypothesis.
    return any(
        base.__module__ == _CONTRACTS and base.__qualname__ in _SUITE_NAMES for base in cls.__mro__
    )


# The fixtures import on use: their modules live in execproto.testing, whose package imports
# the contract suites and with them hypothesis.


@pytest.fixture
def execproto_clock() -> ManualClock:
    """A :class:`~execproto.testing.ManualClock` starting at 0.

    Raises:
        ImportError: the ``testing`` extra (hypothesis) is not installed.
    """
    from execproto.testing._clock import ManualClock

    return ManualClock()


@pytest.fixture
def execproto_calculator() -> Calculator:
    """A fresh :class:`~execproto.testing.Calculator`.

    Raises:
        ImportError: the ``testing`` extra (hypothesis) is not installed.
    """
    from execproto.testing._tools import Calculator

    return Calculator()


@pytest.fixture
def execproto_probe() -> Probe:
    """A fresh :class:`~execproto.testing.Probe`.

    Raises:
        ImportError: the ``testing`` extra (hypothesis) is not installed.
    """
    from execproto.testing._tools import Probe

    return Probe()
