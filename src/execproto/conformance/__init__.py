"""Runtime conformance: stricter than ``isinstance`` at boundaries, and as fast.

``isinstance(obj, IToolExecutor)`` only checks that the member *names* exist: an
``execute_async`` that is a plain function, or that takes the wrong arguments, passes. This
package checks what a caller relies on:

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

The package's parts (this module only re-exports): ``_report`` holds the report types;
``_members`` finds members on an implementation and reads what a protocol asks for;
``_signatures`` decides call compatibility of parameter lists; ``_annotations`` compares
annotations; ``_check`` is :func:`check`, built on those; ``_boundary`` holds :func:`conforms`
with its cache, :func:`ensure` and :func:`implements`; :mod:`~execproto.conformance.versions`
parses semantic versions and holds :func:`check_version`.
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
