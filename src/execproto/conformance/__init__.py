"""Runtime conformance: stricter than ``isinstance`` at boundaries, and as fast.

``isinstance(obj, IToolExecutor)`` only checks that the member *names* exist: an
``execute_async`` that is a plain function, or that takes the wrong arguments, passes. This
module checks what a caller relies on:

* :func:`check` returns a :class:`ConformanceReport` listing *every* problem at once: a
  missing member, a member that is not callable, a synchronous method where the protocol's
  is ``async`` (and the reverse), parameters that cannot accept the protocol's calls (kinds,
  arity, names; the names of positional-only protocol parameters are free), annotations that
  contradict the protocol's where both are annotated, and an ``__implements_version__``
  below the protocol's ``__protocol_version__``. Subscripted generic protocols
  (``ITypedToolExecutor[Calc, int]``) are accepted; their type arguments are substituted in
  the protocol's annotations.
* :func:`conforms` is the boundary check: a ``bool``, cached per (type, protocol).
* :func:`ensure` returns the object or raises :class:`~execproto.errors.ConformanceError`
  carrying the report; :func:`implements` does the same for a class at definition time and
  lets mypy and pyright verify the class statically too.
* :func:`check_version` compares an implementation's declared version with a required one.

The seed's maintenance helpers map onto these: ``check_interface_compatibility`` and
``diagnose_incomplete_implementation`` are ``check(cls, protocol)`` (problems of kind
``missing``); ``diagnose_type_mismatch`` is ``check`` too (kinds ``signature``,
``annotation``, ``not_async``, ``unexpected_async``), compared by call compatibility rather
than signature equality, so a differently named positional-only parameter is not reported;
``check_interface_version`` is :func:`check_version`, comparing versions numerically
(``"1.10.0" > "1.9.0"``) where the seed compared strings.

What the :func:`conforms` cache assumes: the verdict for a *type* is computed once, so a
class must not be changed (methods added, replaced or deleted) after an instance of it was
first checked against a protocol; call :func:`clear_cache` after doing so. Instance
attributes are not assumed: an object whose ``__dict__`` holds a name of a protocol member
(which shadows the class's method, or supplies a missing one) is checked on its own, without
the cache, every time. At most 4096 types are remembered per protocol (and 256 protocols); beyond
that the entries are dropped and recomputed on demand, because the cache holds strong
references and classes created in a loop would otherwise be kept alive forever.
"""

from __future__ import annotations

import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union

import typing_extensions

from execproto._versions import protocol_version
from execproto.errors import ConformanceError

__all__ = [
    "ConformanceReport",
    "Problem",
    "ProblemKind",
    "check",
    "check_version",
    "clear_cache",
    "conforms",
    "ensure",
    "implements",
]

P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)
C = TypeVar("C")

_EMPTY = inspect.Parameter.empty
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD
_POSITIONAL = (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (_POSITIONAL_OR_KEYWORD, _KEYWORD_ONLY)

_MAX_TYPES_PER_PROTOCOL = 4096
_MAX_PROTOCOLS = 256


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


# --------------------------------------------------------------------------------------------
# Resolving members


@dataclass(frozen=True)
class _Callable:
    """A member that can be called: what is called, and the signature a caller sees."""

    target: Any
    signature: inspect.Signature | None
    is_async: bool
    hints: Mapping[str, Any]
    drops_self: bool


def _display_name(value: object) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    origin = typing.get_origin(value)
    if isinstance(origin, type):
        return _type_repr(value)
    return f"{type(value).__module__}.{type(value).__qualname__} instance"


def _type_repr(annotation: object) -> str:
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation).replace("typing.", "").replace("typing_extensions.", "")


def _is_async_callable(target: object) -> bool:
    while isinstance(target, functools.partial):
        target = typing.cast("functools.partial[object]", target).func
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(type(target), "__call__", None)  # noqa: B004 - the type's, not the object's
    if not isinstance(target, (types.FunctionType, types.MethodType)) and call is not None:
        return inspect.iscoroutinefunction(call)
    return False


def _hints(target: object) -> Mapping[str, Any]:
    function = target
    if not isinstance(target, (types.FunctionType, types.MethodType)):
        function = getattr(type(target), "__call__", target)  # noqa: B004
    try:
        # typing_extensions' version does not add Optional[...] for None defaults on 3.10.
        return typing_extensions.get_type_hints(function)
    except Exception:
        # An annotation that cannot be resolved (a name imported only under TYPE_CHECKING,
        # a typo) is treated as absent: annotations are compared only where both sides are
        # readable, and the checkers report the broken annotation themselves.
        return {}


def _callable_member(target: object, drops_self: bool) -> _Callable:
    try:
        signature: inspect.Signature | None = inspect.signature(target)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        # Some builtins have no introspectable signature; their calls cannot be checked.
        signature = None
    return _Callable(target, signature, _is_async_callable(target), _hints(target), drops_self)


def _has_instance_dict(cls: type) -> bool:
    return cls.__dictoffset__ != 0


def _is_data_descriptor(value: object) -> bool:
    return hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")


def _declares_annotation(cls: type, name: str) -> bool:
    return any(name in getattr(klass, "__annotations__", {}) for klass in cls.__mro__)


_Found = Union[_Callable, "_Data", None]


@dataclass(frozen=True)
class _Data:
    """A member found that is not a method: a property, a data attribute, an annotation."""

    description: str


def _lookup(subject: object, is_type: bool, name: str) -> _Found:
    """Find *name* on *subject* the way attribute access would, without running descriptors."""
    cls = subject if is_type else type(subject)
    assert isinstance(cls, type)
    static: object = inspect.getattr_static(cls, name, _EMPTY)
    if not is_type and _has_instance_dict(cls) and not _is_data_descriptor(static):
        instance_dict: dict[str, Any] = object.__getattribute__(subject, "__dict__")
        if name in instance_dict:
            value: object = instance_dict[name]
            if callable(value):
                return _callable_member(value, drops_self=False)
            return _Data(f"an instance attribute of type {_type_repr(type(value))}")
    if static is _EMPTY:
        if _declares_annotation(cls, name):
            return _Data("an annotated attribute")
        return None
    if isinstance(static, (staticmethod, classmethod)):
        # Both wrappers keep the function in __func__; its own type is unknown here.
        function: object = typing.cast("staticmethod[..., object]", static).__func__
        return _callable_member(function, drops_self=isinstance(static, classmethod))
    if isinstance(static, types.FunctionType):
        return _callable_member(static, drops_self=True)
    if isinstance(static, property):
        return _Data("a property")
    if _is_data_descriptor(static):
        return _Data(f"a data descriptor of type {_type_repr(type(static))}")
    if callable(static):
        # A callable stored on the class: a bound-on-access descriptor (builtin method) gets
        # self; an object without __get__ (functools.partial, a callable instance) does not.
        return _callable_member(static, drops_self=hasattr(type(static), "__get__"))
    if hasattr(type(static), "__get__"):
        bound = getattr(cls, name)
        if callable(bound):
            return _callable_member(bound, drops_self=True)
    return _Data(f"an attribute of type {_type_repr(type(static))}")


# --------------------------------------------------------------------------------------------
# Protocol side


@dataclass(frozen=True)
class _Spec:
    """What a protocol asks for, precomputed once per (possibly subscripted) protocol."""

    name: str
    origin: type
    methods: Mapping[str, _Callable]
    data: frozenset[str]
    members: frozenset[str]
    version: str | None


_SPECS: dict[object, _Spec] = {}


def _substitute(annotation: object, mapping: Mapping[object, object]) -> object:
    if not mapping:
        return annotation
    if isinstance(annotation, TypeVar):
        return mapping.get(annotation, annotation)
    parameters = getattr(annotation, "__parameters__", ())
    if parameters:
        try:
            return annotation[tuple(mapping.get(p, p) for p in parameters)]  # type: ignore[index]
        except TypeError:
            return annotation
    return annotation


def _spec(protocol: object) -> _Spec:
    spec = _SPECS.get(protocol)
    if spec is not None:
        return spec
    origin = typing.get_origin(protocol) or protocol
    if not (isinstance(origin, type) and typing_extensions.is_protocol(origin)):
        raise TypeError(
            f"expected a Protocol class such as execproto.IToolExecutor (or a subscripted "
            f"one), got {protocol!r} of type {type(protocol).__name__}; pass the protocol "
            f"class itself"
        )
    parameters: tuple[object, ...] = getattr(origin, "__parameters__", ())
    arguments = typing.get_args(protocol)
    mapping = dict(zip(parameters, arguments, strict=False))
    methods: dict[str, _Callable] = {}
    data: set[str] = set()
    # A sub-protocol created after set_protocol_version() ran on its base counts the base's
    # __protocol_version__ as a member; it is metadata, never something to implement.
    members = typing_extensions.get_protocol_members(origin) - {"__protocol_version__"}
    for name in sorted(members):
        found = _lookup(origin, True, name)
        if isinstance(found, _Callable):
            hints = {key: _substitute(value, mapping) for key, value in found.hints.items()}
            methods[name] = _Callable(
                found.target, found.signature, found.is_async, hints, found.drops_self
            )
        else:
            data.add(name)
    shown = _type_repr(protocol) if arguments else origin.__qualname__
    spec = _Spec(
        shown, origin, methods, frozenset(data), frozenset(members), protocol_version(origin)
    )
    _SPECS[protocol] = spec
    return spec


# --------------------------------------------------------------------------------------------
# Comparing


def _without_self(member: _Callable) -> list[inspect.Parameter] | None:
    """The parameters a caller supplies; ``None`` when the method cannot even take self."""
    assert member.signature is not None
    parameters = list(member.signature.parameters.values())
    if not member.drops_self:
        return parameters
    if parameters and parameters[0].kind in _POSITIONAL:
        return parameters[1:]
    if parameters and parameters[0].kind is _VAR_POSITIONAL:
        return parameters
    return None


def _format_parameters(parameters: list[inspect.Parameter]) -> str:
    bare = [p.replace(annotation=_EMPTY) for p in parameters]
    try:
        return str(inspect.Signature(bare))
    except ValueError:  # pragma: no cover - parameters come from a valid signature
        return "(" + ", ".join(str(p) for p in bare) + ")"


def _signature_problems(
    name: str, wanted: list[inspect.Parameter], have: list[inspect.Parameter]
) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Problems with *have* accepting every call *wanted* accepts, and the matched pairs.

    Each pair is (protocol parameter name, implementation parameter name), for comparing
    annotations.
    """
    problems: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    expected_text = _format_parameters(wanted)
    found_text = _format_parameters(have)

    def problem(expected: str, found: str, fix: str) -> None:
        problems.append(
            Problem(
                name,
                ProblemKind.SIGNATURE,
                f"{expected} (protocol signature {expected_text})",
                f"{found} (signature {found_text})",
                fix,
            )
        )

    have_positional = [p for p in have if p.kind in _POSITIONAL]
    have_by_keyword = {p.name: p for p in have if p.kind in _BY_KEYWORD}
    have_positional_names = [p.name for p in have_positional]
    var_positional = next((p for p in have if p.kind is _VAR_POSITIONAL), None)
    var_keyword = next((p for p in have if p.kind is _VAR_KEYWORD), None)
    matched: set[str] = set()
    capturable: list[str] = []

    wanted_positional = [p for p in wanted if p.kind in _POSITIONAL]
    for index, want in enumerate(wanted_positional):
        if index >= len(have_positional):
            if var_positional is None:
                problem(
                    f"at least {len(wanted_positional)} positional parameters",
                    f"{len(have_positional)}",
                    f"add a positional parameter for {want.name!r} (or *args)",
                )
                break
            if want.kind is _POSITIONAL_OR_KEYWORD and (
                var_keyword is None or want.name in have_by_keyword
            ):
                # Passed positionally it lands in *args; by keyword it must land in **kwargs
                # too, not in a separate parameter of that name (or nowhere).
                problem(
                    f"parameter {want.name!r} accepted by position and by keyword alike",
                    "*args only"
                    if want.name not in have_by_keyword
                    else f"*args, and a separate keyword parameter {want.name!r}",
                    f"declare {want.name!r} as positional parameter {index + 1}",
                )
            pairs.append((want.name, var_positional.name))
            continue
        got = have_positional[index]
        matched.add(got.name)
        pairs.append((want.name, got.name))
        if want.kind is _POSITIONAL_OR_KEYWORD:
            if got.kind is _POSITIONAL_ONLY:
                problem(
                    f"parameter {want.name!r} accepted by keyword too",
                    f"{got.name!r} positional-only",
                    f"remove the '/' after {got.name!r} (make it positional-or-keyword)",
                )
            elif got.name != want.name:
                problem(
                    f"parameter {index + 1} named {want.name!r} (callers may pass it by keyword)",
                    f"{got.name!r}",
                    f"rename {got.name!r} to {want.name!r}",
                )
        elif (
            got.kind is _POSITIONAL_OR_KEYWORD
            and any(p.kind is _VAR_KEYWORD for p in wanted)
            and got.name not in {p.name for p in wanted if p.kind in _BY_KEYWORD}
        ):
            # The caller may pass an operation parameter called like this one in **params:
            # "got multiple values for argument".
            capturable.append(got.name)
        if want.default is not _EMPTY and got.default is _EMPTY:
            problem(
                f"parameter {want.name!r} optional",
                f"{got.name!r} required",
                f"give {got.name!r} a default value",
            )

    positionally_filled = set(have_positional_names[: len(wanted_positional)])
    if capturable:
        names = ", ".join(repr(name) for name in capturable)
        problem(
            f"positional-only parameters where the protocol's are, since "
            f"**{_var_keyword_name(wanted)} may contain any key",
            f"{names} can also be passed by keyword",
            f"add '/' after {capturable[-1]!r} to make {names} positional-only",
        )

    for want in (p for p in wanted if p.kind is _KEYWORD_ONLY):
        got_keyword = have_by_keyword.get(want.name)
        if got_keyword is None:
            if var_keyword is None:
                problem(
                    f"keyword parameter {want.name!r}",
                    "no parameter of that name and no **kwargs",
                    f"add a keyword-only parameter {want.name!r}",
                )
            else:
                pairs.append((want.name, var_keyword.name))
            continue
        matched.add(got_keyword.name)
        if got_keyword.name in positionally_filled:
            problem(
                f"keyword parameter {want.name!r} separate from the positional ones",
                f"{got_keyword.name!r} already receives a positional argument",
                f"rename positional parameter {got_keyword.name!r} or make it positional-only",
            )
            continue
        pairs.append((want.name, got_keyword.name))
        if want.default is not _EMPTY and got_keyword.default is _EMPTY:
            problem(
                f"keyword parameter {want.name!r} optional",
                f"{got_keyword.name!r} required",
                f"give {got_keyword.name!r} a default value",
            )

    wanted_var_positional = next((p for p in wanted if p.kind is _VAR_POSITIONAL), None)
    if wanted_var_positional is not None:
        if var_positional is None:
            problem(
                f"*{wanted_var_positional.name}",
                "no *args",
                f"add *{wanted_var_positional.name}",
            )
        else:
            pairs.append((wanted_var_positional.name, var_positional.name))
    wanted_var_keyword = next((p for p in wanted if p.kind is _VAR_KEYWORD), None)
    if wanted_var_keyword is not None:
        if var_keyword is None:
            problem(
                f"**{wanted_var_keyword.name}",
                "no **kwargs",
                f"add **{wanted_var_keyword.name}",
            )
        else:
            pairs.append((wanted_var_keyword.name, var_keyword.name))

    for extra in have:
        if extra.kind in (_VAR_POSITIONAL, _VAR_KEYWORD) or extra.name in matched:
            continue
        if extra.default is _EMPTY:
            problem(
                "no further required parameter",
                f"required parameter {extra.name!r}",
                f"give {extra.name!r} a default value or remove it",
            )
    return problems, pairs


def _var_keyword_name(parameters: list[inspect.Parameter]) -> str:
    return next(p.name for p in parameters if p.kind is _VAR_KEYWORD)


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


def _annotation_problems(
    name: str, wanted: _Callable, have: _Callable, pairs: list[tuple[str, str]]
) -> list[Problem]:
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
                    f"parameter {have_name!r} to accept {_type_repr(passed)}",
                    f"{have_name!r} annotated {_type_repr(accepted)}",
                    f"annotate {have_name!r} as {_type_repr(passed)} (or a wider type)",
                )
            )
    if "return" in wanted.hints and "return" in have.hints and wanted.is_async == have.is_async:
        promised, returned = wanted.hints["return"], have.hints["return"]
        if not _assignable(returned, promised):
            problems.append(
                Problem(
                    name,
                    ProblemKind.ANNOTATION,
                    f"a return type that fits {_type_repr(promised)}",
                    f"-> {_type_repr(returned)}",
                    f"return {_type_repr(promised)} (or a narrower type)",
                )
            )
    return problems


def _method_problems(name: str, wanted: _Callable, have: _Callable) -> list[Problem]:
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
    wanted_parameters = _without_self(wanted)
    have_parameters = _without_self(have)
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
    signature_problems, pairs = _signature_problems(name, wanted_parameters, have_parameters)
    problems.extend(signature_problems)
    problems.extend(_annotation_problems(name, wanted, have, pairs))
    return problems


# --------------------------------------------------------------------------------------------
# Versions

_VERSION = re.compile(
    r"(?P<numbers>\d+(?:\.\d+){0,2})(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


def _version_key(version: object) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
    """Sort key of a semantic version; numeric parts compare as numbers, not text.

    Raises:
        ValueError: *version* is not ``MAJOR[.MINOR[.PATCH]][-prerelease][+build]``.
    """
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if match is None:
        raise ValueError(
            f"expected a semantic version such as '1.2.0', got {version!r} of type "
            f"{type(version).__name__}"
        )
    numbers = tuple(int(part) for part in match["numbers"].split("."))
    numbers += (0,) * (3 - len(numbers))
    pre = match["pre"]
    if pre is None:
        # A release sorts after every pre-release of the same numbers (1.0.0-rc1 < 1.0.0).
        return numbers, 1, ()
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return numbers, 0, identifiers


def _version_problem(declared: object, required: str) -> Problem | None:
    try:
        have = _version_key(declared)
    except ValueError:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"a semantic version string compatible with {required!r}",
            f"{declared!r} of type {type(declared).__name__}",
            f"set __implements_version__ = {required!r}",
        )
    want = _version_key(required)
    if have < want:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"version {required!r} or later (same major version)",
            f"{declared!r}",
            f"update the implementation to interface version {required!r} and declare it",
        )
    if have[0][0] != want[0][0]:
        return Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"major version {want[0][0]} (protocol version {required!r})",
            f"{declared!r}, written for another major version of the interface",
            f"use an execproto release whose interfaces are version {declared!r}",
        )
    return None


def check_version(implementation: object, required_version: str) -> str:
    """Return *implementation*'s declared interface version if it is at least *required_version*.

    The declared version is, in this order: ``implementation.get_version()`` (the seed's
    :class:`~execproto.typed.VersionedInterface`), its ``version`` attribute, its
    ``__implements_version__``. Versions compare as semantic versions, numerically
    (``"1.10.0" > "1.9.0"``); a pre-release sorts before its release.

    Raises:
        ValueError: *required_version* is not a semantic version.
        ConformanceError: no version is declared, the declared one is malformed, lower than
            *required_version*, or of another major version.
    """
    _version_key(required_version)
    declared: object = None
    get_version = getattr(implementation, "get_version", None)
    if callable(get_version) and not isinstance(implementation, type):
        declared = get_version()
    if declared is None:
        declared = getattr(implementation, "version", None)
        if declared is not None and not isinstance(declared, str):
            declared = None
    if declared is None:
        declared = getattr(implementation, "__implements_version__", None)
    subject = _display_name(implementation)
    problem: Problem | None
    if declared is None:
        problem = Problem(
            "__implements_version__",
            ProblemKind.VERSION,
            f"a declared interface version, at least {required_version!r}",
            "none (no get_version(), version or __implements_version__)",
            f"declare __implements_version__ = {required_version!r}",
        )
    else:
        problem = _version_problem(declared, required_version)
        if problem is None:
            return str(declared)
    report = ConformanceReport(subject, f"interface version {required_version}", (problem,))
    raise ConformanceError(report.format(), report)


# --------------------------------------------------------------------------------------------
# Public checks


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
    spec = _spec(protocol)
    is_type = isinstance(obj_or_type, type)
    problems: list[Problem] = []
    for name in sorted(spec.members):
        found = _lookup(obj_or_type, is_type, name)
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
        elif isinstance(found, _Data):
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
        version_problem = _version_problem(declared, spec.version)
        if version_problem is not None:
            problems.append(version_problem)
    return ConformanceReport(_display_name(obj_or_type), spec.name, tuple(problems))


def _suggestion(name: str, wanted: _Callable) -> str:
    if wanted.signature is None:
        return ""
    parameters = _without_self(wanted) or []
    text = _format_parameters(parameters)
    prefix = "async def" if wanted.is_async else "def"
    return f": '{prefix} {name}(self{', ' if parameters else ''}{text[1:]}'"


class _Shadowable:
    """A cached verdict for a type whose instances have a ``__dict__`` that may shadow."""

    __slots__ = ("names", "ok")

    def __init__(self, ok: bool, names: frozenset[str]) -> None:
        self.ok = ok
        self.names = names


class _Verdicts(dict[type, "bool | _Shadowable"]):
    """The verdicts for one protocol, by type; holds the protocol so its id stays unique."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: object) -> None:
        super().__init__()
        self.protocol = protocol


# Keyed by id(protocol), not the protocol: typing_extensions' protocol metaclass (and generic
# aliases) define __hash__ in Python, which would cost more than the whole rest of the
# lookup. Each table keeps its protocol alive, so an id cannot be reused while it is here.
_VERDICTS: dict[int, _Verdicts] = {}


def conforms(obj: object, protocol: object) -> bool:
    """Return whether *obj* conforms to *protocol*, as :func:`check` would decide.

    The verdict for ``type(obj)`` is computed on the first call and cached, so later calls
    cost about what ``isinstance`` against an ABC costs, for conforming and non-conforming
    objects alike. An instance whose ``__dict__`` holds a protocol member's name is checked
    on its own, uncached. See the module docstring for what the cache assumes, and
    :func:`clear_cache`. *obj* is an instance; to ask about a class, use
    ``check(cls, protocol).ok``.

    Raises:
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    try:
        verdict = _VERDICTS[id(protocol)][type(obj)]
    except KeyError:
        return _conforms_first(obj, protocol)
    if verdict is True or verdict is False:
        return verdict
    # No isinstance() here: it would cost a tenth of the whole call. Only _Shadowable remains.
    # The emptiness test first: isdisjoint() builds an iterator even over an empty dict.
    instance_dict = obj.__dict__
    if not instance_dict or verdict.names.isdisjoint(instance_dict):
        return verdict.ok
    return check(obj, protocol).ok


def _conforms_first(obj: object, protocol: object) -> bool:
    spec = _spec(protocol)
    cls = type(obj)
    ok = check(cls, protocol).ok
    verdicts = _VERDICTS.get(id(protocol))
    if verdicts is None:
        if len(_VERDICTS) >= _MAX_PROTOCOLS:
            _VERDICTS.clear()
        verdicts = _VERDICTS[id(protocol)] = _Verdicts(protocol)
    elif len(verdicts) >= _MAX_TYPES_PER_PROTOCOL:
        verdicts.clear()
    if _has_instance_dict(cls):
        verdicts[cls] = _Shadowable(ok, spec.members)
        if not spec.members.isdisjoint(object.__getattribute__(obj, "__dict__")):
            return check(obj, protocol).ok
        return ok
    verdicts[cls] = ok
    return ok


def clear_cache() -> None:
    """Forget every cached verdict of :func:`conforms` (call it after changing a class)."""
    _VERDICTS.clear()


def ensure(obj: object, protocol: Callable[..., P]) -> P:
    """Return *obj*, typed as *protocol*, if it conforms; raise with the full report if not.

    Raises:
        ConformanceError: *obj* does not conform; ``error.report`` lists every problem.
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    if conforms(obj, protocol):
        return typing.cast(P, obj)
    report = check(obj, protocol)
    raise ConformanceError(report.format(), report)


class _Implements(Generic[P_contra]):
    """The decorator :func:`implements` returns; generic so the checkers verify the class."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: object) -> None:
        self._protocol = protocol

    # `self: _Implements[C]` with P_contra contravariant means the checker must find a C with
    # `cls <: C <: protocol`, which exists exactly when the class conforms statically.
    def __call__(self: _Implements[C], cls: type[C], /) -> type[C]:
        report = check(cls, self._protocol)
        if not report.ok:
            raise ConformanceError(report.format(), report)
        return cls


def implements(protocol: Callable[..., P_contra]) -> _Implements[P_contra]:
    """Class decorator: fail at class definition unless the class conforms to *protocol*.

    The class is checked as :func:`check` checks a class. mypy and pyright also check the
    decorated class against *protocol* statically (an incompatible class is an
    ``arg-type`` / ``reportArgumentType`` error on the decorator line). pyright then types
    the decorated name as ``type[protocol]``; mypy keeps the class's own type.

    Raises:
        ConformanceError: (when applied) the class does not conform; ``error.report`` lists
            every problem.
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    _spec(protocol)
    return _Implements(protocol)
