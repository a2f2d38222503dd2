"""The full check: every member of a protocol looked up on the subject, every finding made.

:func:`check` is the one place a verdict is computed; :mod:`execproto.conformance._boundary`
caches its verdicts and raises with its reports. The rules it applies are the table in the
:mod:`execproto.conformance` docstring.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from execproto.conformance._annotations import annotation_findings
from execproto.conformance._members import (
    CallableMember,
    DataMember,
    Subject,
    display_name,
    spec_of,
)
from execproto.conformance._report import ConformanceReport, Problem, ProblemKind
from execproto.conformance._signatures import (
    format_parameters,
    signature_problems,
    without_self,
)
from execproto.conformance._types import Unknown, assignable, type_repr
from execproto.conformance.versions import version_problem

__all__ = ["check"]

_Findings = tuple[list[Problem], list[Problem]]


def check(obj_or_type: object, protocol: object, *, strict: bool = False) -> ConformanceReport:
    """Check *obj_or_type* against *protocol* and report every problem and warning at once.

    A class is checked as its instances would be (methods are looked up on the class and
    bound); an instance is checked as it is, so an instance attribute that shadows a method
    is what gets checked. *protocol* may be subscripted (``ITypedToolExecutor[Calc, int]``):
    its type arguments replace the type variables in the protocol's annotations; so do the
    subject's own (``Executor[Calc]``, an instance's ``__orig_class__``, its bases').

    Warnings do not make the report fail: a parameter that a key of ``**params`` could
    collide with, and what cannot be verified (a signature that cannot be read, a
    ``__getattr__`` proxy, an annotation the runtime cannot compare). With *strict*, they
    are problems.

    Never calls the members and never evaluates properties or ``__getattr__``; it reads
    signatures and annotations (unresolvable annotations count as absent).

    Raises:
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    spec = spec_of(protocol)
    subject = Subject(obj_or_type)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for name in sorted(spec.members):
        found = subject.lookup(name)
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
        elif isinstance(found, CallableMember) and found.target is None:
            # Nothing found, but __getattr__ might answer: the check cannot tell.
            warnings.append(_unverified(name, "the member to exist", found.unreadable or ""))
        elif wanted is None:
            declared = spec.declarations.get(name)
            if declared is not None and isinstance(found, DataMember):
                found_problems, found_warnings = _data_findings(name, declared, found)
                problems.extend(found_problems)
                warnings.extend(found_warnings)
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
            found_problems, found_warnings = _method_findings(name, wanted, found)
            problems.extend(found_problems)
            warnings.extend(found_warnings)
    declared = getattr(obj_or_type, "__implements_version__", None)
    if declared is not None and spec.version is not None:
        problem = version_problem(declared, spec.version)
        if problem is not None:
            problems.append(problem)
    if strict:
        problems.extend(warnings)
        warnings = []
    return ConformanceReport(display_name(obj_or_type), spec.name, tuple(problems), tuple(warnings))


def _data_findings(name: str, wanted: DataMember, have: DataMember) -> _Findings:
    """A data member's declared type against the protocol's, where both are declared.

    A read-only protocol member (a property) takes a narrower type (covariant); one callers
    may set must be settable and of the same type (invariant), as the checkers require.
    """
    if have.annotation is inspect.Parameter.empty:
        return [], []
    problems: list[Problem] = []
    if wanted.settable and not have.settable:
        problems.append(
            Problem(
                name,
                ProblemKind.ANNOTATION,
                "a settable attribute (the protocol lets callers assign it)",
                f"{have.description}, read-only (a property without a setter, a frozen "
                f"dataclass's or a NamedTuple's field)",
                f"declare {name!r} as an attribute, or give the property a setter",
            )
        )
    fits = [assignable(have.annotation, wanted.annotation)]
    if wanted.settable:
        fits.append(assignable(wanted.annotation, have.annotation))
    if any(fit is False for fit in fits):
        expected = type_repr(wanted.annotation)
        problems.append(
            Problem(
                name,
                ProblemKind.ANNOTATION,
                f"{'exactly ' if wanted.settable else 'a type that fits '}{expected}",
                f"{have.description} of type {type_repr(have.annotation)}",
                f"declare {name!r} as {expected}",
            )
        )
        return problems, []
    unknown = next((fit for fit in fits if isinstance(fit, Unknown)), None)
    if unknown is not None:
        return problems, [
            _unverified(name, f"a type that fits {type_repr(wanted.annotation)}", unknown.reason)
        ]
    return problems, []


def _suggestion(name: str, wanted: CallableMember) -> str:
    assert wanted.signature is not None
    parameters = without_self(wanted.signature, wanted.drops_self) or []
    text = format_parameters(parameters)
    prefix = "async def" if wanted.is_async else "def"
    return f": '{prefix} {name}(self{', ' if parameters else ''}{text[1:]}'"


def _unverified(name: str, what: str, reason: str) -> Problem:
    return Problem(
        name,
        ProblemKind.UNVERIFIED,
        what,
        f"cannot verify: {reason}",
        "nothing to fix if the checkers accept it; check it with `execproto check --static`",
    )


def _asyncness_findings(name: str, wanted: CallableMember, have: CallableMember) -> _Findings:
    if have.is_async is None:
        reason = have.async_unknown or "whether it is async cannot be read"
        what = "an async method" if wanted.is_async else "a synchronous method"
        return [], [_unverified(name, what, reason)]
    if wanted.is_async and not have.is_async:
        generator = inspect.isasyncgenfunction(have.target)
        return [
            Problem(
                name,
                ProblemKind.NOT_ASYNC,
                "an async method (calling it must return an awaitable)",
                "an async generator function (its result is iterated, not awaited)"
                if generator
                else "a plain (synchronous) callable",
                f"define it as 'async def {name}(...)'"
                + (" that returns its result instead of yielding" if generator else ""),
            )
        ], []
    if have.is_async and not wanted.is_async:
        return [
            Problem(
                name,
                ProblemKind.UNEXPECTED_ASYNC,
                "a synchronous method (callers use its result directly)",
                "an async method (calling it returns a coroutine)",
                f"define it with 'def {name}(...)', not 'async def'",
            )
        ], []
    return [], []


def _method_findings(name: str, wanted: CallableMember, have: CallableMember) -> _Findings:
    if have.signature is None and have.is_async is None:
        # One warning for what cannot be read at all (a C function, a __getattr__ answer).
        what = "an async method" if wanted.is_async else "a method"
        reason = have.unreadable or have.async_unknown or ""
        return [], [_unverified(name, f"{what} that accepts the protocol's calls", reason)]
    problems, warnings = _asyncness_findings(name, wanted, have)
    if have.signature is None:
        warnings.append(
            _unverified(
                name, "a signature that accepts the protocol's calls", have.unreadable or ""
            )
        )
        return problems, warnings
    # Results are compared unless a sync/async mismatch was already reported for them.
    compare_results = not problems
    if have.overloads:
        found = _overload_findings(name, wanted, have, compare_results)
    else:
        found = _call_findings(
            name, wanted, have.signature, have.hints, have.drops_self, have.declared,
            compare_results,
        )  # fmt: skip
    problems.extend(found[0])
    warnings.extend(found[1])
    return problems, warnings


def _overload_findings(
    name: str, wanted: CallableMember, have: CallableMember, compare_results: bool
) -> _Findings:
    """One overload that accepts every call of the protocol suffices, as for the checkers."""
    tried = [
        _call_findings(name, wanted, signature, hints, have.drops_self, None, compare_results)
        for signature, hints in have.overloads
    ]
    for problems, warnings in tried:
        if not problems:
            return problems, warnings
    closest_problems, _ = min(tried, key=lambda findings: len(findings[0]))
    first = closest_problems[0]
    return [
        Problem(
            name,
            first.kind,
            f"one of the {len(tried)} overloads to accept the protocol's calls",
            f"none does; the closest: {first.expected}, found {first.found}",
            first.fix,
        )
    ], []


def _call_findings(
    name: str,
    wanted: CallableMember,
    signature: inspect.Signature,
    hints: Mapping[str, Any],
    drops_self: bool,
    declared: str | None,
    compare_results: bool,
) -> _Findings:
    assert wanted.signature is not None
    wanted_parameters = without_self(wanted.signature, wanted.drops_self)
    have_parameters = without_self(signature, drops_self)
    assert wanted_parameters is not None
    if have_parameters is None:
        return [
            Problem(
                name,
                ProblemKind.SIGNATURE,
                "a first positional parameter for the instance (self)",
                f"signature {signature}",
                "add 'self' as the first parameter (or make it a staticmethod)",
            )
        ], []
    matching = signature_problems(name, wanted_parameters, have_parameters, declared)
    problems, warnings = annotation_findings(
        name, wanted.hints, hints, matching.pairs, compare_results
    )
    return matching.problems + problems, matching.warnings + warnings
