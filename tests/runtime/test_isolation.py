"""Value isolation: which copy each kind of value gets, and that copies are independent."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from execproto.runtime._isolation import (
    copier_for,
    copy_tree,
    is_immutable,
    is_plain_tree,
    isolate,
    shaped_copier,
)


@pytest.mark.parametrize(
    "value", [None, True, 3, 2.5, 1j, "text", b"bytes", range(3), (1, ("a", b"b")), frozenset({1})]
)
def test_immutable_values_are_neither_copied_nor_given_a_copier(value: Any) -> None:
    stored, copier = isolate(value)

    assert is_immutable(value)
    assert stored is value
    assert copier is None


@pytest.mark.parametrize("value", [{"a": 1}, [1, "x"], {1, 2}])
def test_flat_containers_of_immutable_values_get_their_shallow_copy(value: Any) -> None:
    stored, copier = isolate(value)

    assert copier is type(value).copy
    assert value == stored
    assert stored is not value


def test_a_plain_tree_gets_a_copier_made_for_its_shape() -> None:
    value = {"hours": [9, 12], "meta": ({"tags": {"x"}}, 1)}

    stored, copier = isolate(value)

    assert copier is not None
    assert copier is not copy_tree
    read = copier(stored)
    assert value == read
    read["hours"].append(15)
    read["meta"][0]["tags"].add("y")
    assert {"hours": [9, 12], "meta": ({"tags": {"x"}}, 1)} == copier(stored)


def test_a_plain_tree_with_many_containers_falls_back_to_the_tree_copy() -> None:
    value = [[index] for index in range(40)]

    stored, copier = isolate(value)

    assert is_plain_tree(value)
    assert shaped_copier(stored) is None
    assert copy_tree is copier


def test_anything_else_is_deep_copied() -> None:
    class Point:
        def __init__(self) -> None:
            self.xs = [1]

    assert not is_plain_tree([Point()])
    assert copy.deepcopy is copier_for([Point()])
    assert copy.deepcopy is copier_for({"lock": threading.Lock()})


def test_copying_errors_reach_the_caller() -> None:
    with pytest.raises(TypeError):
        isolate({"lock": threading.Lock()})
