"""Hypothesis strategies for execution-layer inputs, and a state machine for any cache.

Strategies for identifiers and operation specs, parameter dictionaries (nested JSON-like
values, unicode, large and adversarial values), cache-key inputs, operation plans with
``"$result[N].path"`` references (each with the results a correct executor returns) and with
``id``/``depends_on`` dependencies::

    from hypothesis import given
    from execproto.testing import strategies

    @given(plan=strategies.referencing_plans(spec="calc.echo"))
    def test_references(plan): ...

:func:`cache_state_machine` holds any :class:`~execproto.protocols.ICacheProvider` against a
plain dict model. Importing this module imports hypothesis (extra ``testing``).
"""

from __future__ import annotations

import functools
import keyword
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

__all__ = [
    "ADVERSARIAL_VALUES",
    "BAD_REFERENCES",
    "MALFORMED_SPECS",
    "KeyInput",
    "ReferencingPlan",
    "adversarial_values",
    "cache_state_machine",
    "canonical",
    "dag_plans",
    "distinct_key_inputs",
    "identifiers",
    "json_values",
    "key_input_variants",
    "key_inputs",
    "malformed_specs",
    "operation_items",
    "operation_specs",
    "parameter_dicts",
    "referencing_plans",
]

KeyInput = tuple[str, str, str, tuple[Any, ...], dict[str, Any]]
"""The arguments of ``generate_cache_key``: operation, user, task, args, kwargs."""

MALFORMED_SPECS: tuple[str, ...] = (
    "",
    "calc",
    "calc.",
    ".add",
    "calc.add.extra",
    "calc..add",
    "calc add",
    " calc.add",
    "calc.add ",
    "1calc.add",
    "calc.1add",
    "calc-x.add",
    "calc._secret",
    "calc.__init__",
)
"""Operation specs that are not ``tool.operation`` with two public identifiers."""

BAD_REFERENCES: tuple[str, ...] = (
    "$result[1]",
    "$result[7]",
    "$result[-1]",
    "$result[0].__class__",
    "$result[0]._k",
    "$result[0].missing",
    "$result[x]",
)
"""References that step 1 of a plan whose step 0 returned ``{"k": "v"}`` cannot resolve:
itself, a later step, a negative index, dunder and private segments, a missing key, a
non-numeric index."""

_PUBLIC_IDENTIFIER = r"[a-z][a-z0-9_]{0,11}"


def identifiers() -> st.SearchStrategy[str]:
    """Public Python identifiers, ASCII and unicode (never keywords, never ``_``-prefixed)."""
    unicode_names = st.text(
        alphabet=st.characters(categories=["Ll", "Lu", "Lo"]), min_size=1, max_size=8
    )
    return (
        st.one_of(st.from_regex(_PUBLIC_IDENTIFIER, fullmatch=True), unicode_names)
        .filter(str.isidentifier)
        .filter(lambda name: not keyword.iskeyword(name) and not name.startswith("_"))
    )


def operation_specs(
    tools: Mapping[str, Sequence[str]] | None = None,
) -> st.SearchStrategy[str]:
    """Well-formed specs ``"tool.operation"``: any identifiers, or those of *tools*.

    *tools* maps tool names to their operation names.
    """
    if tools is None:
        return st.tuples(identifiers(), identifiers()).map(lambda pair: f"{pair[0]}.{pair[1]}")
    pairs = [(tool, op) for tool, ops in tools.items() for op in ops]
    return st.sampled_from(pairs).map(lambda pair: f"{pair[0]}.{pair[1]}")


def malformed_specs() -> st.SearchStrategy[str]:
    """Strings that are not well-formed specs: the fixed :data:`MALFORMED_SPECS` and more."""
    generated = st.text(max_size=12).filter(lambda text: not _is_spec(text))
    return st.one_of(st.sampled_from(MALFORMED_SPECS), generated)


def _is_spec(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 2 and all(
        part.isidentifier() and not part.startswith("_") for part in parts
    )


_LONG_TEXT = "x" * 100_000
ADVERSARIAL_VALUES: tuple[Any, ...] = (
    0,
    -0.0,
    2**63,
    -(2**63) - 1,
    10**100,
    1.7976931348623157e308,
    5e-324,
    "",
    "\x00",
    "\u202eevil",
    "😀" * 3,
    "e\u0301",
    "\u00e9",
    "$result[0]",
    "$result[0].__class__",
    "__class__",
    "'; DROP TABLE tools; --",
    _LONG_TEXT,
    [[[[[[[[[[[]]]]]]]]]]],
    {"": None},
    {f"k{index}": index for index in range(1000)},
    list(range(10_000)),
)
"""Values that break naive encoders and stores: huge ints, extreme floats, control and
combining characters, look-alike references, a 100 000-character string, deep nesting, wide
containers."""


def adversarial_values() -> st.SearchStrategy[Any]:
    """Values drawn from :data:`ADVERSARIAL_VALUES`."""
    return st.sampled_from(ADVERSARIAL_VALUES)


def json_values(
    *, max_leaves: int = 12, adversarial: bool = True, allow_nan: bool = False
) -> st.SearchStrategy[Any]:
    """Nested JSON-like values: ``None``, bools, ints, floats, unicode text, lists, dicts.

    *adversarial* mixes in :func:`adversarial_values`. NaN is off by default because it is
    not equal to itself, so no round trip can be checked with ``==``.
    """
    scalars: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=allow_nan, allow_infinity=False),
        st.text(max_size=20),
    ]
    if adversarial:
        scalars.append(adversarial_values())
    return st.recursive(
        st.one_of(scalars),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def parameter_dicts(
    values: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword-argument dictionaries: identifier keys (including ``tool`` and
    ``operation_name``, which collide with an executor's own parameters) to *values*
    (:func:`json_values` by default)."""
    names = st.one_of(identifiers(), st.sampled_from(["tool", "operation_name", "self", "params"]))
    return st.dictionaries(names, json_values() if values is None else values, max_size=5)


def operation_items(
    specs: st.SearchStrategy[str] | None = None,
    params: st.SearchStrategy[dict[str, Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Plan items ``{"operation": spec, "params": {...}}`` from *specs* and *params*."""
    return st.fixed_dictionaries(
        {
            "operation": operation_specs() if specs is None else specs,
            "params": parameter_dicts() if params is None else params,
        }
    )


def _key_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False).map(lambda number: number + 0.0),
            st.text(max_size=8),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=4), children, max_size=3),
        ),
        max_leaves=6,
    )


def key_inputs() -> st.SearchStrategy[KeyInput]:
    """Arguments for ``generate_cache_key``: operation, user, task, args, kwargs.

    Floats are never ``-0.0``: it equals ``0.0``, and whether a key tells them apart is the
    implementation's choice.
    """
    return st.tuples(*_key_part_strategies())  # pyright: ignore[reportUnknownVariableType]


# Built once: a state machine and the variant strategies draw from them thousands of times,
# and building (and validating) a recursive strategy costs far more than drawing from it.
@functools.cache
def _key_part_strategies() -> tuple[st.SearchStrategy[Any], ...]:
    values = _key_values()
    return (
        operation_specs(),
        st.text(max_size=8),
        st.text(max_size=8),
        st.lists(values, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=6), values, max_size=3),
    )


def _replace(base: KeyInput, part: int, value: Any) -> KeyInput:
    parts: list[Any] = list(base)
    parts[part] = value
    return (parts[0], parts[1], parts[2], parts[3], parts[4])


@st.composite
def _variant(draw: st.DrawFn, base: KeyInput, part: int) -> KeyInput:
    current = canonical(base[part])
    value = draw(_key_part_strategies()[part].filter(lambda new: canonical(new) != current))
    return _replace(base, part, value)


@st.composite
def key_input_variants(draw: st.DrawFn) -> tuple[KeyInput, list[KeyInput]]:
    """A key input and five variants of it, each differing in exactly one part (operation,
    user, task, args, kwargs, in that order), compared type-aware (:func:`canonical`).

    A key that ignores any one part gives a variant the base's key in every example.
    """
    base = draw(key_inputs())
    return base, [draw(_variant(base, part)) for part in range(5)]


def distinct_key_inputs() -> st.SearchStrategy[tuple[KeyInput, KeyInput]]:
    """Pairs of key inputs that differ, compared type-aware (:func:`canonical`): in exactly
    one part (drawn from :func:`key_input_variants`) or in any number of parts."""
    one_part = key_input_variants().flatmap(
        lambda drawn: st.sampled_from(drawn[1]).map(lambda variant: (drawn[0], variant))
    )
    return st.one_of(one_part, st.tuples(key_inputs(), key_inputs())).filter(
        lambda pair: canonical(pair[0]) != canonical(pair[1])
    )


def canonical(value: Any) -> Any:
    """Return a hashable, type-aware form of a JSON-like *value* (tuples kept apart from
    lists; ``1``, ``1.0``, ``True`` and ``"1"`` all different; dict order ignored).

    Raises:
        TypeError: *value* is not made of JSON-like values and tuples.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, tuple):
        return ("tuple", *(canonical(item) for item in value))  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return ("list", *(canonical(item) for item in value))  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):
        return (
            "dict",
            frozenset((canonical(key), canonical(item)) for key, item in value.items()),  # pyright: ignore[reportUnknownVariableType]
        )
    raise TypeError(
        f"expected a JSON-like value (None, bool, int, float, str, list, tuple, dict), got "
        f"{value!r} of type {type(value).__name__}"
    )


@dataclass(frozen=True)
class ReferencingPlan:
    """An operation sequence whose params hold ``$result`` references, and its outcome.

    ``items`` are plan items for one echo-like operation (it returns its ``value``
    parameter); ``expected`` holds what each step returns once its references are resolved.
    """

    items: list[dict[str, Any]]
    expected: list[Any] = field(default_factory=list[Any])


_REFERENCE_KEYS = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)


def _reference_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if isinstance(value, dict) and len(prefix) < 4:
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            if isinstance(key, str) and key.isidentifier() and not key.startswith("_"):
                paths.extend(_reference_paths(item, (*prefix, key)))
    return paths


def _resolve(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _value_with_references(previous: list[Any]) -> st.SearchStrategy[tuple[Any, Any]]:
    plain = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8).filter(lambda text: not text.startswith("$")),
    ).map(lambda leaf: (leaf, leaf))
    targets = [
        (index, path) for index, result in enumerate(previous) for path in _reference_paths(result)
    ]
    leaves = plain
    if targets:
        references = st.sampled_from(targets).map(
            lambda target: (
                "".join([f"$result[{target[0]}]", *(f".{key}" for key in target[1])]),
                _resolve(previous[target[0]], target[1]),
            )
        )
        leaves = st.one_of(plain, references)

    def containers(
        children: st.SearchStrategy[tuple[Any, Any]],
    ) -> st.SearchStrategy[tuple[Any, Any]]:
        lists = st.lists(children, max_size=3).map(
            lambda pairs: ([pair[0] for pair in pairs], [pair[1] for pair in pairs])
        )
        dicts = st.dictionaries(_REFERENCE_KEYS, children, max_size=3).map(
            lambda pairs: (
                {key: pair[0] for key, pair in pairs.items()},
                {key: pair[1] for key, pair in pairs.items()},
            )
        )
        return st.one_of(lists, dicts)

    return st.recursive(leaves, containers, max_leaves=8)


@st.composite
def referencing_plans(
    draw: st.DrawFn, spec: str = "calc.echo", max_steps: int = 5
) -> ReferencingPlan:
    """Sequences of *spec* (an operation returning its ``value`` parameter) whose values
    refer to earlier results with ``"$result[N]"`` and ``"$result[N].key.key"``, anywhere
    inside nested lists and dicts, with the results a correct executor returns."""
    items: list[dict[str, Any]] = []
    expected: list[Any] = []
    for _ in range(draw(st.integers(1, max_steps))):
        value, resolved = draw(_value_with_references(expected))
        items.append({"operation": spec, "params": {"value": value}})
        expected.append(resolved)
    return ReferencingPlan(items=items, expected=expected)


@st.composite
def dag_plans(
    draw: st.DrawFn,
    items: st.SearchStrategy[dict[str, Any]] | None = None,
    max_steps: int = 6,
) -> list[dict[str, Any]]:
    """Plans whose items carry unique ``id`` s and ``depends_on`` lists of earlier ids.

    Acyclic by construction; items are drawn from *items* (:func:`operation_items` by
    default) and then shuffled, so input order is not a valid run order.
    """
    source = operation_items() if items is None else items
    plan: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, max_steps))):
        item = dict(draw(source))
        item["id"] = f"step{index}"
        earlier = [f"step{other}" for other in range(index)]
        if earlier:
            item["depends_on"] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3))
        plan.append(item)
    return draw(st.permutations(plan))


def cache_state_machine(
    factory: Callable[[], Any], *, maxsize: int | None = None
) -> type[RuleBasedStateMachine]:
    """Return a state machine that holds the caches *factory* builds against a dict model.

    Run it with ``TestCache = cache_state_machine(MyCache).TestCase`` or
    :func:`hypothesis.stateful.run_state_machine_as_test`. It checks that a key always reads
    back the last value stored under it (or ``None`` when it was never stored), that equal
    key inputs give equal keys and type-aware different inputs different keys, and, when
    *maxsize* is given, that entries may be evicted but at most *maxsize* are kept and the
    latest one always is.
    """

    class CacheMachine(RuleBasedStateMachine):
        inputs = Bundle("inputs")
        keys = Bundle("keys")

        def __init__(self) -> None:
            super().__init__()
            self.cache = factory()
            self.model: dict[str, Any] = {}
            self.key_of: dict[Any, str] = {}
            self.latest: str | None = None

        @rule(target=inputs, drawn=key_inputs())
        def new_input(self, drawn: KeyInput) -> KeyInput:
            return drawn

        @rule(target=inputs, base=inputs, part=st.integers(0, 4), data=st.data())
        def vary_input(self, base: KeyInput, part: int, data: st.DataObject) -> KeyInput:
            variant = data.draw(_variant(base, part))
            # Keyed at once: a key that ignores the varied part collides right here.
            self.generate_key(base)
            self.generate_key(variant)
            return variant

        @rule(target=keys, inputs=inputs)
        def generate_key(self, inputs: KeyInput) -> str:
            key = _call(
                "generate_cache_key must make a key of any JSON-like inputs",
                self.cache.generate_cache_key,
                *inputs,
            )
            if not isinstance(key, str):
                raise AssertionError(
                    f"generate_cache_key must return a str; for {inputs!r} it returned {key!r}"
                )
            identity = canonical(inputs)
            if identity in self.key_of:
                if self.key_of[identity] != key:
                    raise AssertionError(
                        f"generate_cache_key must give equal inputs equal keys; {inputs!r} gave "
                        f"{self.key_of[identity]!r}, then {key!r}"
                    )
            else:
                clash = [known for known, other in self.key_of.items() if other == key]
                if clash:
                    raise AssertionError(
                        f"generate_cache_key must give different inputs different keys; "
                        f"{inputs!r} got the key of {clash!r}"
                    )
                self.key_of[identity] = key
            return key

        @rule(key=keys, value=json_values(max_leaves=6, adversarial=False))
        def add(self, key: str, value: Any) -> None:
            _call(
                "add_to_cache must store any JSON-like value", self.cache.add_to_cache, key, value
            )
            self.model[key] = value
            self.latest = key

        @rule(key=keys)
        def get(self, key: str) -> None:
            found = _call(
                "get_from_cache must return a value or None", self.cache.get_from_cache, key
            )
            if key not in self.model:
                if found is not None:
                    raise AssertionError(
                        f"get_from_cache must return None for a key nothing was stored under; "
                        f"it returned {found!r}"
                    )
            elif not (_same(self.model[key], found) or (maxsize is not None and found is None)):
                evicted = "" if maxsize is None else " (or None once evicted)"
                raise AssertionError(
                    f"get_from_cache must return the last value stored under the key{evicted}; "
                    f"{self.model[key]!r} was stored, it returned {found!r}"
                )

        @invariant()
        def bounded(self) -> None:
            if maxsize is None or self.latest is None:
                return
            read = "get_from_cache must return a value or None"
            found = _call(read, self.cache.get_from_cache, self.latest)
            if not _same(self.model[self.latest], found):
                raise AssertionError(
                    f"a bounded cache must keep the entry stored last; "
                    f"{self.model[self.latest]!r} was stored, it returned {found!r}"
                )
            kept = sum(
                1 for key in self.model if _call(read, self.cache.get_from_cache, key) is not None
            )
            if kept > maxsize:
                raise AssertionError(
                    f"a bounded cache must hold at most maxsize={maxsize} entries; {kept} read back"
                )

        def teardown(self) -> None:
            close = getattr(self.cache, "close", None)
            if callable(close):
                close()

    return CacheMachine


def _call(promise: str, method: Callable[..., Any], /, *args: Any) -> Any:
    # An implementation's error, restated as the promise it broke (and chained).
    try:
        return method(*args)
    except Exception as err:
        raise AssertionError(f"{promise}; it raised {type(err).__name__}: {err}") from err


def _same(expected: Any, actual: Any) -> bool:
    # A float that is not finite never comes from json_values(); == is enough otherwise,
    # but -0.0 == 0.0, which a cache may well normalise.
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return bool(expected == actual)
