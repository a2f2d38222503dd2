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


def test_names_from_core_submodules_are_reexported() -> None:
    core = ("errors", "models", "protocols", "typed")
    expected = {
        name for sub in core for name in importlib.import_module(f"execproto.{sub}").__all__
    }
    assert set() == expected - set(execproto.__all__)
