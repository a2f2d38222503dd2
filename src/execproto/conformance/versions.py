"""Interface versions: semantic version parsing, and :func:`check_version`.

Versions compare as semantic versions, numerically (``"1.10.0" > "1.9.0"``), where the seed
compared strings; a pre-release sorts before its release. :func:`version_problem` is the
comparison :func:`execproto.conformance.check` also makes for ``__implements_version__``.
"""

from __future__ import annotations

import re

from execproto.conformance._members import display_name
from execproto.conformance._report import ConformanceReport, Problem, ProblemKind
from execproto.errors import ConformanceError

__all__ = ["check_version"]

_VERSION = re.compile(
    r"(?P<numbers>\d+(?:\.\d+){0,2})(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


def _version_key(version: object) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
    """Sort key of a semantic version; numeric parts compare as numbers, not text.

    Raises:
        ValueError: *version* is not ``MAJOR[.MINOR[.PATCH]][-prerelease][+build]``.
    """
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if match is None:
        raise ValueError(
            f"expected a semantic version such as '1.2.0', got {version!r} of type "
            f"{type(version).__name__}"
        )
    numbers = tuple(int(part) for part in match["numbers"].split("."))
    numbers += (0,) * (3 - len(numbers))
    pre = match["pre"]
    if pre is None:
        # A release sorts after every pre-release of the same numbers (1.0.0-rc1 < 1.0.0).
        return numbers, 1, ()
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return numbers, 0, identifiers


def version_problem(declared: object, required: str) -> Problem | None:
    """The problem with *declared* as a version of an interface at *required*, if any.

    A malformed *declared* is a problem, not an error.

    Raises:
        ValueError: *required* is not a semantic version.
    """
    try:
        have = _version_key(declared)
    except ValueError:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"a semantic version string compatible with {required!r}",
            f"{declared!r} of type {type(declared).__name__}",
            f"set __implements_version__ = {required!r}",
        )
    want = _version_key(required)
    if have < want:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"version {required!r} or later (same major version)",
            f"{declared!r}",
            f"update the implementation to interface version {required!r} and declare it",
        )
    if have[0][0] != want[0][0]:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"major version {want[0][0]} (protocol version {required!r})",
            f"{declared!r}, written for another major version of the interface",
            f"use an execproto release whose interfaces are version {declared!r}",
        )
    return None


def check_version(implementation: object, required_version: str) -> str:
    """Return *implementation*'s declared interface version if it is at least *required_version*.

    The declared version is, in this order: ``implementation.get_version()`` (the seed's
    :class:`~execproto.typed.VersionedInterface`), its ``version`` attribute, its
    ``__implements_version__``. Versions compare as semantic versions, numerically
    (``"1.10.0" > "1.9.0"``); a pre-release sorts before its release.

    Raises:
        ValueError: *required_version* is not a semantic version.
        ConformanceError: no version is declared, the declared one is malformed, lower than
            *required_version*, or of another major version.
    """
    _version_key(required_version)
    declared: object = None
    get_version = getattr(implementation, "get_version", None)
    if callable(get_version) and not isinstance(implementation, type):
        declared = get_version()
    if declared is None:
        declared = getattr(implementation, "version", None)
        if declared is not None and not isinstance(declared, str):
            declared = None
    if declared is None:
        declared = getattr(implementation, "__implements_version__", None)
    subject = display_name(implementation)
    problem: Problem | None
    if declared is None:
        problem = Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"a declared interface version, at least {required_version!r}",
            "none (no get_version(), version or __implements_version__)",
            f"declare __implements_version__ = {required_version!r}",
        )
    else:
        problem = version_problem(declared, required_version)
        if problem is None:
            return str(declared)
    report = ConformanceReport(subject, f"interface version {required_version}", (problem,))
    raise ConformanceError(report.format(), report)
