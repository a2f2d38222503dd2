"""What a conformance check finds: the kinds of problem, one problem, the report.

Plain data: this module imports nothing else from execproto, so :mod:`execproto.errors` can
name :class:`ConformanceReport` in its annotations without an import cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["ConformanceReport", "Problem", "ProblemKind"]


class ProblemKind(str, enum.Enum):
    """What is wrong with one member of an implementation."""

    MISSING = "missing"
    NOT_CALLABLE = "not_callable"
    NOT_ASYNC = "not_async"
    UNEXPECTED_ASYNC = "unexpected_async"
    SIGNATURE = "signature"
    ANNOTATION = "annotation"
    VERSION = "version"


@dataclass(frozen=True)
class Problem:
    """One reason an implementation does not conform: which member, expected, found, fix."""

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
    """Every problem found when checking *subject* against *protocol*; empty when it conforms.

    ``subject`` and ``protocol`` are display names. A report is true exactly when it has no
    problems, so ``if check(obj, P):`` reads as "if obj conforms to P".
    """

    subject: str
    protocol: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether the subject conforms (no problems)."""
        return not self.problems

    def __bool__(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """Return a readable multi-line summary: the verdict, then one line per problem."""
        if not self.problems:
            return f"{self.subject} conforms to {self.protocol}"
        lines = [
            f"{self.subject} does not conform to {self.protocol} "
            f"({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"
        ]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "subject": self.subject,
            "protocol": self.protocol,
            "conforms": self.ok,
            "problems": [problem.to_dict() for problem in self.problems],
        }
