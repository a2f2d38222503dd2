"""Tests for execproto._cli._checkers: where pyright is found, and how checker output is read."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from execproto._cli import _checkers


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A virtualenv holding a bundled pyright, and a PATH folder holding another."""
    prefix = tmp_path / "venv"
    bundled = _executable(prefix / _checkers.BUNDLED_PYRIGHT)
    on_path = _executable(tmp_path / "bin" / "pyright")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(sys, "executable", str(prefix / "bin" / "python"))
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("PYRIGHT", raising=False)
    return bundled, on_path


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_find_pyright_prefers_the_environment_variable(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYRIGHT", "/opt/somewhere/pyright")
    assert "/opt/somewhere/pyright" == _checkers.find_pyright()


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_find_pyright_takes_the_virtualenv_copy_before_path(places: tuple[Path, Path]) -> None:
    bundled, _ = places
    assert str(bundled) == _checkers.find_pyright()


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_find_pyright_takes_the_pypi_wrapper_beside_the_interpreter_before_path(
    places: tuple[Path, Path],
) -> None:
    # What `pip install 'execproto[typecheck]'` installs: PyPI's pyright, beside python.
    bundled, _ = places
    bundled.unlink()
    wrapper = _executable(Path(sys.executable).parent / "pyright")
    assert str(wrapper) == _checkers.find_pyright()


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_find_pyright_falls_back_to_path(places: tuple[Path, Path]) -> None:
    bundled, on_path = places
    bundled.unlink()
    assert str(on_path) == _checkers.find_pyright()


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_find_pyright_returns_none_when_there_is_none(places: tuple[Path, Path]) -> None:
    for path in places:
        path.unlink()
    assert None is _checkers.find_pyright()


def test_a_checker_that_cannot_start_is_a_checker_failure(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-pyright")
    with pytest.raises(_checkers.CheckerFailure, match="could not run"):
        _checkers.run_pyright(missing, {}, cwd=tmp_path, env=os.environ)


@pytest.mark.skipif(os.name == "nt", reason="uses a shell script as a fake pyright")
def test_pyright_output_that_is_not_json_is_a_checker_failure(tmp_path: Path) -> None:
    fake = _executable(tmp_path / "pyright")
    fake.write_text("#!/bin/sh\necho 'not json'\nexit 3\n", encoding="utf-8")
    with pytest.raises(_checkers.CheckerFailure, match=r"no JSON report \(exit 3\): not json"):
        _checkers.run_pyright(str(fake), {}, cwd=tmp_path, env=os.environ)


@pytest.mark.typecheck
@pytest.mark.slow
def test_run_mypy_reads_errors_with_their_code_line_and_absolute_path(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text("x: int = 'a'\n", encoding="utf-8")
    [diagnostic] = _checkers.run_mypy([source], cwd=tmp_path, env=os.environ)
    assert ("mypy", source.resolve(), 1, "assignment", "error") == (
        diagnostic.checker,
        diagnostic.path,
        diagnostic.line,
        diagnostic.code,
        diagnostic.severity,
    )


def test_mypy_missing_is_a_failure_that_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_checkers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(_checkers.CheckerFailure, match=r"pip install 'execproto\[typecheck\]'"):
        _checkers.run_mypy([], cwd=Path("."), env=os.environ)


def test_the_typecheck_extra_pins_the_checkers_the_suite_pins() -> None:
    tomllib = pytest.importorskip("tomllib")  # 3.11+
    runner = _load_runner()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"]["typecheck"]
    assert [f"mypy=={runner.MYPY_VERSION}", f"pyright[nodejs]=={runner.PYRIGHT_VERSION}"] == extra
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"PYRIGHT_VERSION := {runner.PYRIGHT_VERSION}" in makefile


REPO = Path(__file__).resolve().parents[2]


def _load_runner() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "typecheck_run_pins", REPO / "typecheck" / "run.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
