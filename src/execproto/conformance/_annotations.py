"""Annotations: whether the types a protocol passes and returns fit an implementation's.

Compared wherever both sides are annotated, with :func:`~execproto.conformance._types.
assignable` (container element types and type arguments included). What it cannot tell
becomes a "cannot verify" warning, never a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from execproto.conformance._report import Problem, ProblemKind
from execproto.conformance._signatures import shown
from execproto.conformance._types import Unknown, assignable, type_repr

__all__ = ["annotation_findings"]


def annotation_findings(
    name: str,
    wanted: Mapping[str, Any],
    have: Mapping[str, Any],
    pairs: list[tuple[str, str]],
    compare_results: bool,
) -> tuple[list[Problem], list[Problem]]:
    """Problems and warnings from the annotations *wanted* and *have* of one member.

    *wanted* and *have* map parameter names (and ``"return"``, the result type as a caller
    sees it: ``Coroutine[Any, Any, R]`` for an ``async def``) to annotations; *pairs* says
    which implementation parameter receives which protocol parameter. A parameter must
    accept what the protocol passes (contravariant); the result must fit what the protocol
    promises (covariant), compared only when *compare_results*. A side without an annotation
    is not compared.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for wanted_name, have_name in pairs:
        if wanted_name not in wanted or have_name not in have:
            continue
        passed, accepted = wanted[wanted_name], have[have_name]
        fit = assignable(passed, accepted)
        shown = _shown(have_name)
        if fit is False:
            problems.append(
                Problem(
                    name,
                    ProblemKind.ANNOTATION,
                    f"{shown} to accept {type_repr(passed)}",
                    f"{shown} annotated {type_repr(accepted)}",
                    f"annotate {shown} as {type_repr(passed)} (or a wider type)",
                )
            )
        elif isinstance(fit, Unknown):
            warnings.append(_unverified(name, f"{shown} accepts {type_repr(passed)}", fit))
    if compare_results and "return" in wanted and "return" in have:
        promised, returned = wanted["return"], have["return"]
        fit = assignable(returned, promised)
        if fit is False:
            problems.append(
                Problem(
                    name,
                    ProblemKind.ANNOTATION,
                    f"a result that fits {type_repr(promised)}",
                    f"-> {type_repr(returned)}",
                    f"return {type_repr(promised)} (or a narrower type)",
                )
            )
        elif isinstance(fit, Unknown):
            warnings.append(_unverified(name, f"the result fits {type_repr(promised)}", fit))
    return problems, warnings


def _shown(parameter: str) -> str:
    text = shown(parameter)
    return text if text.startswith("parameter") else f"parameter {text}"


def _unverified(name: str, what: str, fit: Unknown) -> Problem:
    return Problem(
        name,
        ProblemKind.UNVERIFIED,
        f"that {what}",
        f"cannot verify: {fit.reason}",
        "nothing to fix if the checkers accept it; otherwise annotate with plain classes",
    )
