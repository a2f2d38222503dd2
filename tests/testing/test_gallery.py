"""Every contract check fails on a deliberately broken implementation, and each exhibit of
the gallery (``tests/testing/gallery``) fails exactly the checks it names.

The suites run whole against every exhibit of a gallery module, in process, in one fresh
pytest session per module (``pytest.main``); each exhibit's outcomes are read from that
session's reports.
"""

from __future__ import annotations

import gc
import importlib.metadata
import inspect
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from execproto.testing import contracts
from tests.testing.gallery import EXHIBITS, MODULES, Exhibit

PLUGIN = "execproto.testing.plugin"
SUITES: tuple[type[contracts.Contract], ...] = (
    contracts.ToolProviderContract,
    contracts.ToolExecutorContract,
    contracts.CacheProviderContract,
    contracts.OperationExecutorContract,
    contracts.ExecutionInterfaceContract,
)


def checks_of(suite: type[contracts.Contract]) -> set[str]:
    """The names of the checks *suite* defines (test methods from the contracts module)."""
    return {
        name
        for name, member in inspect.getmembers(suite, inspect.isfunction)
        if name.startswith("test_") and member.__module__ == contracts.__name__
    }


def suite_of(exhibit: Exhibit) -> type[contracts.Contract]:
    return next(suite for suite in SUITES if issubclass(exhibit.suite, suite))


@dataclass
class Outcomes:
    """What each check of one exhibit's suite did."""

    failed: set[str] = field(default_factory=set[str])
    passed: set[str] = field(default_factory=set[str])
    skipped: set[str] = field(default_factory=set[str])
    errors: list[str] = field(default_factory=list[str])
    messages: dict[str, str] = field(default_factory=dict[str, str])


class _Recorder:
    """A pytest plugin that files each report under its exhibit's test class."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcomes] = {}
        self.collection: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        _, cls, name = report.nodeid.split("::")
        outcomes = self.outcomes.setdefault(cls, Outcomes())
        if report.when == "call" and report.failed:
            outcomes.failed.add(name)
            outcomes.messages[name] = str(report.longrepr)
        elif report.when == "call" and report.passed:
            outcomes.passed.add(name)
        elif report.skipped:
            outcomes.skipped.add(name)
        elif report.failed:
            outcomes.errors.append(f"{name} ({report.when}): {report.longrepr}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection.append(str(report.longrepr))


def _plugin_args() -> list[str]:
    # Once the plugin is installed through its entry point, loading it again with -p would
    # register the module twice.
    installed = any(
        entry.value == PLUGIN for entry in importlib.metadata.entry_points(group="pytest11")
    )
    return [] if installed else ["-p", PLUGIN]


def run_module(directory: Path, module: ModuleType) -> dict[str, Outcomes]:
    """Run the suite of every exhibit of gallery *module* in one session; by test class."""
    name = module.__name__.rpartition(".")[2]
    exhibits: list[Exhibit] = module.EXHIBITS
    lines = [f"from {module.__name__} import EXHIBITS"]
    lines += [
        f"{exhibit.suite_class().__name__} = EXHIBITS[{index}].suite_class()"
        for index, exhibit in enumerate(exhibits)
    ]
    path = directory / f"test_gallery_{name}.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    recorder = _Recorder()
    # Without pytest-asyncio: the suites must not need an async test plugin.
    arguments = [*_plugin_args(), "-p", "no:asyncio", "-p", "no:cacheprovider", "-q", str(path)]
    # The session starts from Python's default warning filters, not this one's errors: a
    # broken implementation's never-awaited coroutine warns wherever it is collected.
    with warnings.catch_warnings():
        warnings.resetwarnings()
        pytest.main([*arguments, "--rootdir", str(directory)], plugins=[recorder])
    assert [] == recorder.collection, f"the gallery module {name} did not collect"
    # A broken implementation may leave coroutines never awaited; their warnings are its
    # doing, not this test's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()
    return recorder.outcomes


class _Gallery:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runs: dict[str, dict[str, Outcomes]] = {}

    def outcomes(self, exhibit: Exhibit) -> Outcomes:
        module = next(module for module in MODULES if exhibit in module.EXHIBITS)
        if module.__name__ not in self.runs:
            self.runs[module.__name__] = run_module(self.directory, module)
        return self.runs[module.__name__].get(exhibit.suite_class().__name__, Outcomes())


@pytest.fixture(scope="session")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> _Gallery:
    return _Gallery(tmp_path_factory.mktemp("gallery"))


@pytest.mark.parametrize("exhibit", EXHIBITS, ids=[exhibit.name for exhibit in EXHIBITS])
def test_the_suite_fails_exactly_the_checks_the_exhibit_breaks(
    gallery: _Gallery, exhibit: Exhibit
) -> None:
    outcomes = gallery.outcomes(exhibit)
    assert [] == outcomes.errors, f"{exhibit.name}: errors outside the checks"
    unexpected = {name: outcomes.messages[name] for name in outcomes.failed - exhibit.fails}
    assert sorted(exhibit.fails) == sorted(outcomes.failed), (
        f"{exhibit.name} ({exhibit.why}) must fail exactly {sorted(exhibit.fails)}; it failed "
        f"{sorted(outcomes.failed)}; unexpected failures: {unexpected}"
    )
    ran = outcomes.failed | outcomes.passed | outcomes.skipped
    assert sorted(checks_of(suite_of(exhibit))) == sorted(ran), "every check ran or was skipped"
    unstated = sorted(name for name, text in outcomes.messages.items() if not PROMISE.search(text))
    assert [] == unstated, f"{exhibit.name}: failures that do not state the promise broken"


# A failure reads "AssertionError: <the promise, with 'must'>; <what the implementation did>".
PROMISE = re.compile(r"^E +AssertionError: [^\n]* must [^\n]*; ", re.MULTILINE)


def test_a_failure_states_the_promise_and_what_the_implementation_did(gallery: _Gallery) -> None:
    exhibit = next(item for item in EXHIBITS if item.name == "ReturnsNoneForUnknownNames")
    message = gallery.outcomes(exhibit).messages[
        "test_get_tool_raises_lookup_error_for_an_unknown_name"
    ]
    assert (
        "AssertionError: get_tool(name) must raise LookupError for an unknown name; "
        "get_tool('missing') returned None"
    ) in message


def _failed_by_some_exhibit(suite: type[contracts.Contract]) -> set[str]:
    return {name for exhibit in EXHIBITS if suite_of(exhibit) is suite for name in exhibit.fails}


@pytest.mark.parametrize("suite", SUITES, ids=[suite.__name__ for suite in SUITES])
def test_every_check_fails_on_some_exhibit(suite: type[contracts.Contract]) -> None:
    named = _failed_by_some_exhibit(suite)
    assert [] == sorted(checks_of(suite) - named), "checks no exhibit fails"
    assert [] == sorted(named - checks_of(suite)), "exhibits name checks that do not exist"


def test_every_exhibit_has_its_own_name() -> None:
    names = [exhibit.name for exhibit in EXHIBITS]
    assert sorted(set(names)) == sorted(names)
