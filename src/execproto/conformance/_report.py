"""What a conformance check finds: the kinds of finding, one finding, the report.

A finding is a :class:`Problem`; the report keeps two lists of them: ``problems`` decide the
verdict, ``warnings`` do not (``check(..., strict=True)`` moves them into ``problems``).

Plain data: this module imports nothing else from execproto, so :mod:`execproto.errors` can
name :class:`ConformanceReport` in its annotations without an import cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["ConformanceReport", "Problem", "ProblemKind"]


class ProblemKind(str, enum.Enum):
    """What is wrong, or cannot be told, about one member of an implementation.

    ``KEYWORD_COLLISION`` and ``UNVERIFIED`` are the kinds of the warnings; every other kind
    is a problem.
    """

    MISSING = "missing"
    NOT_CALLABLE = "not_callable"
    NOT_ASYNC = "not_async"
    UNEXPECTED_ASYNC = "unexpected_async"
    SIGNATURE = "signature"
    ANNOTATION = "annotation"
    VERSION = "version"
    KEYWORD_COLLISION = "keyword_collision"
    UNVERIFIED = "cannot_verify"


@dataclass(frozen=True)
class Problem:
    """One finding about a member: which member, what kind, expected, found, and the fix."""

    member: str
    kind: ProblemKind
    expected: str
    found: str
    fix: str

    def __str__(self) -> str:
        return f"{self.member}: expected {self.expected}; found {self.found}. Fix: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        """Return the problem as JSON-ready strings (``kind`` as its value)."""
        return {
            "member": self.member,
            "kind": self.kind.value,
            "expected": self.expected,
            "found": self.found,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class ConformanceReport:
    """Every problem and warning found when checking *subject* against *protocol*.

    ``subject`` and ``protocol`` are display names. A report is true exactly when it has no
    problems, so ``if check(obj, P):`` reads as "if obj conforms to P"; warnings (a keyword
    that ``**params`` could collide with, what could not be verified) do not change that.
    """

    subject: str
    protocol: str
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the subject conforms (no problems; warnings allowed)."""
        return not self.problems

    def __bool__(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """Return a readable multi-line summary: the verdict, then one line per finding."""
        if self.problems:
            lines = [
                f"{self.subject} does not conform to {self.protocol} "
                f"({_count(self.problems, 'problem')}"
                + (f", {_count(self.warnings, 'warning')}" if self.warnings else "")
                + "):"
            ]
        elif self.warnings:
            lines = [
                f"{self.subject} conforms to {self.protocol}, with "
                f"{_count(self.warnings, 'warning')}:"
            ]
        else:
            return f"{self.subject} conforms to {self.protocol}"
        lines.extend(f"  - {problem}" for problem in self.problems)
        lines.extend(f"  - warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "subject": self.subject,
            "protocol": self.protocol,
            "conforms": self.ok,
            "problems": [problem.to_dict() for problem in self.problems],
            "warnings": [warning.to_dict() for warning in self.warnings],
        }


def _count(findings: tuple[Problem, ...], noun: str) -> str:
    return f"{len(findings)} {noun}{'s' if len(findings) != 1 else ''}"
