"""The cases of ``typecheck/`` as (subject, protocol) pairs that ``check()`` can be given.

Every module of ``typecheck/pass`` and ``typecheck/fail`` is executed statement by statement
(a statement that raises, such as instantiating an abstract class, is recorded and skipped),
then read for the places where a value meets a protocol type, which are where the checkers
give verdicts:

* ``x: P = value`` (also ``list[P]``, ``tuple[P, ...]``, ``dict[K, P]``, ``type[P]`` with a
  display of values), anywhere at module level;
* ``f(value)`` where a parameter of the module-level function ``f`` is annotated with ``P``
  (calls at module level, nested ones too);
* ``return value`` in a module-level function annotated ``-> P``;
* ``class C(P)`` (an explicit subclass: the class against each protocol base) and
  ``@implements(P)``;
* ``Cls()`` of such a class as a statement of its own (instantiation).

A name stands for what a checker knows of it: a parameter for its annotation, a variable
declared ``x: P`` or assigned ``x = f()`` from a function declared ``-> P`` for that type
(so ``check()`` compares two protocol types, the variance cases); other names and
expressions for their runtime value. The static verdict of a site is read from the
``# expect:`` markers in its lines (with ``typecheck/run.py``'s own parser): no marker means
both checkers accept it (``run.py`` fails on any unexpected error).
"""

from __future__ import annotations
import __future__

import ast
import collections.abc
import importlib.util
import inspect
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typing_extensions

from execproto.conformance import implements

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "typecheck"

_NOTHING = object()


@dataclass(frozen=True)
class Pair:
    """What ``check()`` is given for one value meeting one protocol type."""

    subject: object
    protocol: object


@dataclass
class Site:
    """One place where the checkers give a verdict, and what the runtime can check there."""

    path: Path
    first_line: int
    last_line: int
    key: str
    context: str
    pairs: list[Pair] = field(default_factory=list[Pair])
    # Why there is no runtime subject (the expression raised), if so.
    raised: BaseException | None = None

    @property
    def file(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def load_runner() -> Any:
    """``typecheck/run.py`` as a module, for its expectation parser."""
    name = "typecheck_run_for_agreement"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SUITE / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    return module


def case_files(suite: Path = SUITE) -> list[Path]:
    return sorted([*(suite / "pass").glob("*.py"), *(suite / "fail").glob("*.py")])


#: What the comparison reads of each of ``run.py``'s expectations. ``verdicts`` maps each
#: checker to what it says of the line, ``None`` when it accepts.
EXPECTATION_FIELDS = ("path", "line", "kind", "members", "verdicts")


def expectations(suite: Path = SUITE) -> dict[tuple[Path, int], Any]:
    """``run.py``'s expectations: (resolved path, line) -> Expectation.

    Raises:
        AssertionError: ``run.py``'s expectations no longer have the fields read here.
    """
    runner = load_runner()
    found: dict[tuple[Path, int], Any] = runner.collect(suite, runner.Outcome())
    for expectation in found.values():
        missing = [name for name in EXPECTATION_FIELDS if not hasattr(expectation, name)]
        assert not missing, (
            f"typecheck/run.py's Expectation has no {', '.join(missing)}; adapt "
            f"tests/conformance/_typecheck_cases.py and test_static_agreement.py to its format"
        )
    return found


class _Case:
    """One case module, executed statement by statement, and read for its sites."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.flags = 0
        if any(
            isinstance(node, ast.ImportFrom)
            and node.module == "__future__"
            and any(alias.name == "annotations" for alias in node.names)
            for node in self.tree.body
        ):
            self.flags = __future__.annotations.compiler_flag
        name = f"_typecheck_case_{path.parent.name}_{path.stem}_{id(self)}"
        self.module = types.ModuleType(name)
        self.module.__file__ = str(path)
        # get_type_hints() resolves a class's string annotations in sys.modules[__module__].
        sys.modules[name] = self.module
        self.namespace = self.module.__dict__
        self.failed: dict[int, BaseException] = {}
        for statement in self.tree.body:
            code = compile(
                ast.Module([statement], type_ignores=[]),
                str(path),
                "exec",
                flags=self.flags,
                dont_inherit=True,
            )
            try:
                exec(code, self.namespace)
            except Exception as error:
                self.failed[statement.lineno] = error
        self.functions = {
            node.name: node
            for node in self.tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.assigned_calls = {
            node.targets[0].id: node.value
            for node in self.tree.body
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        }

    # -- evaluating --------------------------------------------------------------------------

    def evaluate(self, node: ast.expr, local: dict[str, Any] | None = None) -> Any:
        code = compile(ast.Expression(node), str(self.path), "eval", flags=self.flags)
        return eval(code, self.namespace, local or {})

    def annotation(self, node: ast.expr | None) -> Any:
        if node is None:
            return _NOTHING
        try:
            return self.evaluate(node)
        except Exception:
            return _NOTHING

    def declared(self, name: str, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> Any:
        """What a checker knows a name to be, when that is a protocol type; else _NOTHING."""
        if function is not None:
            for argument in (*function.args.posonlyargs, *function.args.args):
                if argument.arg == name:
                    return self.annotation(argument.annotation)
        raw = self.namespace.get("__annotations__", {}).get(name, _NOTHING)
        if raw is not _NOTHING:
            declared = (
                self.evaluate(ast.parse(raw, mode="eval").body) if isinstance(raw, str) else raw
            )
            if _mentions_protocol(declared):
                return declared
        call = self.assigned_calls.get(name)
        if call is not None and isinstance(call.func, ast.Name) and call.func.id in self.functions:
            result = self.annotation(self.functions[call.func.id].returns)
            if _mentions_protocol(result):
                return result
        return _NOTHING

    def subject(
        self, node: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef | None
    ) -> object:
        """What check() is given for the expression *node*; raises what evaluating raises."""
        if isinstance(node, ast.Name):
            declared = self.declared(node.id, function)
            if declared is not _NOTHING:
                return declared
        return self.evaluate(node)

    # -- sites ---------------------------------------------------------------------------

    def sites(self) -> Iterator[Site]:
        for statement in self.tree.body:
            if isinstance(statement, ast.AnnAssign) and statement.value is not None:
                site = self._site(
                    statement, "assignment", statement.value, statement.annotation, None
                )
                if site.pairs or site.raised is not None:
                    yield site
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from self._returns(statement)
            elif isinstance(statement, ast.ClassDef):
                yield from self._class(statement)
            if isinstance(statement, (ast.Assign, ast.Expr)) and isinstance(
                statement.value, ast.Call
            ):
                instantiation = self._instantiation(statement, statement.value)
                if instantiation is not None:
                    yield instantiation
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from self._calls(statement)

    def _site(
        self,
        statement: ast.stmt,
        context: str,
        value: ast.expr,
        annotation_node: ast.expr,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        annotation: Any = _NOTHING,
        key: str | None = None,
    ) -> Site:
        site = Site(
            self.path,
            statement.lineno,
            statement.end_lineno or statement.lineno,
            key or ast.unparse(statement),
            context,
        )
        if annotation is _NOTHING:
            annotation = self.annotation(annotation_node)
        try:
            site.pairs = list(self._pairs(value, annotation, function))
        except Exception as error:
            site.raised = error
        return site

    def _pairs(
        self,
        value: ast.expr,
        annotation: Any,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
    ) -> Iterator[Pair]:
        if annotation is _NOTHING:
            return
        if _is_protocol(annotation):
            yield Pair(self.subject(value, function), annotation)
            return
        origin = typing.get_origin(annotation)
        arguments = typing.get_args(annotation)
        if origin is type and arguments and _is_protocol(arguments[0]):
            yield Pair(self.subject(value, function), arguments[0])
        elif origin is tuple and isinstance(value, ast.Tuple):
            if len(arguments) == 2 and arguments[1] is Ellipsis:
                arguments = (arguments[0],) * len(value.elts)
            for element, argument in zip(value.elts, arguments, strict=False):
                yield from self._pairs(element, argument, function)
        elif origin in _ELEMENT_CONTAINERS and isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            for element in value.elts:
                yield from self._pairs(element, arguments[0], function)
        elif origin in _MAPPING_CONTAINERS and isinstance(value, ast.Dict):
            for element in value.values:
                yield from self._pairs(element, arguments[1], function)

    def _returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Site]:
        annotation = self.annotation(function.returns)
        if not _mentions_protocol(annotation):
            return
        for node in _own_nodes(function):
            if isinstance(node, ast.Return) and node.value is not None:
                key = f"def {function.name}: {ast.unparse(node)}"
                yield self._site(
                    node, "return", node.value, function.returns, function, annotation, key
                )  # type: ignore[arg-type]

    def _class(self, node: ast.ClassDef) -> Iterator[Site]:
        cls = self.namespace.get(node.name)
        bases = [self.annotation(base) for base in node.bases]
        protocols = [base for base in bases if _is_protocol(base)]
        header = f"class {node.name}({', '.join(ast.unparse(b) for b in node.bases)})"
        is_protocol = isinstance(cls, type) and typing_extensions.is_protocol(cls)
        if protocols and not is_protocol:
            site = Site(
                self.path, node.lineno, node.end_lineno or node.lineno, header, "definition"
            )
            if isinstance(cls, type):
                site.pairs = [Pair(cls, protocol) for protocol in protocols]
            else:
                site.raised = self.failed.get(node.lineno, NameError(node.name))
            yield site
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and self.annotation(decorator.func) is implements
                and decorator.args
            ):
                site = Site(
                    self.path, decorator.lineno, decorator.end_lineno or decorator.lineno,
                    f"@{ast.unparse(decorator)} {header}", "decorator",
                )  # fmt: skip
                protocol = self.annotation(decorator.args[0])
                if isinstance(cls, type):
                    site.pairs = [Pair(cls, protocol)]
                else:
                    site.raised = self.failed.get(node.lineno, NameError(node.name))
                yield site

    def _instantiation(self, statement: ast.stmt, call: ast.Call) -> Site | None:
        if not isinstance(call.func, ast.Name):
            return None  # evaluating anything else could run code
        cls = self.annotation(call.func)
        if not isinstance(cls, type) or typing_extensions.is_protocol(cls):
            return None
        protocols = [
            base for base in getattr(cls, "__orig_bases__", cls.__bases__) if _is_protocol(base)
        ]
        if not protocols:
            return None
        site = Site(
            self.path,
            statement.lineno,
            statement.end_lineno or statement.lineno,
            ast.unparse(statement),
            "instantiation",
        )
        try:
            instance = self.evaluate(call)
        except Exception as error:
            site.raised = error
            return site
        site.pairs = [Pair(instance, protocol) for protocol in protocols]
        return site

    def _calls(self, statement: ast.stmt) -> Iterator[Site]:
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            function = self.namespace.get(node.func.id)
            if not isinstance(function, types.FunctionType) or node.func.id not in self.functions:
                continue
            try:
                hints = typing_extensions.get_type_hints(function)
                signature = inspect.signature(function)
                bound = signature.bind(
                    *range(len(node.args)), **{k.arg: k for k in node.keywords if k.arg}
                )
            except Exception:
                continue
            for name, placeholder in bound.arguments.items():
                annotation = hints.get(name, _NOTHING)
                if not _mentions_protocol(annotation):
                    continue
                argument = (
                    node.args[placeholder] if isinstance(placeholder, int) else placeholder.value
                )
                key = f"{ast.unparse(node)} -> {name}"
                yield self._site(statement, "argument", argument, node, None, annotation, key)


_ELEMENT_CONTAINERS = {
    list,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    collections.abc.Set,
}
_MAPPING_CONTAINERS = {dict, collections.abc.Mapping}


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of *function*'s body, not those of functions or classes nested in it."""
    for child in ast.iter_child_nodes(function):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        yield from _own_nodes(child)


def _is_protocol(annotation: object) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and typing_extensions.is_protocol(origin)


def _mentions_protocol(annotation: object) -> bool:
    if annotation is _NOTHING:
        return False
    if _is_protocol(annotation):
        return True
    return any(_mentions_protocol(argument) for argument in typing.get_args(annotation))


def sites(suite: Path = SUITE) -> list[Site]:
    """Every site of every case module of the suite."""
    found: list[Site] = []
    examples = str(REPO / "examples")
    added = examples not in sys.path
    if added:
        sys.path.insert(0, examples)  # vendor_executors, the untyped package the stubs describe
    try:
        for path in case_files(suite):
            found.extend(_Case(path).sites())
    finally:
        if added:
            sys.path.remove(examples)
    return found
