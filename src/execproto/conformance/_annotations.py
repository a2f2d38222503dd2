"""Annotations: whether the types a protocol passes and returns fit an implementation's.

Compared only where both sides are annotated, and only as far as plain classes allow
(see :func:`_assignable`); anything finer is left to mypy and pyright.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar, Union

import typing_extensions

from execproto.conformance._members import CallableMember, type_repr
from execproto.conformance._report import Problem, ProblemKind

__all__ = ["annotation_problems"]


def annotation_problems(
    name: str, wanted: CallableMember, have: CallableMember, pairs: list[tuple[str, str]]
) -> list[Problem]:
    """Annotations of *have* that contradict *wanted*'s, for each matched parameter pair.

    A parameter must accept what the protocol passes (contravariant); the return type must
    fit what the protocol promises (covariant), compared only when both are sync or both
    async. A side without an annotation is not compared.
    """
    problems: list[Problem] = []
    for wanted_name, have_name in pairs:
        if wanted_name not in wanted.hints or have_name not in have.hints:
            continue
        passed, accepted = wanted.hints[wanted_name], have.hints[have_name]
        if not _assignable(passed, accepted):
            problems.append(
                Problem(
                    name,
                    ProblemKind.ANNOTATION,
                    f"parameter {have_name!r} to accept {type_repr(passed)}",
                    f"{have_name!r} annotated {type_repr(accepted)}",
                    f"annotate {have_name!r} as {type_repr(passed)} (or a wider type)",
                )
            )
    if "return" in wanted.hints and "return" in have.hints and wanted.is_async == have.is_async:
        promised, returned = wanted.hints["return"], have.hints["return"]
        if not _assignable(returned, promised):
            problems.append(
                Problem(
                    name,
                    ProblemKind.ANNOTATION,
                    f"a return type that fits {type_repr(promised)}",
                    f"-> {type_repr(returned)}",
                    f"return {type_repr(promised)} (or a narrower type)",
                )
            )
    return problems


def _assignable(source: object, target: object) -> bool:
    """Whether a value of type *source* fits *target*; ``True`` whenever it cannot tell.

    Deliberately conservative: a false "incompatible" would reject working code, so only
    plain classes, unions, ``None`` and the origins of generic aliases are compared.
    """
    if source is Any or target is Any or target is object:
        return True
    if isinstance(source, TypeVar) or isinstance(target, TypeVar):
        return True
    if source is None:
        source = type(None)
    if target is None:
        target = type(None)
    target_members = _union_members(target)
    source_members = _union_members(source)
    if target_members is not None:
        return all(
            any(_assignable(s, t) for t in target_members) for s in source_members or (source,)
        )
    if source_members is not None:
        return all(_assignable(s, target) for s in source_members)
    source_class = typing.get_origin(source) or source
    target_class = typing.get_origin(target) or target
    if isinstance(source_class, type) and isinstance(target_class, type):
        return _is_subclass(source_class, target_class)
    return True


def _union_members(annotation: object) -> tuple[object, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return typing.get_args(annotation)
    return None


def _is_subclass(source: type, target: type) -> bool:
    if target is float and source is int:
        return True
    if target is complex and source in (int, float):
        return True
    if typing_extensions.is_protocol(target):
        # Structural: whether a class satisfies another protocol is for the checkers.
        return True
    try:
        return issubclass(source, target)
    except TypeError:
        return True
