"""Find and run the static checkers, mypy and pyright, and read their JSON reports.

One place for what ``execproto check --static``, ``typecheck/run.py`` and the tests that run
the real checkers all need: where pyright is (:func:`find_pyright`), how each checker is
invoked (in a working folder of the caller's, with a configuration written there so that no
project or user configuration leaks in), and how its machine-readable output becomes
:class:`Diagnostic` values. Anything that keeps a checker from giving a readable verdict
raises :class:`CheckerFailure`; callers decide whether that is fatal or a verdict of its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED_PYRIGHT",
    "CheckerFailure",
    "Diagnostic",
    "find_pyright",
    "mypy_command",
    "run_mypy",
    "run_pyright",
    "version",
]

#: Where ``make install`` puts pyright, relative to the virtualenv (``sys.prefix``).
BUNDLED_PYRIGHT = Path("pyright", "node_modules", ".bin", "pyright")


class CheckerFailure(Exception):
    """A checker could not be run, crashed, timed out or gave output that cannot be read."""


@dataclass(frozen=True)
class Diagnostic:
    """One message of a checker: where (absolute *path*, 1-based *line*), which code, what.

    ``code`` is mypy's error code (``misc`` when it gives none) or pyright's rule (``error``
    when it gives none); ``text`` is the message with mypy's hint, if any, on its next line.
    """

    checker: str
    path: Path
    line: int
    code: str
    text: str
    severity: str = "error"


def find_pyright() -> str | None:
    """Return the pyright executable to run, or ``None`` when there is none.

    Looked for in this order: ``$PYRIGHT`` (taken as given, so a wrong value fails loudly
    when run instead of being skipped); the copy ``make install`` puts in the virtualenv of
    the running interpreter (``<sys.prefix>/pyright/node_modules/.bin/pyright``), which is
    the pinned version; the ``pyright`` command beside the running interpreter (what
    ``pip install 'execproto[typecheck]'`` installs: PyPI's ``pyright`` package, which bundles
    the pinned pyright and, with its ``nodejs`` extra, Node.js, so it runs offline); then
    ``pyright`` on ``PATH``.
    """
    configured = os.environ.get("PYRIGHT")
    if configured:
        return configured
    for candidate in (
        Path(sys.prefix) / BUNDLED_PYRIGHT,
        Path(sys.executable).parent / "pyright",
    ):
        found = shutil.which(str(candidate))
        if found is not None:
            return found
    return shutil.which("pyright")


def mypy_command() -> list[str]:
    """Return the command that runs the mypy installed beside the running interpreter."""
    return [sys.executable, "-m", "mypy"]


def version(command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
    """Return what ``<command> --version`` prints, e.g. ``mypy 2.4.1 (compiled: yes)``.

    Raises:
        CheckerFailure: the command cannot be run.
    """
    return _execute([*command, "--version"], env, cwd, None).stdout.strip()


def run_mypy(
    files: Sequence[Path],
    *,
    cwd: Path,
    env: Mapping[str, str],
    options: Sequence[str] = (),
    timeout: float | None = None,
) -> list[Diagnostic]:
    """Run mypy once over *files* with *options* (e.g. ``--strict``); return every message.

    An empty configuration file and a cache are written in *cwd*, which should be a folder
    of the caller's own (a temporary one): the project's and the user's mypy settings must
    not change a verdict. Set ``MYPYPATH`` in *env* to make extra modules importable.

    Raises:
        CheckerFailure: mypy is not installed, cannot be started, times out, crashes, or
            reports failure without a message that can be read.
    """
    if importlib.util.find_spec("mypy") is None:
        raise CheckerFailure(
            f"mypy is not installed for {sys.executable} (pip install 'execproto[typecheck]')"
        )
    config = cwd / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")
    command = [
        *mypy_command(),
        "--config-file", str(config),
        "--cache-dir", str(cwd / ".mypy_cache"),
        *options,
        "--output", "json",
        "--no-error-summary",
        *map(str, files),
    ]  # fmt: skip
    completed = _execute(command, env, cwd, timeout)
    diagnostics: list[Diagnostic] = []
    for raw in completed.stdout.splitlines():
        if not raw.startswith("{"):
            continue
        try:
            item = json.loads(raw)
            diagnostics.append(_mypy_diagnostic(item, cwd))
        except (ValueError, KeyError, TypeError) as err:
            raise CheckerFailure(f"mypy printed a line that is not a diagnostic: {raw!r}") from err
    errors = [d for d in diagnostics if d.severity == "error"]
    if completed.returncode not in (0, 1) or (completed.returncode == 1 and not errors):
        # Never let output that could not be read pass for "no errors".
        raise CheckerFailure(f"mypy failed (exit {completed.returncode}): {_output(completed)}")
    return diagnostics


def _mypy_diagnostic(item: dict[str, Any], cwd: Path) -> Diagnostic:
    path = Path(item["file"])
    hint = item.get("hint")
    return Diagnostic(
        checker="mypy",
        path=(path if path.is_absolute() else cwd / path).resolve(),
        line=int(item["line"]),
        code=item.get("code") or "misc",
        text=str(item["message"]) + (f"\n{hint}" if hint else ""),
        severity=str(item["severity"]),
    )


def run_pyright(
    executable: str,
    config: Mapping[str, object],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None = None,
) -> list[Diagnostic]:
    """Run pyright once with the configuration *config*; return every message.

    *config* is written to ``cwd/pyrightconfig.json`` and names what to check (``include``,
    paths relative to *cwd*), the mode (``typeCheckingMode``) and ``extraPaths``. pyright
    resolves imports with the running interpreter, whose folder also goes first on ``PATH``.

    Raises:
        CheckerFailure: pyright cannot be started, times out, or prints no JSON report.
    """
    config_path = cwd / "pyrightconfig.json"
    config_path.write_text(json.dumps(dict(config)), encoding="utf-8")
    environment = {
        **env,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    }
    command = [
        executable,
        "--outputjson",
        "--pythonpath",
        sys.executable,
        "-p",
        str(config_path),
    ]
    completed = _execute(command, environment, cwd, timeout)
    try:
        report = json.loads(completed.stdout)
        return [
            Diagnostic(
                checker="pyright",
                path=Path(item["file"]).resolve(),
                line=int(item["range"]["start"]["line"]) + 1,
                code=item.get("rule") or "error",
                text=str(item["message"]),
                severity=str(item["severity"]),
            )
            for item in report["generalDiagnostics"]
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise CheckerFailure(
            f"pyright gave no JSON report (exit {completed.returncode}): {_output(completed)}"
        ) from err


def _execute(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float | None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(command),
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except OSError as err:
        raise CheckerFailure(
            f"could not run {command[0]!r}: {err}; install it, or pass or set its path"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise CheckerFailure(f"{command[0]!r} timed out after {err.timeout:.0f} s") from err


def _output(completed: subprocess.CompletedProcess[str]) -> str:
    return (completed.stderr + completed.stdout).strip()[:2000]
