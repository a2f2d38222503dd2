"""Value isolation: the cheapest copy that keeps a stored value apart from its callers.

A cache that hands out the object it stored lets one caller's mutation change what every
later caller reads. :func:`isolate` makes the cache's own copy of a value when it is stored
and returns the :data:`Copier` that hands out a copy of it on each read, choosing the
cheapest one that is still independent:

* immutable values (numbers, strings, bytes, ``None``, and tuples and frozensets of those)
  are never copied (no copier);
* a ``dict``, ``list`` or ``set`` of immutable values costs one shallow, C-level copy;
* a *plain tree* (exact dicts, lists, sets and tuples over immutable leaves, at most 64
  levels deep) is copied container by container, by a copier made for the shape of the
  stored value when it has at most 32 containers (:func:`shaped_copier`), else by
  :func:`copy_tree`; sub-containers shared inside one value come back as independent
  copies;
* anything else by :func:`copy.deepcopy`, which costs a few microseconds per read.

Read copies are on the cache-hit path, which ``make bench`` measures against
``cachetools``: every function here avoids work per item where the shape is known.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, cast

__all__ = [
    "Copier",
    "copier_for",
    "copy_tree",
    "is_immutable",
    "is_plain_tree",
    "isolate",
    "shaped_copier",
]

#: A function that returns an independent copy of the value it is given.
Copier = Callable[[Any], Any]


_IMMUTABLE_SCALARS: frozenset[type[Any]] = frozenset(
    {type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis)}
)
_SHALLOW_COPIERS: dict[type[Any], Copier] = {
    dict: dict[Any, Any].copy,
    list: list[Any].copy,
    set: set[Any].copy,
}


# Trees deeper than this are copied by copy.deepcopy, which also copes with cycles.
_MAX_TREE_DEPTH = 64


def is_immutable(value: Any, depth: int = 0) -> bool:
    """Whether *value* can never change: an immutable scalar, or tuples and frozensets of them."""
    kind = cast("type[object]", type(value))
    if kind in _IMMUTABLE_SCALARS:
        return True
    if (kind is tuple or kind is frozenset) and depth < _MAX_TREE_DEPTH:
        return all(is_immutable(item, depth + 1) for item in value)
    return False


def is_plain_tree(value: Any, depth: int = 0) -> bool:
    """Whether *value* is built of exact dicts, lists, sets and tuples over immutable leaves."""
    kind = cast("type[object]", type(value))
    if kind in _IMMUTABLE_SCALARS:
        return True
    if depth >= _MAX_TREE_DEPTH:
        return False
    if kind is dict:
        # Keys are hashable, so plain keys are immutable; only the values can be mutable.
        return all(is_immutable(key, depth) for key in value) and all(
            is_plain_tree(item, depth + 1) for item in value.values()
        )
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return all(is_plain_tree(item, depth + 1) for item in value)
    return False


def copy_tree(value: Any) -> Any:
    """Copy a plain tree (see :func:`is_plain_tree`): new containers, the same immutable leaves.

    Several times faster than copy.deepcopy, which memoises every object to preserve
    sharing; a plain tree that shares a sub-list is copied as two independent lists.
    """
    kind = cast("type[object]", type(value))
    if kind is dict:
        return {
            key: item if type(item) in _IMMUTABLE_SCALARS else copy_tree(item)
            for key, item in value.items()
        }
    if kind is list:
        return [item if type(item) in _IMMUTABLE_SCALARS else copy_tree(item) for item in value]
    if kind is tuple:
        return tuple(
            item if type(item) in _IMMUTABLE_SCALARS else copy_tree(item) for item in value
        )
    if kind is set:
        # Set elements are hashable, hence immutable in a plain tree.
        return set(value)
    return value


# A shaped copier holds one function per mutable container of its value: beyond this many,
# the generic tree copy is used, so the copier never outweighs the value by much.
_MAX_SHAPED_CONTAINERS = 32


def shaped_copier(value: Any) -> Copier | None:
    """Return a copier made for the shape of *value*, a plain tree that no one mutates.

    A cache never mutates what it stores, so the shape of a stored value (which positions
    hold containers) is fixed: the copier copies each container with its C-level
    ``copy`` and then replaces only the positions known to hold mutable containers, with
    no type test per item. Returns None when the tree has too many containers.
    """
    budget = [_MAX_SHAPED_CONTAINERS]

    def shape(node: Any) -> Copier | None:
        kind = cast("type[object]", type(node))
        if kind in _IMMUTABLE_SCALARS or kind is frozenset:
            return None  # frozensets of a plain tree hold hashable, immutable items
        budget[0] -= 1
        if budget[0] < 0:
            raise OverflowError
        if kind is set:
            return set[Any].copy
        items: list[tuple[Any, Any]]
        if kind is dict:
            mapping: dict[Any, Any] = node
            items = list(mapping.items())
        else:
            sequence: Sequence[Any] = node
            items = list(enumerate(sequence))
        children = tuple(
            (position, copier) for position, item in items if (copier := shape(item)) is not None
        )
        if kind is tuple:
            if not children:
                return None

            def copy_tuple(old: tuple[Any, ...]) -> tuple[Any, ...]:
                new = list(old)
                for position, copier in children:
                    new[position] = copier(new[position])
                return tuple(new)

            return copy_tuple
        shallow = _SHALLOW_COPIERS[kind]
        if not children:
            return shallow

        def copy_container(old: Any) -> Any:
            new = shallow(old)
            for position, copier in children:
                new[position] = copier(new[position])
            return new

        return copy_container

    try:
        return shape(value)
    except OverflowError:
        return None


def copier_for(value: Any) -> Copier | None:
    """Return the cheapest function that gives an independent copy of *value*."""
    if is_immutable(value):
        return None
    kind = cast("type[object]", type(value))
    shallow = _SHALLOW_COPIERS.get(kind)
    if shallow is not None:
        items = value.values() if kind is dict else value
        if all(is_immutable(item) for item in items):
            return shallow
    if is_plain_tree(value):
        return copy_tree
    return copy.deepcopy


def isolate(value: Any) -> tuple[Any, Copier | None]:
    """Return a private copy of *value* and the copier that hands out copies of it.

    The copy is what a cache stores; the copier (``None`` for an immutable value, which is
    returned as is) is called on the stored copy for each read. A plain tree's copier is
    made for the shape of the stored copy, which no caller can reach to change.

    Raises:
        Exception: whatever copying raised (:func:`copy.deepcopy` refuses locks, sockets
            and the like).
    """
    copier = copier_for(value)
    if copier is None:
        return value, None
    value = copier(value)
    if copier is copy_tree:
        copier = shaped_copier(value) or copy_tree
    return value, copier
