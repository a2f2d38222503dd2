"""The pytest plugin of the contract kit: fixtures, a marker and hypothesis profiles.

Installed with execproto (entry point ``pytest11``), so ``pip install execproto[testing]``
is enough; load it by hand with ``pytest -p execproto.testing.plugin``. It provides:

* the marker ``execproto_contract``, put on every check that comes from a contract suite,
  so ``pytest -m execproto_contract`` runs only those (and ``-m "not execproto_contract"``
  everything else); registered, so ``--strict-markers`` accepts it;
* the option ``--execproto-profile={execproto,seed}``: which promises the suites check when
  a suite does not set ``profile`` itself; ``seed`` checks only what the seed design
  document promises and skips the stricter execproto rules, each with its reason;
* the fixtures ``execproto_clock`` (a :class:`~execproto.testing.ManualClock`),
  ``execproto_calculator`` and ``execproto_probe`` (fresh kit tools);
* the hypothesis profiles ``execproto`` (what the suites use unless told otherwise: 25
  examples from a fixed seed, no deadline, no example database) and ``execproto-thorough``
  (500 examples from a fresh seed, for a nightly run), loaded with
  ``--hypothesis-profile``; ``--hypothesis-seed`` is honoured by every suite.

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
    "pytest_addoption",
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


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--execproto-profile``: the promises the suites check unless they set ``profile``."""
    parser.getgroup("execproto", "execproto contract kit").addoption(
        "--execproto-profile",
        choices=("execproto", "seed"),
        default=None,
        help=(
            "which promises the contract suites check: execproto (every rule of execproto's "
            "protocols, the default) or seed (only the seed document's; the stricter rules "
            "are skipped with their reason)"
        ),
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
        from execproto.testing._profiles import register_profiles

        register_profiles()


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
