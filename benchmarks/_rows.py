"""The rows of the DESIGN performance table, each an execproto subject against its anchor.

Every execproto subject is imported lazily and checked once (it must run and give the right
answer) before it is timed; a subject that is missing or wrong is listed as not available
with the reason, and the rest of the row is still measured.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any

import zope.interface  # type: ignore[import-untyped]
from typeguard import TypeCheckError, check_type
from zope.interface.verify import verifyObject  # type: ignore[import-untyped]

from benchmarks._anchors import (
    AbcToolExecutor,
    AbcToolExecutorImpl,
    Calculator,
    LockedTTLCache,
    NonConformingExecutor,
    SeedCacheProvider,
    SeedOperationExecutor,
    SeedToolExecutor,
    SeedToolProvider,
    ThirdPartyExecutor,
    TypingToolExecutor,
    ZopeToolExecutor,
    gather_limited,
    raw_gather,
)
from benchmarks._harness import (
    RowResult,
    Subject,
    SubjectKind,
    async_call_timer,
    async_workload_timer,
    call_timer,
    measure,
    peak_bytes,
)
from benchmarks._profiles import Profile

__all__ = [
    "CACHED_VALUE",
    "CACHE_KWARGS",
    "OptionalSubjects",
    "attach_peaks",
    "event_loop",
    "execproto_attr",
    "execproto_stack",
    "optional_stack",
    "parallel_row",
    "row_cache_hit",
    "row_cache_hit_immutable",
    "row_cache_key",
    "row_conforms_conforming",
    "row_conforms_non_conforming",
    "row_dispatch",
    "row_parallel",
    "row_sync_off_loop",
    "row_sync_off_loop_burst",
]

#: The keyword arguments of the call whose cache key is measured: a typical tool call, with
#: a nested mapping and a list, as JSON-like as the seed's ``json.dumps`` requires.
CACHE_KWARGS: dict[str, Any] = {
    "query": "weather in Paris",
    "limit": 10,
    "filters": {"lang": "en", "units": "metric"},
    "tags": ["forecast", "daily"],
}
#: A tool result as cached: a small JSON-like mapping (mutable, so a cache that protects
#: readers from each other's mutations has to copy or freeze it).
CACHED_VALUE: dict[str, Any] = {"temperature": 21.5, "conditions": "sunny", "hours": [9, 12, 15]}


def execproto_attr(module: str, name: str) -> Any:
    """Return ``execproto.<module>.<name>``, imported now (the module may not exist yet).

    Raises:
        ImportError: the module or the name does not exist.
    """
    found = importlib.import_module(f"execproto.{module}")
    try:
        return getattr(found, name)
    except AttributeError as err:
        raise ImportError(f"execproto.{module} has no {name!r} yet") from err


class OptionalSubjects:
    """Collects the execproto subjects of a row, recording those that cannot be built."""

    def __init__(self, row: RowResult) -> None:
        self._row = row
        self.subjects: list[Subject] = []

    def add(
        self, name: str, build: Callable[[], Subject], check: Callable[[], object] | None = None
    ) -> None:
        """Build a subject and run it once; on any failure record why it is not available.

        *check*, when given, is called after the trial run and must return a true value
        (or raise) for the subject to be timed: a benchmark of a wrong answer is worthless.
        """
        try:
            subject = build()
            subject.run(1)
            if check is not None and not check():
                raise AssertionError("the subject gave a wrong result; not timed")
        except Exception as err:
            self._row.unavailable[name] = f"{type(err).__name__}: {err}"
            return
        self.subjects.append(subject)


@contextmanager
def event_loop() -> Generator[asyncio.AbstractEventLoop, None, None]:
    """Yield a fresh event loop, shutting down its default executor and closing it after."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


@contextmanager
def execproto_stack(limit: int) -> Generator[tuple[Any, Any], None, None]:
    """Yield ``(tool_executor, operation_executor)``: execproto's registry, executor and
    operation executor wired together with a ``Calculator`` as ``calc``, no cache.

    Raises:
        ImportError: one of the modules has not landed yet.
    """
    registry_cls = execproto_attr("runtime.registry", "ToolRegistry")
    executor_cls = execproto_attr("runtime.executor", "ToolExecutor")
    operations_cls = execproto_attr("runtime.operations", "OperationExecutor")
    registry = registry_cls()
    registry.register("calc", Calculator())
    executor = executor_cls()
    try:
        yield executor, operations_cls(registry, executor, max_concurrency=limit)
    finally:
        executor.close()


def attach_peaks(row: RowResult, subjects: list[Subject]) -> None:
    """Measure the peak memory of one round of each subject and store it in the row."""
    by_name = {m.name: m for m in row.measurements}
    for subject in subjects:
        by_name[subject.name].peak_bytes = peak_bytes(subject.run)


def _seed_operations() -> SeedOperationExecutor:
    provider = SeedToolProvider()
    provider.register_tool("calc", Calculator())
    return SeedOperationExecutor(SeedToolExecutor(), provider)


def _zope_conforms(obj: object) -> bool:
    try:
        return bool(verifyObject(ZopeToolExecutor, obj, tentative=True))
    except zope.interface.Invalid:
        return False


def _typeguard_conforms(obj: object, protocol: Any) -> bool:
    try:
        check_type(obj, protocol)
    except TypeCheckError:
        return False
    return True


def _conforms_row(profile: Profile, *, conforming: bool) -> RowResult:
    from execproto.protocols import IToolExecutor

    kind = "conforming" if conforming else "non-conforming"
    row = RowResult(
        name=f"conforms-{kind}",
        title=f"conforms() on a {kind} object",
        anchor="ABC isinstance",
        target=1.0,
        note=(
            "non-conforming = a class with execute but no execute_async; the ABC anchor is a "
            "class that does not inherit from the ABC (negative subclass cache)"
            if not conforming
            else "conforming = a third-party class without inheritance; the ABC anchor is its "
            "twin declared as a subclass of an ABC (positive subclass cache)"
        ),
    )
    obj: object = ThirdPartyExecutor() if conforming else NonConformingExecutor()
    abc_obj: object = AbcToolExecutorImpl() if conforming else NonConformingExecutor()
    expected = conforming
    anchors = [
        Subject("ABC isinstance", "anchor", call_timer(isinstance, abc_obj, AbcToolExecutor)),
        Subject(
            "typing.Protocol isinstance",
            "reference",
            call_timer(isinstance, obj, TypingToolExecutor),
        ),
        Subject(
            "typing_extensions isinstance (IToolExecutor)",
            "reference",
            call_timer(isinstance, obj, IToolExecutor),
        ),
        Subject("zope.interface verifyObject", "reference", call_timer(_zope_conforms, obj)),
        Subject(
            "typeguard check_type", "reference", call_timer(_typeguard_conforms, obj, IToolExecutor)
        ),
    ]
    results = [
        isinstance(abc_obj, AbcToolExecutor),
        isinstance(obj, TypingToolExecutor),
        isinstance(obj, IToolExecutor),
        _zope_conforms(obj),
        _typeguard_conforms(obj, IToolExecutor),
    ]
    assert [expected] * len(results) == results, f"an anchor gave a wrong verdict: {results!r}"
    optional = OptionalSubjects(row)

    def build() -> Subject:
        conforms = execproto_attr("conformance", "conforms")
        return Subject("execproto conforms()", "subject", call_timer(conforms, obj, IToolExecutor))

    def check() -> bool:
        return bool(expected == execproto_attr("conformance", "conforms")(obj, IToolExecutor))

    optional.add("execproto conforms()", build, check)
    row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return row


def row_conforms_conforming(profile: Profile) -> list[RowResult]:
    """``conforms()`` on a conforming object against ABC and Protocol ``isinstance``."""
    return [_conforms_row(profile, conforming=True)]


def row_conforms_non_conforming(profile: Profile) -> list[RowResult]:
    """``conforms()`` on a non-conforming object against ABC and Protocol ``isinstance``."""
    return [_conforms_row(profile, conforming=False)]


def row_dispatch(profile: Profile) -> list[RowResult]:
    """``execute_operation`` of an async op, no cache, against a direct ``await tool.op(**p)``."""
    row = RowResult(
        name="dispatch",
        title="execute_operation overhead, async op, no cache",
        anchor="direct await tool.add(**p)",
        target=3.0,
        note="op: async def add(a, b): return a + b (never suspends)",
    )
    tool = Calculator()
    params = {"a": 1, "b": 2}
    with event_loop() as loop:
        seed = _seed_operations()
        anchors = [
            Subject(
                "direct await tool.add(**p)", "anchor", async_call_timer(loop, tool.add, **params)
            ),
            Subject(
                "seed-style execute_operation",
                "reference",
                async_call_timer(loop, seed.execute_operation, "calc.add", params),
            ),
        ]
        optional = OptionalSubjects(row)
        with optional_stack(row, profile.limit) as stack:
            if stack is not None:
                executor, operations = stack
                optional.add(
                    "execproto OperationExecutor.execute_operation",
                    lambda: Subject(
                        "execproto OperationExecutor.execute_operation",
                        "subject",
                        async_call_timer(loop, operations.execute_operation, "calc.add", params),
                    ),
                    lambda: (
                        3
                        == loop.run_until_complete(operations.execute_operation("calc.add", params))
                    ),
                )
                optional.add(
                    "execproto ToolExecutor.execute_async",
                    lambda: Subject(
                        "execproto ToolExecutor.execute_async",
                        "subject",
                        async_call_timer(loop, executor.execute_async, tool, "add", **params),
                    ),
                )
            row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return [row]


@contextmanager
def optional_stack(row: RowResult, limit: int) -> Generator[tuple[Any, Any] | None, None, None]:
    """Yield the execproto stack, or ``None`` (recorded in the row) if it cannot be built."""
    try:
        stack = execproto_stack(limit)
        built = stack.__enter__()
    except Exception as err:
        row.unavailable["execproto registry/executor/operations"] = f"{type(err).__name__}: {err}"
        yield None
        return
    try:
        yield built
    finally:
        stack.__exit__(None, None, None)


def row_cache_key(profile: Profile) -> list[RowResult]:
    """Cache key generation against the seed's ``md5(json.dumps(...))``."""
    row = RowResult(
        name="cache-key",
        title="cache key generation",
        anchor="seed md5(json.dumps(sort_keys=True))",
        target=0.5,
        note=f"call: ('search.query', 'user-1', 'task-1', (), {CACHE_KWARGS!r})",
    )
    call = ("search.query", "user-1", "task-1", (), CACHE_KWARGS)
    seed = SeedCacheProvider()
    anchors = [
        Subject("seed generate_cache_key", "anchor", call_timer(seed.generate_cache_key, *call))
    ]
    optional = OptionalSubjects(row)

    def key_function() -> Subject:
        return Subject(
            "execproto make_cache_key",
            "subject",
            call_timer(execproto_attr("runtime.keys", "make_cache_key"), *call),
        )

    def provider_method() -> Subject:
        provider = execproto_attr("runtime.cache", "MemoryCacheProvider")()
        return Subject(
            "execproto MemoryCacheProvider.generate_cache_key",
            "subject",
            call_timer(provider.generate_cache_key, *call),
        )

    optional.add("execproto make_cache_key", key_function)
    optional.add("execproto MemoryCacheProvider.generate_cache_key", provider_method)
    row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return [row]


def _cache_hit_row(profile: Profile, name: str, title: str, value: Any) -> RowResult:
    row = RowResult(
        name=name,
        title=title,
        anchor="cachetools.TTLCache + threading.Lock",
        target=1.0,
        note=f"{profile.cache_entries} entries, one hot key, value {value!r}",
    )
    keys = [
        SeedCacheProvider().generate_cache_key("calc.add", "u", "t", (i,), {})
        for i in range(profile.cache_entries)
    ]
    hot = keys[len(keys) // 2]
    locked = LockedTTLCache(maxsize=profile.cache_entries, ttl=300.0)
    seed = SeedCacheProvider(cache_size=profile.cache_entries)
    for key in keys:
        locked.set(key, value)
        seed.add_to_cache(key, value)
    anchors = [
        Subject("TTLCache + Lock get", "anchor", call_timer(locked.get, hot)),
        Subject(
            "seed dict cache get_from_cache (no lock, no TTL)",
            "reference",
            call_timer(seed.get_from_cache, hot),
        ),
    ]
    optional = OptionalSubjects(row)
    holder: list[Any] = []

    def build(name: str, *, copy_values: bool = True) -> Subject:
        provider = execproto_attr("runtime.cache", "MemoryCacheProvider")(
            maxsize=profile.cache_entries, ttl=300.0, copy_values=copy_values
        )
        for key in keys:
            provider.add_to_cache(key, value)
        holder.append(provider)
        # Without copies the figure is the cache's structure alone: shown for context, not
        # judged, since the default (copies) is what users get.
        kind: SubjectKind = "subject" if copy_values else "reference"
        return Subject(name, kind, call_timer(provider.get_from_cache, hot))

    default = "execproto MemoryCacheProvider.get_from_cache"
    optional.add(default, lambda: build(default), lambda: value == holder[-1].get_from_cache(hot))
    uncopied = "execproto get_from_cache, copy_values=False"
    optional.add(uncopied, lambda: build(uncopied, copy_values=False))
    row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return row


def row_cache_hit(profile: Profile) -> list[RowResult]:
    """A cache hit (mutable dict value) against ``cachetools.TTLCache`` behind a lock."""
    return [_cache_hit_row(profile, "cache-hit", "cache hit (dict value)", CACHED_VALUE)]


def row_cache_hit_immutable(profile: Profile) -> list[RowResult]:
    """A cache hit (immutable str value) against ``cachetools.TTLCache`` behind a lock."""
    return [_cache_hit_row(profile, "cache-hit-str", "cache hit (str value)", "sunny, 21.5 C")]


def parallel_row(
    profile: Profile,
    count: int,
    *,
    name: str,
    section: str,
    target: float | None,
    seed: bool = True,
) -> RowResult:
    """*count* async ops (which yield once) in parallel, limit ``profile.limit``.

    *seed* adds the seed-style executor as a reference (left out of the scaling rows, where
    it would only add minutes).
    """
    limit = profile.limit
    row = RowResult(
        name=name,
        section=section,
        title=f"{count:,} parallel async ops, limit {limit}",
        anchor="raw asyncio.gather (no limit)",
        target=target,
        note="op: async def add_yielding(a, b): await asyncio.sleep(0); return a + b",
    )
    tool = Calculator()
    ops: list[dict[str, Any]] = [
        {"operation": "calc.add_yielding", "params": {"a": i, "b": 1}} for i in range(count)
    ]
    expected = [i + 1 for i in range(count)]
    with event_loop() as loop:
        seeded = _seed_operations()
        anchors = [
            Subject(
                "raw asyncio.gather",
                "anchor",
                async_workload_timer(
                    loop, lambda: raw_gather(lambda i: tool.add_yielding(a=i, b=1), count)
                ),
                workload=True,
                ops=count,
            ),
            Subject(
                f"asyncio.gather + Semaphore({limit})",
                "reference",
                async_workload_timer(
                    loop,
                    lambda: gather_limited(lambda i: tool.add_yielding(a=i, b=1), count, limit),
                ),
                workload=True,
                ops=count,
            ),
        ]
        if seed:
            anchors.append(
                Subject(
                    "seed-style batch_execute_operations (no limit)",
                    "reference",
                    async_workload_timer(loop, lambda: seeded.batch_execute_operations(ops)),
                    workload=True,
                    ops=count,
                )
            )
        optional = OptionalSubjects(row)
        with optional_stack(row, limit) as stack:
            if stack is not None:
                _, operations = stack
                optional.add(
                    "execproto batch_execute_operations",
                    lambda: Subject(
                        "execproto batch_execute_operations",
                        "subject",
                        async_workload_timer(
                            loop, lambda: operations.batch_execute_operations(ops)
                        ),
                        workload=True,
                        ops=count,
                    ),
                    # Checking the answer costs a whole extra batch: done at the sizes
                    # where that is cheap, which exercise the same code.
                    (
                        lambda: (
                            expected
                            == loop.run_until_complete(operations.batch_execute_operations(ops))
                        )
                    )
                    if count <= 10_000
                    else None,
                )
                optional.add(
                    "execproto execute_parallel_operations",
                    lambda: Subject(
                        "execproto execute_parallel_operations",
                        "subject",
                        async_workload_timer(
                            loop, lambda: operations.execute_parallel_operations(ops)
                        ),
                        workload=True,
                        ops=count,
                    ),
                )
            subjects = [*anchors, *optional.subjects]
            row.measurements = measure(subjects, profile.workload_for(count))
            if section == "scaling" and count >= profile.memory_from:
                attach_peaks(row, subjects)
    return row


def row_parallel(profile: Profile) -> list[RowResult]:
    """10 000 parallel async ops with a limit of 100 against a raw ``asyncio.gather``."""
    return [
        parallel_row(profile, profile.parallel_ops, name="parallel", section="design", target=1.2)
    ]


def row_sync_off_loop(profile: Profile) -> list[RowResult]:
    """One sync op run off the event loop, awaited, against ``asyncio.to_thread``."""
    row = RowResult(
        name="sync-off-loop",
        title="sync op off the loop, one at a time",
        anchor="await asyncio.to_thread(tool.multiply, **p)",
        target=1.0,
        note="op: def multiply(a, b): return a * b",
    )
    tool = Calculator()
    params = {"a": 6, "b": 7}
    with event_loop() as loop:
        anchors = [
            Subject(
                "asyncio.to_thread",
                "anchor",
                async_call_timer(loop, asyncio.to_thread, tool.multiply, **params),
            )
        ]
        optional = OptionalSubjects(row)
        with optional_stack(row, profile.limit) as stack:
            if stack is not None:
                executor, operations = stack
                optional.add(
                    "execproto ToolExecutor.execute_async",
                    lambda: Subject(
                        "execproto ToolExecutor.execute_async",
                        "subject",
                        async_call_timer(loop, executor.execute_async, tool, "multiply", **params),
                    ),
                    lambda: (
                        42
                        == loop.run_until_complete(
                            executor.execute_async(tool, "multiply", **params)
                        )
                    ),
                )
                optional.add(
                    "execproto OperationExecutor.execute_operation",
                    lambda: Subject(
                        "execproto OperationExecutor.execute_operation",
                        "subject",
                        async_call_timer(
                            loop, operations.execute_operation, "calc.multiply", params
                        ),
                    ),
                )
            row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return [row]


def row_sync_off_loop_burst(profile: Profile) -> list[RowResult]:
    """A burst of sync ops off the loop, gathered, against gathered ``asyncio.to_thread``."""
    count = profile.burst
    row = RowResult(
        name="sync-off-loop-burst",
        title=f"{count} sync ops off the loop at once",
        anchor="asyncio.gather of asyncio.to_thread",
        target=1.0,
        note="op: def multiply(a, b): return a * b; to_thread uses the loop's default pool",
    )
    tool = Calculator()

    async def to_thread_burst() -> list[Any]:
        return await asyncio.gather(
            *(asyncio.to_thread(tool.multiply, a=i, b=2) for i in range(count))
        )

    with event_loop() as loop:
        anchors = [
            Subject(
                "asyncio.gather(to_thread ...)",
                "anchor",
                async_workload_timer(loop, to_thread_burst),
                workload=True,
                ops=count,
            )
        ]
        optional = OptionalSubjects(row)
        with optional_stack(row, profile.limit) as stack:
            if stack is not None:
                executor, _ = stack

                async def executor_burst() -> list[Any]:
                    return await asyncio.gather(
                        *(executor.execute_async(tool, "multiply", a=i, b=2) for i in range(count))
                    )

                optional.add(
                    "execproto gather(ToolExecutor.execute_async ...)",
                    lambda: Subject(
                        "execproto gather(ToolExecutor.execute_async ...)",
                        "subject",
                        async_workload_timer(loop, executor_burst),
                        workload=True,
                        ops=count,
                    ),
                )
            row.measurements = measure([*anchors, *optional.subjects], profile.workload_for(count))
    return [row]
