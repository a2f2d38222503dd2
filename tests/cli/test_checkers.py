"""Tests for execproto._cli._checkers: where pyright is found, and how checker output is read."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

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
