"""Tests of the contract kit itself: the plugin, the profiles of promises and of hypothesis
settings, forced thread interleaving, the strategies, state machine and clock. That every
check fails on a deliberately broken implementation (the kit's teeth) is shown by the gallery:
``test_gallery.py``."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from examples.contract_example import LruTtlCache
from hypothesis import given, settings
from hypothesis.stateful import run_state_machine_as_test

from execproto.testing import ManualClock, strategies

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "execproto.testing.plugin"

# Broken implementations fail fast without shrinking: the tests here only need the verdict.
HEADER = """
import asyncio
from hypothesis import HealthCheck, Phase, settings
from examples.contract_example import *
from execproto.testing import *

class NoShrink:
    hypothesis_settings = settings(
        max_examples=25,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
"""


def _plugin_args() -> list[str]:
    # Once the plugin is installed through its entry point, loading it again with -p would
    # register the module twice.
    installed = any(
        entry.value == PLUGIN for entry in importlib.metadata.entry_points(group="pytest11")
    )
    return [] if installed else ["-p", PLUGIN]


def run_contract(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.syspathinsert(REPO)
    source = textwrap.dedent(source).replace("class TestBroken(", "class TestBroken(NoShrink, ")
    pytester.makepyfile(test_broken=HEADER + source)
    # Without pytest-asyncio: the suites must not need an async test plugin.
    return pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", "-p", "no:asyncio", *args)


def test_suite_passes_a_correct_implementation_and_the_plugin_marks_its_checks(
    pytester: pytest.Pytester,
) -> None:
    source = """
    class TestBroken(ToolProviderContract):
        def make_provider(self, tools):
            return DictToolProvider(tools)

        def test_own_check(self):
            assert True
    """
    result = run_contract(pytester, source, "--strict-markers", "-m", "execproto_contract")
    result.assert_outcomes(passed=7, skipped=2, deselected=1)


def test_unopted_behaviour_is_skipped_with_a_reason(pytester: pytest.Pytester) -> None:
    source = """
    class TestBroken(OperationExecutorContract):
        def make_operation_executor(self, tools):
            return GatherOperationExecutor(DictToolProvider(tools))
    """
    result = run_contract(pytester, source, "-rs", "-k", "concurrency_limit")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*declare concurrency_limit*"])


def test_missing_factory_fails_with_a_message_naming_it(pytester: pytest.Pytester) -> None:
    source = """
    class TestBroken(CacheProviderContract):
        maxsize = 4
    """
    result = run_contract(
        pytester, source, "-k", "test_get_from_cache_returns_none_for_a_key_never_stored"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TestBroken must implement make_cache()*"])


def test_plugin_registers_fixtures_and_profiles(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
        from hypothesis import settings

        def test_fixtures(execproto_clock, execproto_calculator, execproto_probe):
            execproto_clock.advance(2)
            assert 2 == execproto_clock()
            assert 3 == execproto_calculator.add(1, 2)
            assert 0 == execproto_probe.max_in_flight
            assert 25 == settings.get_profile("execproto").max_examples
            assert 500 == settings.default.max_examples
        """
    )
    result = pytester.runpytest(
        *_plugin_args(),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "--hypothesis-profile=execproto-thorough",
    )
    result.assert_outcomes(passed=1)


# Run in a fresh interpreter where hypothesis cannot be imported: pytest loads the plugin (by
# name, as its entry point would) and runs a test that uses the marker under --strict-markers.
# Autoload is off because hypothesis's own pytest plugin is installed here and would need it.
_WITHOUT_HYPOTHESIS = """
import importlib.util, sys, types
import pytest
sys.modules["hypothesis"] = None
if sys.argv[1] == "bypass-package":
    testing = importlib.util.find_spec("execproto.testing")
    package = types.ModuleType("execproto.testing")
    package.__path__ = list(testing.submodule_search_locations)
    sys.modules["execproto.testing"] = package
code = pytest.main(["-p", "execproto.testing.plugin", "--strict-markers", "-q", sys.argv[2]])
sys.exit(int(code))
"""

_MARKED_TEST = """
import pytest

@pytest.mark.execproto_contract
def test_marked():
    pass
"""


def _pytest_without_hypothesis(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_marked.py"
    test.write_text(_MARKED_TEST, encoding="utf-8")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_HYPOTHESIS, mode, str(test)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )


def test_the_plugin_module_imports_nothing_optional(tmp_path: Path) -> None:
    # The package execproto.testing is replaced by a bare one: this proves the plugin module's
    # own imports, whatever the package's __init__ imports.
    completed = _pytest_without_hypothesis(tmp_path, "bypass-package")
    assert 0 == completed.returncode, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout


def test_pytest_loads_the_plugin_without_hypothesis(tmp_path: Path) -> None:
    completed = _pytest_without_hypothesis(tmp_path, "whole-package")
    assert 0 == completed.returncode, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout


def test_importing_execproto_does_not_import_the_kit() -> None:
    code = "import sys, execproto; print(sorted({'pytest', 'hypothesis'} & set(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "[]" == completed.stdout.strip()


def test_cache_state_machine_accepts_a_correct_cache() -> None:
    machine = strategies.cache_state_machine(lambda: LruTtlCache(maxsize=4), maxsize=4)
    run_state_machine_as_test(machine, settings=settings(max_examples=10, deadline=None))


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(10.0)
    clock.advance(2.5)
    assert 12.5 == clock()
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="finite"):
        ManualClock(float("inf"))


@settings(max_examples=30, deadline=None)
@given(spec=strategies.malformed_specs())
def test_malformed_specs_are_never_well_formed(spec: str) -> None:
    parts = spec.split(".")
    assert not (len(parts) == 2 and all(p.isidentifier() and not p.startswith("_") for p in parts))


@settings(max_examples=30, deadline=None)
@given(spec=strategies.operation_specs())
def test_operation_specs_are_two_public_identifiers(spec: str) -> None:
    tool, operation = spec.split(".")
    assert (True, True) == (tool.isidentifier(), operation.isidentifier())
    assert (False, False) == (tool.startswith("_"), operation.startswith("_"))


def _resolve(value: Any, results: list[Any]) -> Any:
    if isinstance(value, str) and value.startswith("$result["):
        index, _, path = value[len("$result[") :].partition("]")
        resolved = results[int(index)]
        for key in filter(None, path.split(".")):
            resolved = resolved[key]
        return resolved
    if isinstance(value, list):
        return [_resolve(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, results) for key, item in value.items()}
    return value


@settings(max_examples=30, deadline=None)
@given(plan=strategies.referencing_plans())
def test_referencing_plans_predict_what_resolving_gives(plan: strategies.ReferencingPlan) -> None:
    results: list[Any] = []
    for item in plan.items:
        results.append(_resolve(item["params"]["value"], results))
    assert plan.expected == results


@settings(max_examples=30, deadline=None)
@given(plan=strategies.dag_plans())
def test_dag_plans_depend_only_on_existing_earlier_ids(plan: list[dict[str, Any]]) -> None:
    ids = [item["id"] for item in plan]
    assert len(ids) == len(set(ids))
    for item in plan:
        for upstream in item.get("depends_on", []):
            assert int(upstream.removeprefix("step")) < int(item["id"].removeprefix("step"))


@settings(max_examples=30, deadline=None)
@given(pair=strategies.distinct_key_inputs())
def test_distinct_key_inputs_differ_type_aware(
    pair: tuple[strategies.KeyInput, strategies.KeyInput],
) -> None:
    assert strategies.canonical(pair[0]) != strategies.canonical(pair[1])


def test_canonical_tells_types_apart_and_ignores_dict_order() -> None:
    forms = [strategies.canonical(value) for value in (1, 1.0, True, "1", (1,), [1], None)]
    assert len(forms) == len(set(forms))
    assert strategies.canonical({"a": 1, "b": 2}) == strategies.canonical({"b": 2, "a": 1})
    with pytest.raises(TypeError, match="JSON-like"):
        strategies.canonical(object())


@settings(max_examples=20, deadline=None)
@given(params=strategies.parameter_dicts())
def test_parameter_dicts_have_identifier_keys(params: dict[str, Any]) -> None:
    assert [] == [key for key in params if not key.isidentifier()]


# What the suites promise about themselves: the same verdict on every run, hypothesis's own
# seed option honoured, the seed profile, and the interpreter left as it was found.

RECORDING_EXECUTOR = """
from examples.contract_example import ThreadedToolExecutor
from execproto.testing import ToolExecutorContract

class Recording(ThreadedToolExecutor):
    def execute(self, tool, operation_name, /, **params):
        if operation_name == "echo":
            with open("drawn.txt", "a", encoding="utf-8") as drawn:
                drawn.write(repr(params["value"])[:80] + "\\n")
        return super().execute(tool, operation_name, **params)

class TestRecorded(ToolExecutorContract):
    def make_executor(self):
        return Recording()
"""


def _drawn(pytester: pytest.Pytester, *args: str) -> list[str]:
    pytester.syspathinsert(REPO)
    pytester.makepyfile(test_recorded=RECORDING_EXECUTOR)
    drawn = pytester.path / "drawn.txt"
    drawn.unlink(missing_ok=True)
    result = pytester.runpytest(
        *_plugin_args(),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-k",
        "test_execute_and_execute_async_return_equal_values",
        *args,
    )
    result.assert_outcomes(passed=1)
    return drawn.read_text(encoding="utf-8").splitlines()


def test_the_suites_draw_the_same_examples_on_every_run(pytester: pytest.Pytester) -> None:
    first = _drawn(pytester)
    assert 25 <= len(first)
    assert first == _drawn(pytester)


def test_the_suites_honour_hypothesis_seed(pytester: pytest.Pytester) -> None:
    default = _drawn(pytester)
    one = _drawn(pytester, "--hypothesis-seed=1")
    assert one == _drawn(pytester, "--hypothesis-seed=1")
    assert default != one
    assert one != _drawn(pytester, "--hypothesis-seed=2")


SEED_PROVIDER = """
from examples.contract_example import DictToolProvider
from execproto.testing import ToolProviderContract

class SeedProvider(DictToolProvider):
    def get_tool(self, tool_name):
        if tool_name not in self._tools:
            raise ValueError(f"Tool '{tool_name}' not found")
        return self._tools[tool_name]

class TestSeedProvider(ToolProviderContract):
    PROFILE

    def make_provider(self, tools):
        return SeedProvider(tools)
"""

BEYOND_SEED_REASON = (
    "*profile 'seed' checks only the seed document's promises; the seed document does not "
    "say what get_tool does for an unknown name*"
)


def _run_seed_provider(pytester: pytest.Pytester, profile: str, *args: str) -> pytest.RunResult:
    pytester.syspathinsert(REPO)
    pytester.makepyfile(test_seed=SEED_PROVIDER.replace("PROFILE", profile))
    return pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", "-p", "no:asyncio", *args)


def test_the_execproto_profile_checks_the_stricter_rules(pytester: pytest.Pytester) -> None:
    result = _run_seed_provider(pytester, "pass", "-rf")
    result.assert_outcomes(passed=6, failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*get_tool(name) must raise LookupError for an unknown name; get_tool('missing') "
            "raised ValueError*"
        ]
    )


def test_the_seed_profile_skips_the_rules_beyond_the_seed_with_their_reason(
    pytester: pytest.Pytester,
) -> None:
    result = _run_seed_provider(pytester, 'profile = "seed"', "-rs")
    result.assert_outcomes(passed=4, skipped=5)
    result.stdout.fnmatch_lines([BEYOND_SEED_REASON])


def test_the_plugin_option_chooses_the_seed_profile(pytester: pytest.Pytester) -> None:
    result = _run_seed_provider(pytester, "pass", "-rs", "--execproto-profile=seed")
    result.assert_outcomes(passed=4, skipped=5)
    result.stdout.fnmatch_lines([BEYOND_SEED_REASON])


def test_a_profile_that_does_not_exist_is_refused(pytester: pytest.Pytester) -> None:
    result = _run_seed_provider(pytester, 'profile = "strict"', "-k", "each_registered")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TestSeedProvider.profile must be one of execproto, seed*"])


def _unlocked_cache_suite() -> Any:
    from tests.testing.gallery import caches

    unlocked = next(item for item in caches.EXHIBITS if item.name == "UnlockedLruCache")
    return unlocked.suite_class()()


def test_the_thread_safety_check_fails_an_unlocked_cache_every_time() -> None:
    suite = _unlocked_cache_suite()
    for _ in range(20):
        with pytest.raises(AssertionError, match="safe to call from several threads at once"):
            suite.test_the_cache_is_safe_from_several_threads_at_once()


def test_the_thread_safety_checks_restore_the_switch_interval() -> None:
    from tests.contracts.test_reference_contracts import TestMemoryCacheProvider

    before = sys.getswitchinterval()
    TestMemoryCacheProvider().test_the_cache_is_safe_from_several_threads_at_once()
    assert before == sys.getswitchinterval()
    with pytest.raises(AssertionError):
        _unlocked_cache_suite().test_the_cache_is_safe_from_several_threads_at_once()
    assert before == sys.getswitchinterval()
