"""Runtime conformance: stricter than ``isinstance`` at boundaries, and as fast.

``isinstance(obj, IToolExecutor)`` only checks that the member *names* exist: an
``execute_async`` that is a plain function, or that takes the wrong arguments, passes. This
package checks what a caller relies on, and gives the typing spec's verdict: what mypy and
pyright give where they agree.

* :func:`check` returns a :class:`ConformanceReport` listing *every* problem and warning at
  once (the rules below). Problems decide the verdict; warnings do not, unless
  ``strict=True`` makes them problems. Subscripted generic protocols
  (``ITypedToolExecutor[Calc, int]``) are accepted; their type arguments are substituted in
  the protocol's annotations.
* :func:`conforms` is the boundary check: a ``bool``, cached per (type, protocol), the
  verdict :func:`check` gives without ``strict``.
* :func:`ensure` returns the object or raises :class:`~execproto.errors.ConformanceError`
  carrying the report; :func:`implements` does the same for a class at definition time and
  lets mypy and pyright verify the class statically too.
* :func:`check_version` compares an implementation's declared version with a required one.

Rules
-----

Each row is one rule of :func:`check`: what it finds (the :class:`ProblemKind` of the
finding; *warning* marks the ones that only warn), and what the checkers say of it. "Both"
means mypy 2.4.1 and pyright 1.1.414 agree, which is the verdict :func:`check` follows; the
rows marked *beyond the spec* and *divergent* are where it knows more than the checkers, or
where they disagree, and say which way it goes and why.

==  ===========================================================  =========================
#   Rule                                                         Finding; the checkers
==  ===========================================================  =========================
1   A protocol member the subject lacks.                         ``missing``; both.
2   A data attribute or property where a method is required.     ``not_callable``; pyright.
                                                                 *Divergent*: mypy accepts
                                                                 a property returning a
                                                                 callable; properties are
                                                                 never evaluated here.
3   A synchronous callable (or an async generator) where the     ``not_async``; both when
    protocol's member is async; an ``async def`` where it is     the result is typed;
    synchronous.                                                 ``unexpected_async``.
                                                                 *Beyond the spec* where
                                                                 the result is ``Any``,
                                                                 which a coroutine fits.
4   Async-ness that cannot be read without calling (a plain      ``cannot_verify``
    wrapper of a coroutine function; a ``Callable[..., Any]``    (warning).
    attribute without a value).
5   Fewer positional parameters than the protocol passes (no     ``signature``; both.
    ``*args``); a keyword-only parameter not taken by keyword
    (no ``**kwargs``); the protocol's ``*args`` or ``**kwargs``
    missing; a protocol default without a default here; an
    extra parameter without a default.
6   The names of the protocol's positional-only parameters.      Free; both.
7   A positional-or-keyword protocol parameter taken under       ``signature``; pyright and
    another name, only positionally, or only through             the spec. *Divergent*:
    ``*args``; a ``Callable[...]`` attribute for it (its         mypy ignores these names;
    parameters are positional-only).                             a caller passing the name
                                                                 by keyword fails.
8   A positional-or-keyword parameter where the protocol's is    ``keyword_collision``
    positional-only before ``**params`` (the seed's own          (warning); pyright and
    ``def execute(self, tool, operation_name, **params)``).      ``isinstance`` accept.
                                                                 *Divergent*: mypy rejects,
                                                                 because a key of
                                                                 ``**params`` named like it
                                                                 fails the call.
9   Parameter annotations that do not accept what the protocol   ``annotation``; both.
    passes (contravariant); a result that does not fit what it
    promises (covariant). An ``async def``'s result is read as
    ``Coroutine[Any, Any, R]``, as the checkers read it.
10  Type arguments by the variance of their parameters:          ``annotation``; both.
    ``list``, ``dict``, ``set`` invariant; ``Sequence``,
    ``Mapping`` values, ``tuple``, ``frozenset`` covariant;
    ``Callable`` parameters contravariant. A source's arguments
    are mapped onto the target's class (``list[int]`` is an
    ``Iterable[int]``); a protocol target is checked
    structurally, by this same check.
11  Type variables: bound by the protocol's arguments, by a      ``annotation``; both.
    subscripted implementation class (``Executor[Calc]``, an     Unbound class parameters
    instance's ``__orig_class__``) and by each class's           read as ``Any``, as the
    ``__orig_bases__``, for the class that defines the member.   checkers infer them.
12  What the runtime cannot compare: a generic method's type     ``cannot_verify``
    variable, a ``TypedDict``, a ``ParamSpec``, a class it       (warning); never a
    cannot map onto the target's parameters. Annotations that    rejection.
    cannot be resolved at all count as absent.
13  An attribute annotated ``Callable[...]`` (also a dataclass   As rules 3-12, on the
    or ``NamedTuple`` field): its declaration is compared, as    declaration; its value,
    the checkers compare it; async-ness comes from the           when there is one, tells
    declared result or the value.                                the async-ness.
14  ``@overload``: one overload that accepts every call of the   As rules 5-12; both.
    protocol suffices (read with ``get_overloads``; on 3.10
    only ``typing_extensions.overload`` registers them).
15  ``functools.partial``: the signature Python binds, also      As rules 5-12. The
    when it binds by keyword a name its function takes only by   checkers type a partial
    position (the keyword goes to ``**kwargs``).                 loosely (typeshed's
                                                                 ``__call__(*args,
                                                                 **kwargs)``).
16  A callable whose signature cannot be read (builtins, C       ``cannot_verify``
    extension callables).                                        (warning).
17  A member not found on a class with ``__getattr__``, a        ``cannot_verify``
    ``__getattribute__`` of its own, or a weak reference proxy.  (warning). *Divergent*:
                                                                 mypy accepts a
                                                                 ``__getattr__`` returning
                                                                 ``Any``, pyright does not.
18  An ``__implements_version__`` below the protocol's           ``version``.
    ``__protocol_version__``, of another major version, or
    malformed.
19  A data member declared on both sides (an annotation, a       ``annotation``; both.
    property's result): a type that fits a read-only protocol
    member (a property), the same type for one callers may
    set, which a property without a setter, a frozen
    dataclass's or a NamedTuple's field is not.
==  ===========================================================  =========================

What the runtime cannot see at all is not guessed: an annotation written on ``self.x`` in
``__init__`` is not kept by Python, so such an attribute is checked by its value.
``tests/conformance/test_static_agreement.py`` runs every case of ``typecheck/`` through
:func:`check` and lists each difference from the recorded static verdict with its reason.

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
the cache, every time; an instance of a subscripted generic class is cached by its type
arguments. At most 4096 types are remembered per protocol (and 256 protocols); beyond
that the entries are dropped and recomputed on demand, because the cache holds strong
references and classes created in a loop would otherwise be kept alive forever.

The package's parts (this module only re-exports): ``_report`` holds the report types;
``_members`` finds members on an implementation and reads what a protocol asks for;
``_bindings`` binds type variables per class; ``_signatures`` decides call compatibility of
parameter lists; ``_types`` decides assignability of annotations; ``_annotations`` turns that
into findings; ``_check`` is :func:`check`, built on those; ``_boundary`` holds
:func:`conforms` with its cache, :func:`ensure` and :func:`implements`;
:mod:`~execproto.conformance.versions` parses semantic versions and holds
:func:`check_version`.
"""

from __future__ import annotations

from execproto.conformance._boundary import clear_cache, conforms, ensure, implements
from execproto.conformance._check import check
from execproto.conformance._report import ConformanceReport, Problem, ProblemKind
from execproto.conformance.versions import check_version

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
