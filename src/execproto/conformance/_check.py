"""The full check: every member of a protocol looked up on the subject, every problem found.

:func:`check` is the one place a verdict is computed; :mod:`execproto.conformance._boundary`
caches its verdicts and raises with its reports.
"""

from __future__ import annotations

from execproto.conformance._annotations import annotation_problems
from execproto.conformance._members import (
    CallableMember,
    DataMember,
    display_name,
    lookup,
    spec_of,
)
from execproto.conformance._report import ConformanceReport, Problem, ProblemKind
from execproto.conformance._signatures import (
    format_parameters,
    signature_problems,
    without_self,
)
from execproto.conformance.versions import version_problem

__all__ = ["check"]


def check(obj_or_type: object, protocol: object) -> ConformanceReport:
    """Check *obj_or_type* against *protocol* and report every problem at once.

    A class is checked as its instances would be (methods are looked up on the class and
    bound); an instance is checked as it is, so an instance attribute that shadows a method
    is what gets checked. *protocol* may be subscripted (``ITypedToolExecutor[Calc, int]``):
    its type arguments replace the type variables in the protocol's annotations.

    Never calls the members and never evaluates properties; it reads signatures and
    annotations (unresolvable annotations count as absent).

    Raises:
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    spec = spec_of(protocol)
    is_type = isinstance(obj_or_type, type)
    problems: list[Problem] = []
    for name in sorted(spec.members):
        found = lookup(obj_or_type, is_type, name)
        wanted = spec.methods.get(name)
        if found is None:
            problems.append(
                Problem(
                    name,
                    ProblemKind.MISSING,
                    "a method" if wanted is not None else "an attribute",
                    "nothing of that name",
                    f"define {name!r}" + ("" if wanted is None else _suggestion(name, wanted)),
                )
            )
        elif wanted is None:
            continue
        elif isinstance(found, DataMember):
            problems.append(
                Problem(
                    name,
                    ProblemKind.NOT_CALLABLE,
                    "a method" + (" (async)" if wanted.is_async else ""),
                    found.description,
                    f"define {name!r} as a method",
                )
            )
        else:
            problems.extend(_method_problems(name, wanted, found))
    declared = getattr(obj_or_type, "__implements_version__", None)
    if declared is not None and spec.version is not None:
        problem = version_problem(declared, spec.version)
        if problem is not None:
            problems.append(problem)
    return ConformanceReport(display_name(obj_or_type), spec.name, tuple(problems))


def _suggestion(name: str, wanted: CallableMember) -> str:
    if wanted.signature is None:
        return ""
    parameters = without_self(wanted) or []
    text = format_parameters(parameters)
    prefix = "async def" if wanted.is_async else "def"
    return f": '{prefix} {name}(self{', ' if parameters else ''}{text[1:]}'"


def _method_problems(name: str, wanted: CallableMember, have: CallableMember) -> list[Problem]:
    problems: list[Problem] = []
    if wanted.is_async and not have.is_async:
        problems.append(
            Problem(
                name,
                ProblemKind.NOT_ASYNC,
                "an async method (calling it must return an awaitable)",
                "a plain (synchronous) callable",
                f"define it as 'async def {name}(...)'",
            )
        )
    elif have.is_async and not wanted.is_async:
        problems.append(
            Problem(
                name,
                ProblemKind.UNEXPECTED_ASYNC,
                "a synchronous method (callers use its result directly)",
                "an async method (calling it returns a coroutine)",
                f"define it with 'def {name}(...)', not 'async def'",
            )
        )
    if wanted.signature is None or have.signature is None:
        return problems
    wanted_parameters = without_self(wanted)
    have_parameters = without_self(have)
    assert wanted_parameters is not None
    if have_parameters is None:
        problems.append(
            Problem(
                name,
                ProblemKind.SIGNATURE,
                "a first positional parameter for the instance (self)",
                f"signature {have.signature}",
                "add 'self' as the first parameter (or make it a staticmethod)",
            )
        )
        return problems
    found_problems, pairs = signature_problems(name, wanted_parameters, have_parameters)
    problems.extend(found_problems)
    problems.extend(annotation_problems(name, wanted, have, pairs))
    return problems
