"""Call compatibility: whether an implementation's parameters accept every call a protocol's do.

Compared by the calls each parameter list accepts, not by equality: the names of
positional-only protocol parameters are free, an extra parameter with a default is fine, and
``*args`` / ``**kwargs`` may take what the protocol passes. :func:`signature_problems` runs
the stages in order (positional parameters, keyword-only ones, ``*args`` / ``**kwargs``,
extra required ones) and also returns which parameter receives which, for the annotation
comparison.

One finding is a warning, not a problem: a positional-or-keyword parameter of the
implementation where the protocol's is positional-only before ``**params``. The typing spec
leaves it open (pyright accepts it, mypy rejects it), but a key of ``**params`` named like the
parameter makes the call fail ("got multiple values for argument").
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from execproto.conformance._report import Problem, ProblemKind

__all__ = ["Matching", "format_parameters", "signature_problems", "without_self"]

_EMPTY = inspect.Parameter.empty
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD
_POSITIONAL = (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (_POSITIONAL_OR_KEYWORD, _KEYWORD_ONLY)


def without_self(signature: inspect.Signature, drops_self: bool) -> list[inspect.Parameter] | None:
    """The parameters a caller supplies; ``None`` when the method cannot even take self."""
    parameters = list(signature.parameters.values())
    if not drops_self:
        return parameters
    if parameters and parameters[0].kind in _POSITIONAL:
        return parameters[1:]
    if parameters and parameters[0].kind is _VAR_POSITIONAL:
        return parameters
    return None


def shown(name: str) -> str:
    """How a report names a parameter; those read from ``Callable[...]`` have no names."""
    if name.startswith("p") and name[1:].isdigit():
        return f"parameter {int(name[1:]) + 1}"
    return repr(name)


def format_parameters(parameters: list[inspect.Parameter]) -> str:
    """*parameters* as a signature without annotations: ``(tool, operation_name, /, **params)``."""
    bare = [p.replace(annotation=_EMPTY) for p in parameters]
    try:
        return str(inspect.Signature(bare))
    except ValueError:  # pragma: no cover - parameters come from a valid signature
        return "(" + ", ".join(str(p) for p in bare) + ")"


@dataclass
class Matching:
    """What one comparison of parameter lists found.

    ``pairs`` are (protocol parameter name, implementation parameter name), for comparing
    annotations.
    """

    problems: list[Problem]
    warnings: list[Problem]
    pairs: list[tuple[str, str]]


def signature_problems(
    name: str,
    wanted: list[inspect.Parameter],
    have: list[inspect.Parameter],
    found_text: str | None = None,
) -> Matching:
    """Problems with *have* accepting every call *wanted* accepts; warnings; matched pairs.

    *found_text* replaces the implementation's signature in messages (for a member whose
    signature comes from a ``Callable[...]`` annotation).
    """
    comparison = _Comparison(name, wanted, have, found_text)
    comparison.positional()
    comparison.keyword_only()
    comparison.variadic()
    comparison.extras()
    return Matching(comparison.problems, comparison.warnings, comparison.pairs)


class _Comparison:
    """One comparison of two parameter lists, and what its stages have found so far.

    The implementation's parameters are sorted by kind once; each stage appends to
    ``problems`` and ``pairs`` and records in ``matched`` the parameters it filled.
    """

    def __init__(
        self,
        name: str,
        wanted: list[inspect.Parameter],
        have: list[inspect.Parameter],
        found_text: str | None,
    ) -> None:
        self.name = name
        self.wanted = wanted
        self.have = have
        self.expected_text = format_parameters(wanted)
        self.found_text = found_text or f"signature {format_parameters(have)}"
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.pairs: list[tuple[str, str]] = []
        self.matched: set[str] = set()
        self.wanted_positional = [p for p in wanted if p.kind in _POSITIONAL]
        self.have_positional = [p for p in have if p.kind in _POSITIONAL]
        self.have_by_keyword = {p.name: p for p in have if p.kind in _BY_KEYWORD}
        self.var_positional = next((p for p in have if p.kind is _VAR_POSITIONAL), None)
        self.var_keyword = next((p for p in have if p.kind is _VAR_KEYWORD), None)

    def problem(self, expected: str, found: str, fix: str) -> None:
        self.problems.append(
            Problem(
                self.name,
                ProblemKind.SIGNATURE,
                f"{expected} (protocol signature {self.expected_text})",
                f"{found} ({self.found_text})",
                fix,
            )
        )

    def positional(self) -> None:
        """Each protocol positional parameter against the implementation's at its index."""
        wanted, have_positional = self.wanted, self.have_positional
        var_positional, var_keyword = self.var_positional, self.var_keyword
        have_by_keyword = self.have_by_keyword
        capturable: list[str] = []
        for index, want in enumerate(self.wanted_positional):
            if index >= len(have_positional):
                if var_positional is None:
                    self.problem(
                        f"at least {len(self.wanted_positional)} positional parameters",
                        f"{len(have_positional)}",
                        f"add a positional parameter for {want.name!r} (or *args)",
                    )
                    break
                if want.kind is _POSITIONAL_OR_KEYWORD and (
                    var_keyword is None or want.name in have_by_keyword
                ):
                    # Passed positionally it lands in *args; by keyword it must land in
                    # **kwargs too, not in a separate parameter of that name (or nowhere).
                    self.problem(
                        f"parameter {want.name!r} accepted by position and by keyword alike",
                        "*args only"
                        if want.name not in have_by_keyword
                        else f"*args, and a separate keyword parameter {want.name!r}",
                        f"declare {want.name!r} as positional parameter {index + 1}",
                    )
                self.pairs.append((want.name, var_positional.name))
                continue
            got = have_positional[index]
            self.matched.add(got.name)
            self.pairs.append((want.name, got.name))
            if want.kind is _POSITIONAL_OR_KEYWORD:
                if got.kind is _POSITIONAL_ONLY:
                    declared = shown(got.name) != repr(got.name)
                    self.problem(
                        f"parameter {want.name!r} accepted by keyword too",
                        f"{shown(got.name)} positional-only"
                        + (" (Callable[...] parameters are)" if declared else ""),
                        f"declare {self.name!r} as a method, or annotate it with a callback "
                        f"protocol whose __call__ takes {want.name!r} by keyword"
                        if declared
                        else f"remove the '/' after {got.name!r} (make it positional-or-keyword)",
                    )
                elif got.name != want.name:
                    self.problem(
                        f"parameter {index + 1} named {want.name!r} "
                        f"(callers may pass it by keyword)",
                        f"{got.name!r}",
                        f"rename {got.name!r} to {want.name!r}",
                    )
            elif (
                got.kind is _POSITIONAL_OR_KEYWORD
                and any(p.kind is _VAR_KEYWORD for p in wanted)
                and got.name not in {p.name for p in wanted if p.kind in _BY_KEYWORD}
            ):
                # The caller may pass an operation parameter called like this one in
                # **params: "got multiple values for argument".
                capturable.append(got.name)
            if want.default is not _EMPTY and got.default is _EMPTY:
                self.problem(
                    f"parameter {want.name!r} optional",
                    f"{got.name!r} required",
                    f"give {got.name!r} a default value",
                )
        if capturable:
            names = ", ".join(repr(name) for name in capturable)
            var_keyword_name = _var_keyword_name(wanted)
            self.warnings.append(
                Problem(
                    self.name,
                    ProblemKind.KEYWORD_COLLISION,
                    f"positional-only parameters where the protocol's are, since "
                    f"**{var_keyword_name} may contain any key "
                    f"(protocol signature {self.expected_text})",
                    f"{names} can also be passed by keyword, so a key of "
                    f"**{var_keyword_name} named {capturable[0]!r} fails with 'got multiple "
                    f"values' ({self.found_text})",
                    f"add '/' after {capturable[-1]!r} to make {names} positional-only",
                )
            )

    def keyword_only(self) -> None:
        """Each protocol keyword-only parameter against the implementation's of that name."""
        positionally_filled = {p.name for p in self.have_positional[: len(self.wanted_positional)]}
        for want in (p for p in self.wanted if p.kind is _KEYWORD_ONLY):
            got = self.have_by_keyword.get(want.name)
            if got is None:
                if self.var_keyword is None:
                    self.problem(
                        f"keyword parameter {want.name!r}",
                        "no parameter of that name and no **kwargs",
                        f"add a keyword-only parameter {want.name!r}",
                    )
                else:
                    self.pairs.append((want.name, self.var_keyword.name))
                continue
            self.matched.add(got.name)
            if got.name in positionally_filled:
                self.problem(
                    f"keyword parameter {want.name!r} separate from the positional ones",
                    f"{got.name!r} already receives a positional argument",
                    f"rename positional parameter {got.name!r} or make it positional-only",
                )
                continue
            self.pairs.append((want.name, got.name))
            if want.default is not _EMPTY and got.default is _EMPTY:
                self.problem(
                    f"keyword parameter {want.name!r} optional",
                    f"{got.name!r} required",
                    f"give {got.name!r} a default value",
                )

    def variadic(self) -> None:
        """The protocol's ``*args`` and ``**kwargs``, which need the implementation's."""
        wanted_var_positional = next((p for p in self.wanted if p.kind is _VAR_POSITIONAL), None)
        if wanted_var_positional is not None:
            if self.var_positional is None:
                self.problem(
                    f"*{wanted_var_positional.name}",
                    "no *args",
                    f"add *{wanted_var_positional.name}",
                )
            else:
                self.pairs.append((wanted_var_positional.name, self.var_positional.name))
        wanted_var_keyword = next((p for p in self.wanted if p.kind is _VAR_KEYWORD), None)
        if wanted_var_keyword is not None:
            if self.var_keyword is None:
                self.problem(
                    f"**{wanted_var_keyword.name}",
                    "no **kwargs",
                    f"add **{wanted_var_keyword.name}",
                )
            else:
                self.pairs.append((wanted_var_keyword.name, self.var_keyword.name))

    def extras(self) -> None:
        """Implementation parameters no protocol call fills: each needs a default."""
        for extra in self.have:
            if extra.kind in (_VAR_POSITIONAL, _VAR_KEYWORD) or extra.name in self.matched:
                continue
            if extra.default is _EMPTY:
                self.problem(
                    "no further required parameter",
                    f"required parameter {extra.name!r}",
                    f"give {extra.name!r} a default value or remove it",
                )


def _var_keyword_name(parameters: list[inspect.Parameter]) -> str:
    return next(p.name for p in parameters if p.kind is _VAR_KEYWORD)
