"""Tests of the contract kit itself: every suite fails on a deliberately broken
implementation (its teeth), and the strategies, state machine, clock and plugin work."""

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


def assert_only_failure(pytester: pytest.Pytester, source: str, test_name: str) -> None:
    node = f"test_broken.py::TestBroken::{test_name}"
    result = run_contract(pytester, source, "-rf", node)
    # A broken implementation may also break the test's teardown (an error); what matters is
    # that the contract check itself failed.
    assert (1, 0) == (result.parseoutcomes().get("failed"), result.parseoutcomes().get("passed", 0))
    result.stdout.fnmatch_lines([f"FAILED {node}*"])


PROVIDER = """
class TestBroken(ToolProviderContract):
    def make_provider(self, tools):
        return Broken(tools)

    def register_tool(self, provider, name, tool):
        provider.register(name, tool)

    def unregister_tool(self, provider, name):
        provider.unregister(name)
"""

BROKEN_PROVIDERS = {
    "forgets_unregister": (
        """
        class Broken(DictToolProvider):
            def unregister(self, name):
                pass
        """,
        "test_unregistered_tool_is_no_longer_found",
    ),
    "returns_none_for_unknown": (
        """
        class Broken(DictToolProvider):
            def get_tool(self, tool_name):
                return self._tools.get(tool_name)
        """,
        "test_unregistered_name_is_not_found",
    ),
    "finds_its_own_attributes": (
        """
        class Broken(DictToolProvider):
            def get_tool(self, tool_name):
                if self.has_tool(tool_name):
                    return self._tools.get(tool_name) or getattr(self, tool_name)
                raise LookupError(tool_name)

            def has_tool(self, tool_name):
                return tool_name in self._tools or hasattr(self, tool_name)
        """,
        "test_provider_attributes_are_not_tools",
    ),
    "has_tool_disagrees_with_get_tool": (
        """
        class Broken(DictToolProvider):
            def has_tool(self, tool_name):
                return tool_name.lower() in {name.lower() for name in self._tools}
        """,
        "test_has_tool_agrees_with_get_tool",
    ),
}


@pytest.mark.parametrize(
    ("broken", "test_name"), BROKEN_PROVIDERS.values(), ids=list(BROKEN_PROVIDERS)
)
def test_provider_contract_fails_a_broken_provider(
    pytester: pytest.Pytester, broken: str, test_name: str
) -> None:
    assert_only_failure(pytester, textwrap.dedent(broken) + PROVIDER, test_name)


EXECUTOR = """
class TestBroken(ToolExecutorContract):
    def make_executor(self):
        return Broken()
"""

BROKEN_EXECUTORS = {
    "async_path_differs": (
        """
        class Broken(ThreadedToolExecutor):
            async def execute_async(self, tool, operation_name, /, **params):
                result = await super().execute_async(tool, operation_name, **params)
                return [result] if isinstance(result, list) else result
        """,
        "test_sync_and_async_paths_return_the_same_value",
    ),
    "blocks_the_loop": (
        """
        import inspect
        class Broken(ThreadedToolExecutor):
            async def execute_async(self, tool, operation_name, /, **params):
                method = getattr(tool, operation_name)
                if inspect.iscoroutinefunction(method):
                    return await method(**params)
                return method(**params)
        """,
        "test_async_path_does_not_block_the_event_loop",
    ),
    "calls_private_names": (
        """
        class Broken(ThreadedToolExecutor):
            def execute(self, tool, operation_name, /, **params):
                if operation_name.startswith("_") and hasattr(tool, operation_name):
                    return getattr(tool, operation_name)(**params)
                return super().execute(tool, operation_name, **params)
        """,
        "test_private_names_are_not_operations",
    ),
    "evaluates_properties": (
        """
        class Broken(ThreadedToolExecutor):
            def execute(self, tool, operation_name, /, **params):
                member = getattr(tool, operation_name, None)
                if not callable(member):
                    raise ValueError(operation_name)
                return super().execute(tool, operation_name, **params)
        """,
        "test_properties_and_data_attributes_are_not_operations",
    ),
    "hides_the_error": (
        """
        class Broken(ThreadedToolExecutor):
            def execute(self, tool, operation_name, /, **params):
                try:
                    return super().execute(tool, operation_name, **params)
                except Exception as err:
                    raise RuntimeError(str(err)) from None
        """,
        "test_operation_error_reaches_the_caller",
    ),
    "does_not_validate_parameters": (
        """
        class Broken(ThreadedToolExecutor):
            def execute(self, tool, operation_name, /, **params):
                return getattr(tool, operation_name)(**params)
        """,
        "test_unacceptable_parameters_raise_value_error_before_running",
    ),
}


@pytest.mark.parametrize(
    ("broken", "test_name"), BROKEN_EXECUTORS.values(), ids=list(BROKEN_EXECUTORS)
)
def test_executor_contract_fails_a_broken_executor(
    pytester: pytest.Pytester, broken: str, test_name: str
) -> None:
    assert_only_failure(pytester, textwrap.dedent(broken) + EXECUTOR, test_name)


CACHE = """
def make():
    return Broken(maxsize=8, ttl=30.0)

class TestBroken(CacheProviderContract):
    maxsize = 8
    ttl = 30.0
    cache_factory = "test_broken:make"

    def make_cache(self):
        return make()

    def make_cache_with_clock(self, clock):
        return Broken(maxsize=8, ttl=30.0, clock=clock)
"""

BROKEN_CACHES = {
    "ignores_user_id": (
        """
        class Broken(LruTtlCache):
            def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs):
                return super().generate_cache_key(operation_type, "", task_id, args, kwargs)
        """,
        ["test_key_depends_on_every_part_of_the_context", "test_behaves_like_a_dict"],
    ),
    "ignores_task_id": (
        """
        class Broken(LruTtlCache):
            def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs):
                return super().generate_cache_key(operation_type, user_id, "", args, kwargs)
        """,
        ["test_different_contexts_get_different_keys"],
    ),
    "salted_hash_keys": (
        """
        class Broken(LruTtlCache):
            def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs):
                key = super().generate_cache_key(operation_type, user_id, task_id, args, kwargs)
                return str(hash(key))
        """,
        ["test_keys_are_the_same_in_another_process"],
    ),
    "str_fallback": (
        """
        import hashlib, json
        class Broken(LruTtlCache):
            def generate_cache_key(self, operation_type, user_id, task_id, args, kwargs):
                text = json.dumps([operation_type, user_id, task_id, args, kwargs], default=str)
                return hashlib.md5(text.encode()).hexdigest()
        """,
        ["test_unencodable_argument_raises_type_error", "test_key_tells_types_apart"],
    ),
    "never_evicts": (
        """
        class Broken(LruTtlCache):
            def add_to_cache(self, cache_key, value):
                self.maxsize = 10**9
                super().add_to_cache(cache_key, value)
        """,
        ["test_size_stays_within_maxsize"],
    ),
    "never_expires": (
        """
        class Broken(LruTtlCache):
            def __init__(self, maxsize, ttl, clock=None):
                super().__init__(maxsize, ttl)
        """,
        ["test_entries_expire_after_ttl"],
    ),
    "keeps_the_first_value": (
        """
        class Broken(LruTtlCache):
            def add_to_cache(self, cache_key, value):
                if self.get_from_cache(cache_key) is None:
                    super().add_to_cache(cache_key, value)
        """,
        ["test_add_replaces_the_value", "test_behaves_like_a_dict"],
    ),
}


@pytest.mark.parametrize(("broken", "test_names"), BROKEN_CACHES.values(), ids=list(BROKEN_CACHES))
def test_cache_contract_fails_a_broken_cache(
    pytester: pytest.Pytester, broken: str, test_names: list[str]
) -> None:
    for test_name in test_names:
        assert_only_failure(pytester, textwrap.dedent(broken) + CACHE, test_name)


def test_cache_contract_fails_a_cache_that_declares_no_bound(pytester: pytest.Pytester) -> None:
    source = """
    class TestBroken(CacheProviderContract):
        def make_cache(self):
            return LruTtlCache()
    """
    assert_only_failure(pytester, source, "test_declares_a_memory_bound")


OPERATIONS = """
class TestBroken(OperationExecutorContract):
    concurrency_limit = 2

    def make_operation_executor(self, tools):
        return Broken(DictToolProvider(tools), max_concurrency=2)
"""

BROKEN_OPERATION_EXECUTORS = {
    "completion_order": (
        """
        class Broken(GatherOperationExecutor):
            async def _in_completion_order(self, calls):
                return [await done for done in asyncio.as_completed(calls)]

            async def execute_parallel_operations(self, operations):
                return await self._in_completion_order([self._step(op) for op in operations])

            async def batch_execute_operations(self, operations):
                calls = [self.execute_operation(op["operation"], op["params"]) for op in operations]
                return await self._in_completion_order(calls)
        """,
        [
            "test_parallel_returns_step_results_in_input_order",
            "test_batch_returns_results_in_input_order",
        ],
    ),
    "no_limit": (
        """
        class Broken(GatherOperationExecutor):
            def __init__(self, provider, max_concurrency):
                super().__init__(provider, max_concurrency=1000)
        """,
        ["test_batch_honours_the_concurrency_limit", "test_parallel_honours_the_concurrency_limit"],
    ),
    "one_at_a_time": (
        """
        class Broken(GatherOperationExecutor):
            async def execute_parallel_operations(self, operations):
                return [await self._step(op) for op in operations]
        """,
        ["test_parallel_operations_run_concurrently"],
    ),
    "bare_exceptions_in_steps": (
        """
        class Broken(GatherOperationExecutor):
            async def execute_parallel_operations(self, operations):
                steps = await super().execute_parallel_operations(operations)
                return [RuntimeError(s.error_message) if s.failed else s for s in steps]
        """,
        ["test_parallel_reports_failures_as_failed_steps_with_codes"],
    ),
    "one_code_for_everything": (
        """
        import dataclasses
        class Broken(GatherOperationExecutor):
            async def execute_parallel_operations(self, operations):
                steps = await super().execute_parallel_operations(operations)
                return [
                    dataclasses.replace(s, error_code="E003") if s.failed else s for s in steps
                ]
        """,
        ["test_parallel_reports_failures_as_failed_steps_with_codes"],
    ),
    "ignores_stop_on_failure": (
        """
        class Broken(GatherOperationExecutor):
            async def execute_operations_sequence(self, operations, user_id, task_id,
                                                  stop_on_failure=False, save_callback=None):
                return await super().execute_operations_sequence(
                    operations, user_id, task_id, False, save_callback
                )
        """,
        ["test_sequence_stops_after_a_failure_when_asked"],
    ),
    "callback_error_loses_results": (
        """
        class Broken(GatherOperationExecutor):
            async def execute_operations_sequence(self, operations, user_id, task_id,
                                                  stop_on_failure=False, save_callback=None):
                steps = []
                for index, op in enumerate(operations):
                    steps.append(await self._step(op))
                    if save_callback is not None:
                        save_callback(user_id, task_id, index, steps[-1])
                return steps
        """,
        [
            "test_sequence_keeps_results_when_the_callback_fails",
            "test_sequence_awaits_an_async_save_callback_after_each_step",
        ],
    ),
    "sequence_runs_concurrently": (
        """
        class Broken(GatherOperationExecutor):
            async def execute_operations_sequence(self, operations, user_id, task_id,
                                                  stop_on_failure=False, save_callback=None):
                return await self.execute_parallel_operations(operations)
        """,
        ["test_sequence_runs_operations_one_after_another"],
    ),
}


@pytest.mark.parametrize(
    ("broken", "test_names"),
    BROKEN_OPERATION_EXECUTORS.values(),
    ids=list(BROKEN_OPERATION_EXECUTORS),
)
def test_operation_contract_fails_a_broken_executor(
    pytester: pytest.Pytester, broken: str, test_names: list[str]
) -> None:
    for test_name in test_names:
        assert_only_failure(pytester, textwrap.dedent(broken) + OPERATIONS, test_name)


def test_dependency_checks_fail_an_executor_that_ignores_depends_on(
    pytester: pytest.Pytester,
) -> None:
    source = """
    class TestBroken(OperationExecutorContract):
        supports_dependencies = True

        def make_operation_executor(self, tools):
            return Broken(DictToolProvider(tools))

    class Broken(GatherOperationExecutor):
        async def execute_operation(self, operation_spec, params):
            return await super().execute_operation(operation_spec, params)
    """
    for test_name in (
        "test_dependencies_run_before_their_dependants",
        "test_dependants_of_a_failure_are_skipped",
    ):
        assert_only_failure(pytester, source, test_name)


def test_reference_checks_fail_an_executor_that_passes_references_literally(
    pytester: pytest.Pytester,
) -> None:
    source = """
    class TestBroken(OperationExecutorContract):
        supports_result_references = True

        def make_operation_executor(self, tools):
            return GatherOperationExecutor(DictToolProvider(tools))
    """
    for test_name in (
        "test_sequence_resolves_result_references",
        "test_sequence_bad_reference_fails_the_step_with_e001",
    ):
        assert_only_failure(pytester, source, test_name)


INTERFACE = """
class TestBroken(ExecutionInterfaceContract):
    def make_execution_interface(self, tools, tasks):
        return Broken(GatherOperationExecutor(DictToolProvider(tools)), tasks)
"""

BROKEN_INTERFACES = {
    "none_for_unknown_task": (
        """
        class Broken(TaskEngine):
            async def execute_task(self, task_name, input_data, context):
                if task_name not in self.tasks:
                    return None
                return await super().execute_task(task_name, input_data, context)
        """,
        "test_unknown_task_raises_lookup_error",
    ),
    "drops_failed_tasks": (
        """
        class Broken(TaskEngine):
            async def batch_execute_tasks(self, tasks):
                results = await super().batch_execute_tasks(tasks)
                return [r for r in results if not isinstance(r, BaseException)]
        """,
        "test_batch_tasks_return_one_result_per_task_in_input_order",
    ),
    "loses_the_context": (
        """
        class Broken(TaskEngine):
            async def execute_task(self, task_name, input_data, context):
                return await super().execute_task(task_name, input_data, {})
        """,
        "test_execute_task_passes_input_and_context",
    ),
    "register_executor_raises_type_error": (
        """
        class Broken(TaskEngine):
            def register_executor(self, executor_type, executor_instance):
                raise TypeError("not an engine")
        """,
        "test_register_executor_works_or_says_it_is_unsupported",
    ),
}


@pytest.mark.parametrize(
    ("broken", "test_name"), BROKEN_INTERFACES.values(), ids=list(BROKEN_INTERFACES)
)
def test_interface_contract_fails_a_broken_interface(
    pytester: pytest.Pytester, broken: str, test_name: str
) -> None:
    assert_only_failure(pytester, textwrap.dedent(broken) + INTERFACE, test_name)


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
    result.assert_outcomes(passed=6, skipped=2, deselected=1)


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
    result = run_contract(pytester, source, "-k", "test_miss_returns_none")
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
