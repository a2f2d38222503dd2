"""``execproto.__all__`` lists exactly the public names, sorted."""

from __future__ import annotations

import importlib
import pkgutil
import types

import execproto


def _public_modules() -> list[types.ModuleType]:
    modules = [execproto]
    for info in pkgutil.walk_packages(execproto.__path__, "execproto."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or ".testing" in info.name or ".engines." in info.name:
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # a module of an extra that is not installed
            continue
    return modules


def test_all_is_sorted() -> None:
    assert sorted(execproto.__all__) == execproto.__all__


def test_every_name_in_all_exists() -> None:
    missing = [name for name in execproto.__all__ if not hasattr(execproto, name)]
    assert [] == missing


def test_every_public_name_is_in_all() -> None:
    public = {
        name
        for name, value in vars(execproto).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations"}
    }
    assert sorted(public) == sorted(execproto.__all__)


def test_submodule_all_names_exist_and_are_documented() -> None:
    problems: list[str] = []
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if value is None:
                problems.append(f"{module.__name__}.{name} missing")
            elif callable(value) and not (getattr(value, "__doc__", None) or "").strip():
                problems.append(f"{module.__name__}.{name} has no docstring")
    assert [] == problems


# Names of the contract's core modules that stay in their module by design: plumbing the
# runtime uses, which a user of the package does not call.
_PLUMBING = {
    "failure_status": "maps an error to a step status and code; the executors call it",
}


def test_names_from_core_submodules_are_reexported_except_plumbing() -> None:
    core = ("errors", "models", "protocols", "typed")
    expected = {
        name for sub in core for name in importlib.import_module(f"execproto.{sub}").__all__
    }
    assert set() == expected - set(execproto.__all__) - set(_PLUMBING)


def test_plumbing_stays_out_of_the_package_root() -> None:
    plumbing = {
        "AttemptCounter",
        "CacheStats",
        "DiscoveryResult",
        "KeyFunction",
        "NONBLOCKING_CACHE_ATTRIBUTE",
        "OperationInfo",
        "SupportsLookup",
        "canonical_bytes",
        "clear_cache",
        "list_operations",
        "parse_operation_spec",
        "record_attempt",
        "resolve_operation",
        *_PLUMBING,
    }
    assert set() == plumbing & set(execproto.__all__)
