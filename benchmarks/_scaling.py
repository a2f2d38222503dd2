"""How the cost grows: with the number of operations, of cached entries, and of threads.

These rows have no DESIGN target; they show the per-operation cost at each size next to the
same anchor at the same size, and the peak memory of the large cases.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._anchors import (
    Calculator,
    LockedTTLCache,
    SeedOperationExecutor,
    SeedToolExecutor,
    SeedToolProvider,
)
from benchmarks._harness import (
    RoundFn,
    RowResult,
    Subject,
    async_workload_timer,
    measure,
    sweep_timer,
    workload_timer,
)
from benchmarks._profiles import Profile
from benchmarks._rows import (
    OptionalSubjects,
    attach_peaks,
    event_loop,
    execproto_attr,
    optional_stack,
    parallel_row,
)

__all__ = ["scale_cache_entries", "scale_parallel", "scale_sequence", "scale_threads"]

#: The value stored in the scaling cache rows: immutable, so that no cache copies it and the
#: rows show the cost of the cache's structure (the cost of copying a mutable value is in
#: the DESIGN row "cache hit (dict value)").
_VALUE = "sunny, 21.5 C"

#: Keys looked up per round in the cache rows: spread over the whole cache, so a big cache
#: pays its real memory-access cost rather than hitting one hot entry.
_SAMPLE = 1024


def scale_parallel(profile: Profile) -> list[RowResult]:
    """Parallel operations, 100 to 100 000, limit 100, against a raw ``asyncio.gather``."""
    return [
        parallel_row(
            profile, n, name=f"scale-parallel-{n}", section="scaling", target=None, seed=False
        )
        for n in profile.scale_ops
    ]


def scale_sequence(profile: Profile) -> list[RowResult]:
    """Operations in sequence, 100 to 100 000, against awaiting them one by one."""
    return [_sequence_row(profile, n) for n in profile.scale_ops]


def _sequence_row(profile: Profile, count: int) -> RowResult:
    row = RowResult(
        name=f"scale-sequence-{count}",
        section="scaling",
        title=f"{count:,} async ops in sequence",
        anchor="for ...: await tool.add(**p)",
        target=None,
        note="op: async def add(a, b): return a + b",
    )
    tool = Calculator()
    ops: list[dict[str, Any]] = [
        {"operation": "calc.add", "params": {"a": i, "b": 1}} for i in range(count)
    ]
    provider = SeedToolProvider()
    provider.register_tool("calc", tool)
    seed = SeedOperationExecutor(SeedToolExecutor(), provider)

    async def direct() -> list[int]:
        return [await tool.add(a=i, b=1) for i in range(count)]

    async def seed_sequence() -> list[Any]:
        return [await seed.execute_operation(op["operation"], op["params"]) for op in ops]

    with event_loop() as loop:
        anchors = [
            Subject(
                "direct awaits",
                "anchor",
                async_workload_timer(loop, direct),
                workload=True,
                ops=count,
            ),
            Subject(
                "seed-style execute_operation in a loop",
                "reference",
                async_workload_timer(loop, seed_sequence),
                workload=True,
                ops=count,
            ),
        ]
        optional = OptionalSubjects(row)
        with optional_stack(row, profile.limit) as stack:
            if stack is not None:
                _, operations = stack
                optional.add(
                    "execproto execute_operations_sequence",
                    lambda: Subject(
                        "execproto execute_operations_sequence",
                        "subject",
                        async_workload_timer(
                            loop,
                            lambda: operations.execute_operations_sequence(ops, "user-1", "task-1"),
                        ),
                        workload=True,
                        ops=count,
                    ),
                )
            subjects = [*anchors, *optional.subjects]
            row.measurements = measure(subjects, profile.workload_for(count))
            if count >= profile.memory_from:
                attach_peaks(row, subjects)
    return row


def _keys(count: int) -> list[str]:
    # Digests, like real cache keys: same length, no shared prefix to help a dict.
    return [hashlib.md5(str(i).encode()).hexdigest() for i in range(count)]


def _memory_cache(maxsize: int) -> Any:
    return execproto_attr("runtime.cache", "MemoryCacheProvider")(maxsize=maxsize, ttl=300.0)


def scale_cache_entries(profile: Profile) -> list[RowResult]:
    """Filling a cache with 1e3 to 1e6 entries, and hits spread over it, at each size."""
    all_keys = _keys(max(profile.scale_entries))
    rows: list[RowResult] = []
    for count in profile.scale_entries:
        keys = all_keys[:count]
        rows.append(_fill_row(profile, keys))
        rows.append(_hits_row(profile, keys))
    return rows


def _fill_row(profile: Profile, keys: Sequence[str]) -> RowResult:
    count = len(keys)
    row = RowResult(
        name=f"scale-cache-fill-{count}",
        section="scaling",
        title=f"fill an empty cache with {count:,} entries (maxsize {count:,})",
        anchor="cachetools.TTLCache + threading.Lock",
        target=None,
        note="per entry; peak memory = the whole filled cache",
    )

    def fill_locked() -> LockedTTLCache:
        cache = LockedTTLCache(maxsize=count, ttl=300.0)
        for key in keys:
            cache.set(key, _VALUE)
        return cache

    def fill_memory() -> Any:
        cache = _memory_cache(count)
        for key in keys:
            cache.add_to_cache(key, _VALUE)
        return cache

    anchors = [
        Subject(
            "TTLCache + Lock set", "anchor", workload_timer(fill_locked), workload=True, ops=count
        )
    ]
    optional = OptionalSubjects(row)
    optional.add(
        "execproto MemoryCacheProvider.add_to_cache",
        lambda: Subject(
            "execproto MemoryCacheProvider.add_to_cache",
            "subject",
            workload_timer(fill_memory),
            workload=True,
            ops=count,
        ),
    )
    subjects = [*anchors, *optional.subjects]
    row.measurements = measure(subjects, profile.workload_for(count))
    if count >= profile.memory_from:
        attach_peaks(row, subjects)
    return row


def _hits_row(profile: Profile, keys: Sequence[str]) -> RowResult:
    count = len(keys)
    row = RowResult(
        name=f"scale-cache-hit-{count}",
        section="scaling",
        title=f"cache hit in a cache of {count:,} entries",
        anchor="cachetools.TTLCache + threading.Lock",
        target=None,
        note=f"{min(_SAMPLE, count)} random keys per sweep",
    )
    sample = random.Random(count).sample(list(keys), min(_SAMPLE, count))
    locked = LockedTTLCache(maxsize=count, ttl=300.0)
    for key in keys:
        locked.set(key, _VALUE)
    anchors = [
        Subject("TTLCache + Lock get", "anchor", sweep_timer(locked.get, sample), ops=len(sample))
    ]
    optional = OptionalSubjects(row)

    def build() -> Subject:
        cache = _memory_cache(count)
        for key in keys:
            cache.add_to_cache(key, _VALUE)
        return Subject(
            "execproto MemoryCacheProvider.get_from_cache",
            "subject",
            sweep_timer(cache.get_from_cache, sample),
            ops=len(sample),
        )

    optional.add("execproto MemoryCacheProvider.get_from_cache", build)
    row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return row


def _contended(
    get: Callable[[str], object], keys: Sequence[str], threads: int, hits: int
) -> RoundFn:
    """Time *threads* threads doing *hits* lookups between them on one shared cache.

    Threads are started before the clock and released together through a barrier, so only
    the lookups (and the contention between them) are timed.
    """
    per_thread = hits // threads

    def worker(barrier: threading.Barrier, offset: int) -> None:
        barrier.wait()
        size = len(keys)
        for i in range(per_thread):
            get(keys[(offset + i) % size])

    def run(loops: int) -> int:
        del loops
        barrier = threading.Barrier(threads + 1)
        pool = [threading.Thread(target=worker, args=(barrier, n * 97)) for n in range(threads)]
        for thread in pool:
            thread.start()
        start = time.perf_counter_ns()
        barrier.wait()
        for thread in pool:
            thread.join()
        return time.perf_counter_ns() - start

    return run


def scale_threads(profile: Profile) -> list[RowResult]:
    """1, 2 and 8 threads doing cache hits on one shared cache."""
    keys = _keys(profile.cache_entries)
    locked = LockedTTLCache(maxsize=len(keys), ttl=300.0)
    for key in keys:
        locked.set(key, _VALUE)
    hits = profile.thread_hits
    rows: list[RowResult] = []
    for threads in profile.threads:
        row = RowResult(
            name=f"scale-threads-{threads}",
            section="scaling",
            title=f"{threads} thread(s) sharing one cache, {hits:,} hits in total",
            anchor="cachetools.TTLCache + threading.Lock",
            target=None,
            note="wall-clock time per hit, all threads together",
        )
        anchors = [
            Subject(
                "TTLCache + Lock get",
                "anchor",
                _contended(locked.get, keys, threads, hits),
                workload=True,
                ops=hits,
            )
        ]
        optional = OptionalSubjects(row)

        def build(threads: int = threads) -> Subject:
            cache = _memory_cache(len(keys))
            for key in keys:
                cache.add_to_cache(key, _VALUE)
            return Subject(
                "execproto MemoryCacheProvider.get_from_cache",
                "subject",
                _contended(cache.get_from_cache, keys, threads, hits),
                workload=True,
                ops=hits,
            )

        optional.add("execproto MemoryCacheProvider.get_from_cache", build)
        row.measurements = measure([*anchors, *optional.subjects], profile.workload_for(hits))
        rows.append(row)
    return rows
