"""``execproto check --static``: mypy and pyright on a generated assignment, read as verdicts.

A file is generated that imports the target, reveals its type, and assigns it (an instance)
or returns it (a class) as each protocol; mypy ``--strict`` and pyright strict run on it
once each, with the user's ``MYPYPATH`` kept after the folders the target is imported from.
An error on a protocol's line rejects; an error elsewhere in the file (the import of the
target, say) makes acceptance inconclusive; a target whose revealed type is ``Any`` (mypy) or
``Unknown`` (pyright), as for a package installed without types, is inconclusive too: the
checker would accept or reject anything there, so its verdict says nothing. Messages are kept
whole.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from execproto._cli import _checkers

__all__ = ["INSTALL_HINT", "StaticVerdict", "missing_checkers", "static_verdicts"]

#: The one instruction every "install it" message gives.
INSTALL_HINT = "pip install 'execproto[typecheck]'"

_TIMEOUT = 600.0
_UNTYPED = (
    "inconclusive: the object is untyped (Any), so the checker accepts anything there; give "
    "its package types (a py.typed marker, or a '<package>-stubs' distribution) to check it"
)
_MYPY_ANY = re.compile(r'^Revealed type is "Any"$')
_PYRIGHT_ANY = re.compile(r'^Type of ".*" is "(type\[)?(Unknown|Any)\]?"$')


@dataclass(frozen=True)
class StaticVerdict:
    """One checker's verdict on one protocol: accepted, rejected, or ``None`` (inconclusive).

    ``detail`` is the checker's whole message (every line of every error on the line) for a
    rejection, the reason for an inconclusive verdict, ``"accepted"`` otherwise.
    """

    accepted: bool | None
    detail: str


def missing_checkers() -> list[str]:
    """The checkers ``--static`` needs that cannot be found: ``[]``, ``["pyright"]``, ..."""
    missing: list[str] = []
    if importlib.util.find_spec("mypy") is None:
        missing.append("mypy")
    if _checkers.find_pyright() is None:
        missing.append("pyright")
    return missing


def static_verdicts(
    target_module: str, target_path: str, is_class: bool, chosen: dict[str, object]
) -> dict[str, dict[str, StaticVerdict]]:
    """Run both checkers once on the generated file; return checker -> protocol -> verdict."""
    source, line_of, reveal_line = generate(target_module, target_path, is_class, chosen)
    roots = search_roots([target_module, "execproto"])
    with tempfile.TemporaryDirectory(prefix="execproto-check-") as directory:
        path = Path(directory) / "execproto_static_check.py"
        path.write_text(source, encoding="utf-8")
        return {
            "mypy": _mypy(path, roots, line_of, reveal_line),
            "pyright": _pyright(path, roots, line_of, reveal_line),
        }


def search_roots(module_names: Sequence[str]) -> list[str]:
    """Directories from which *module_names* are importable, for MYPYPATH / extraPaths."""
    roots: list[str] = []
    for name in module_names:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        depth = name.count(".") + (2 if path.name == "__init__.py" else 1)
        root = path.parents[depth - 1]
        if "site-packages" in root.parts or "dist-packages" in root.parts:
            continue  # the checkers find installed packages themselves
        if str(root) not in roots:
            roots.append(str(root))
    return roots


def _type_expression(name: str, protocol: object) -> tuple[str, str]:
    """Return (import line, annotation) naming *protocol* in generated code."""
    origin = typing.get_origin(protocol) or protocol
    assert isinstance(origin, type)
    module, qualname = origin.__module__, origin.__qualname__
    alias = "_p_" + re.sub(r"\W", "_", name)
    annotation = alias
    parameters = getattr(origin, "__parameters__", ())
    if parameters:
        annotation += "[" + ", ".join("Any" for _ in parameters) + "]"
    return f"from {module} import {qualname} as {alias}", annotation


def generate(
    target_module: str, target_path: str, is_class: bool, chosen: dict[str, object]
) -> tuple[str, dict[int, str], int]:
    """The file to check, the protocol each checked line stands for, and the reveal line."""
    lines = [f"import {target_module} as _target_module"]
    annotations: dict[str, str] = {}
    for name, protocol in chosen.items():
        import_line, annotations[name] = _type_expression(name, protocol)
        lines.append(import_line)
    if any("[" in annotation for annotation in annotations.values()):
        # Only when used: pyright strict reports an unused import, which would make every
        # verdict inconclusive.
        lines.insert(0, "from typing import Any")
    reference = f"_target_module.{target_path}"
    lines.append("")
    lines.append(f"reveal_type({reference})")
    reveal_line = len(lines)
    lines.append("")
    line_of: dict[int, str] = {}
    for index, name in enumerate(chosen):
        if is_class:
            # Public names: pyright strict reports unused private functions and variables.
            lines.append(f"def check_{index}(value: {reference}) -> {annotations[name]}:")
            line_of[len(lines) + 1] = name
            lines.append("    return value")
        else:
            line_of[len(lines) + 1] = name
            lines.append(f"check_{index}: {annotations[name]} = {reference}")
    return "\n".join(lines) + "\n", line_of, reveal_line


def verdicts(
    diagnostics: list[_checkers.Diagnostic],
    path: Path,
    line_of: dict[int, str],
    reveal_line: int,
    untyped: re.Pattern[str],
) -> dict[str, StaticVerdict]:
    """Read one checker's diagnostics on the generated file *path* as verdicts per protocol.

    mypy also reports errors inside the target's own modules when it finds them through
    ``MYPYPATH``; those are the target author's business, not a verdict on conformance.
    """
    generated = path.resolve()
    mine = [d for d in diagnostics if d.path == generated]
    is_untyped = any(d.line == reveal_line and untyped.match(d.text) for d in mine)
    errors = [(d.line, _coded(d)) for d in mine if d.severity == "error"]
    elsewhere = [message for line, message in errors if line not in line_of]
    found: dict[str, StaticVerdict] = {}
    for line, name in line_of.items():
        messages = [message for at, message in errors if at == line]
        if messages:
            # The whole reason: the notes a checker adds on the line too (mypy's protocol
            # member listings come as notes of their own).
            messages += [d.text for d in mine if d.line == line and d.severity == "note"]
        if is_untyped:
            found[name] = StaticVerdict(None, _with(_UNTYPED, elsewhere))
        elif messages:
            found[name] = StaticVerdict(False, "\n".join(messages))
        elif elsewhere:
            # An error elsewhere (the import of the target, say) makes "accepted" unreliable.
            found[name] = StaticVerdict(None, _with("inconclusive", elsewhere))
        else:
            found[name] = StaticVerdict(True, "accepted")
    return found


def _coded(diagnostic: _checkers.Diagnostic) -> str:
    """The message with its code or rule after its first line, as the checkers print it."""
    first, _, rest = diagnostic.text.partition("\n")
    return f"{first} [{diagnostic.code}]" + (f"\n{rest}" if rest else "")


def _with(text: str, messages: list[str]) -> str:
    return text if not messages else f"{text}; the checker said:\n" + "\n".join(messages)


def _failed(line_of: dict[int, str], failure: str) -> dict[str, StaticVerdict]:
    return {name: StaticVerdict(None, f"inconclusive: {failure}") for name in line_of.values()}


def _mypy(
    path: Path, roots: list[str], line_of: dict[int, str], reveal_line: int
) -> dict[str, StaticVerdict]:
    # The user's MYPYPATH is kept, after the folders the target and execproto come from.
    kept = [entry for entry in os.environ.get("MYPYPATH", "").split(os.pathsep) if entry]
    environment = {**os.environ, "MYPYPATH": os.pathsep.join([*roots, *kept])}
    try:
        diagnostics = _checkers.run_mypy(
            [path], cwd=path.parent, env=environment, options=["--strict"], timeout=_TIMEOUT
        )
    except _checkers.CheckerFailure as failure:
        return _failed(line_of, str(failure))
    return verdicts(diagnostics, path, line_of, reveal_line, _MYPY_ANY)


def _pyright(
    path: Path, roots: list[str], line_of: dict[int, str], reveal_line: int
) -> dict[str, StaticVerdict]:
    executable = _checkers.find_pyright()
    if executable is None:
        return _failed(line_of, f"pyright is not installed ({INSTALL_HINT})")
    config = {
        "include": [path.name],
        "typeCheckingMode": "strict",
        "pythonVersion": f"{sys.version_info.major}.{sys.version_info.minor}",
        "extraPaths": roots,
    }
    try:
        diagnostics = _checkers.run_pyright(
            executable, config, cwd=path.parent, env=os.environ, timeout=_TIMEOUT
        )
    except _checkers.CheckerFailure as failure:
        return _failed(line_of, str(failure))
    return verdicts(diagnostics, path, line_of, reveal_line, _PYRIGHT_ANY)
