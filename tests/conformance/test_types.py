"""Tests for execproto.conformance._types: assignability of annotations, as the checkers say."""

from __future__ import annotations

import collections
import typing
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from typing import Any, Generic, Literal, NewType, Optional, TypeVar, Union

import pytest
import typing_extensions

from execproto.conformance._types import Unknown, assignable, type_repr

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)
UserId = NewType("UserId", str)


class Box(Generic[T]):
    pass


class Source(Generic[T_co]):
    pass


class Sink(Generic[T_contra]):
    pass


class IntList(list[int]):
    pass


class Named(typing_extensions.Protocol):
    name: str


class HasName:
    name: str = "x"


class Callback(typing_extensions.Protocol):
    def __call__(self, user_id: str, index: int) -> object: ...


class IntCallback(typing_extensions.Protocol):
    def __call__(self, user_id: str, index: int) -> int: ...


class Item(typing_extensions.TypedDict):
    operation: str


# (source, target, fits): a value of type source where target is declared.
CASES: list[tuple[object, object, bool]] = [
    (int, int, True),
    (bool, int, True),
    (int, float, True),
    (float, complex, True),
    (int, str, False),
    (Any, int, True),
    (int, Any, True),
    (str, object, True),
    (None, Optional[int], True),  # noqa: UP045
    (int | None, int, False),
    (int, Union[int, str], True),  # noqa: UP007
    (int | str, int, False),
    (Literal["a"], str, True),
    (str, Literal["a"], False),
    (Literal["a"], Literal["a", "b"], True),
    (Literal[1], Literal[True], False),
    (list[int], list[int], True),
    (list[bool], list[int], False),  # list is invariant
    (list[Any], list[int], True),
    (list[dict[str, Any]], list[Mapping[str, Any]], False),
    (list[dict[str, Any]], Sequence[Mapping[str, Any]], True),
    (list[bool], Iterable[int], True),
    (IntList, Sequence[int], True),
    (IntList, Sequence[str], False),
    (dict[str, int], Mapping[str, int], True),
    (dict[str, bool], Mapping[str, int], True),  # Mapping's values are covariant
    (dict[bool, int], Mapping[int, int], False),  # ... its keys are not
    (dict[str, bool], MutableMapping[str, int], False),
    (dict[str, int], Iterable[str], True),
    (collections.OrderedDict[str, int], dict[str, int], True),
    (set[bool], set[int], False),
    (frozenset[bool], frozenset[int], True),
    (str, Sequence[str], True),
    (str, Iterable[int], False),
    (tuple[int, str], tuple[int, str], True),
    (tuple[bool, int], tuple[int, ...], True),
    (tuple[int, ...], tuple[int, int], False),
    (tuple[int, str], Sequence[int | str], True),
    (tuple[int, str], Sequence[int], False),
    (type[bool], type[int], True),
    (type[int], type[bool], False),
    (Coroutine[Any, Any, int], Awaitable[int], True),
    (Awaitable[Any], Coroutine[Any, Any, Any], False),
    (Coroutine[Any, Any, bool], Coroutine[Any, Any, int], True),
    (AsyncIterator[Any], Coroutine[Any, Any, Any], False),
    (typing.Generator[int, None, None], Iterator[int], True),
    (Callable[[int], str], Callable[[bool], object], True),
    (Callable[[bool], str], Callable[[int], str], False),
    (Callable[[int], str], Callable[[int, int], str], False),
    (Callable[..., Any], Callable[[int], Any], True),
    (Callable[[int], int], Callable[..., str], False),
    (Source[bool], Source[int], True),
    (Source[int], Source[bool], False),
    (Sink[int], Sink[bool], True),
    (Sink[bool], Sink[int], False),
    (Box[bool], Box[int], False),
    (UserId, str, True),
    (str, UserId, False),
    (HasName, Named, True),
    (int, Named, False),
    (typing_extensions.Annotated[int, "meta"], int, True),
    (Callable[..., Any], Callback, True),  # a callback protocol: its __call__'s result
    (Callable[..., str], IntCallback, False),
    (Callable[..., Any], int, False),
]


@pytest.mark.parametrize(("source", "target", "fits"), CASES, ids=lambda v: type_repr(v))
def test_assignability_follows_the_typing_spec(source: object, target: object, fits: bool) -> None:
    assert fits is assignable(source, target)


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        (T, int, "type variable of a generic method"),
        (int, "Nowhere", "was not resolved"),
        (Item, dict[str, Any], "TypedDict"),
        (dict[str, Any], Item, "TypedDict"),
        (Callable[[str, int], Any], Callback, "not compared by position"),
        (Callable[..., Any], Named, "cannot tell"),
    ],
    ids=[
        "type variable",
        "string",
        "typed dict source",
        "typed dict target",
        "callback",
        "protocol",
    ],
)
def test_what_it_cannot_tell_is_unknown_with_the_reason(
    source: object, target: object, reason: str
) -> None:
    fit = assignable(source, target)
    assert isinstance(fit, Unknown)
    assert reason in fit.reason


def test_unknown_wins_over_yes_and_loses_to_no() -> None:
    assert isinstance(assignable(int | T, int), Unknown)  # type: ignore[operator]
    assert False is assignable(str | T, int)  # type: ignore[operator]
    assert True is assignable(int, T | int)  # type: ignore[operator]


def test_reports_show_annotations_without_module_prefixes() -> None:
    assert "list[Mapping[str, Any]]" == type_repr(list[Mapping[str, Any]])
    assert "None" == type_repr(type(None))
    assert "int" == type_repr(int)
    assert "collections.OrderedDict" == type_repr(collections.OrderedDict)
