"""Sizes and round counts: ``full`` (``make bench``), ``quick`` and ``smoke`` (the test)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from benchmarks._harness import Timing

__all__ = ["PROFILES", "Profile"]


@dataclass(frozen=True)
class Profile:
    """How much work a run does."""

    name: str
    #: Micro rows: many short rounds (a few ms each), so that a burst of load from another
    #: process spoils a few rounds, which the median then ignores.
    micro: Timing
    #: Workload rows (thousands of operations per round): fewer, longer rounds.
    workload: Timing
    #: Operations a workload row should run per subject in total; rounds are cut to fit.
    workload_ops_budget: int
    parallel_ops: int
    limit: int
    burst: int
    cache_entries: int
    scale_ops: tuple[int, ...]
    scale_entries: tuple[int, ...]
    threads: tuple[int, ...]
    thread_hits: int
    #: Peak memory (tracemalloc) of scaling cases at or above this size.
    memory_from: int
    #: Rows over a real network round trip (Dask, Redis): each call costs 0.1-10 ms, so
    #: rounds are longer than micro rounds to hold more than one call.
    remote: Timing
    #: Worker processes for the Dask row's LocalCluster; ``False`` runs the workers as
    #: threads of this process (starts in well under a second: the smoke profile).
    dask_processes: bool
    #: Calls recorded into one MetricsCollector, per memory row: the first size is the
    #: reference the others are read against.
    metrics_calls: tuple[int, ...]
    #: Calls made at once through each framework's parallel path (the peers rows).
    peer_calls: int

    def workload_for(self, ops: int) -> Timing:
        """The workload timing for rounds of *ops* operations, within the ops budget."""
        rounds = min(
            self.workload.rounds, max(3, math.ceil(self.workload_ops_budget / max(ops, 1)))
        )
        warmup = min(self.workload.warmup, 1) if ops >= 10_000 else self.workload.warmup
        return replace(self.workload, rounds=rounds, warmup=warmup)


PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full",
        micro=Timing(rounds=41, warmup=4, round_ns=4_000_000),
        workload=Timing(rounds=15, warmup=2, round_ns=0, disable_gc=False),
        workload_ops_budget=300_000,
        parallel_ops=10_000,
        limit=100,
        burst=100,
        cache_entries=1_000,
        scale_ops=(100, 1_000, 10_000, 100_000),
        scale_entries=(1_000, 10_000, 100_000, 1_000_000),
        threads=(1, 2, 8),
        thread_hits=100_000,
        memory_from=10_000,
        remote=Timing(rounds=21, warmup=2, round_ns=100_000_000),
        dask_processes=True,
        metrics_calls=(1_000, 1_000_000),
        peer_calls=1_000,
    ),
    "quick": Profile(
        name="quick",
        micro=Timing(rounds=15, warmup=2, round_ns=2_000_000),
        workload=Timing(rounds=7, warmup=1, round_ns=0, disable_gc=False),
        workload_ops_budget=60_000,
        parallel_ops=10_000,
        limit=100,
        burst=100,
        cache_entries=1_000,
        scale_ops=(100, 1_000, 10_000),
        scale_entries=(1_000, 10_000, 100_000),
        threads=(1, 2, 8),
        thread_hits=40_000,
        memory_from=10_000,
        remote=Timing(rounds=9, warmup=1, round_ns=40_000_000),
        dask_processes=True,
        metrics_calls=(1_000, 100_000),
        peer_calls=1_000,
    ),
    # Proves that every row still runs; the figures mean nothing.
    "smoke": Profile(
        name="smoke",
        micro=Timing(rounds=2, warmup=0, round_ns=20_000),
        workload=Timing(rounds=1, warmup=0, round_ns=0, disable_gc=False),
        workload_ops_budget=1,
        parallel_ops=20,
        limit=4,
        burst=4,
        cache_entries=16,
        scale_ops=(10, 20),
        scale_entries=(16, 32),
        threads=(1, 2),
        thread_hits=200,
        memory_from=20,
        remote=Timing(rounds=2, warmup=0, round_ns=20_000),
        dask_processes=False,
        metrics_calls=(10, 100),
        peer_calls=20,
    ),
}
