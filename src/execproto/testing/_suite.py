"""What every contract suite shares: the profile of promises it checks, hypothesis settings
and seed, driving coroutines, disposing of implementations, failure messages that state the
promise, and threads made to interleave.

Importing this module imports pytest and hypothesis (extra ``testing``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, ClassVar, Final, Literal, TypeVar

import pytest
from hypothesis import given, seed, settings
from hypothesis.strategies import SearchStrategy

from execproto.testing._profiles import (
    DEFAULT_PROFILE,
    SUPPRESSED_HEALTH_CHECKS,
    register_profiles,
)

__all__ = [
    "PROFILES",
    "Contract",
    "Outcome",
    "Profile",
    "beyond_seed",
    "broken",
    "outcome",
    "show",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=Callable[..., Any])

Profile = Literal["execproto", "seed"]
PROFILES: Final[tuple[Profile, ...]] = ("execproto", "seed")
"""The profiles of promises a suite can check: ``"execproto"`` (every rule of execproto's
protocols, the default) and ``"seed"`` (only what the seed design document promises)."""

_RULE_ATTRIBUTE = "__execproto_beyond_seed__"

register_profiles()


def beyond_seed(rule: str) -> Callable[[F], F]:
    """Mark a check as an execproto rule the seed document does not state; *rule* says why.

    Under the ``seed`` profile the check is skipped with *rule* as the reason.
    """

    def mark(check: F) -> F:
        setattr(check, _RULE_ATTRIBUTE, rule)
        return check

    return mark


def show(value: object, limit: int = 160) -> str:
    """Return ``repr(value)``, cut to about *limit* characters with the full length noted."""
    try:
        text = repr(value)
    except Exception as err:  # a foreign object's __repr__ may itself be broken
        return f"<{type(value).__name__} whose repr raised {type(err).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text)} characters)"


def broken(promise: str, did: str, cause: BaseException | None = None) -> AssertionError:
    """Return the failure of a check: the *promise* in words, then what the implementation
    *did*; raise it (``raise broken(...)``). *cause* is chained, so its traceback shows where
    the implementation raised."""
    error = AssertionError(f"{promise}; {did}")
    error.__cause__ = cause
    return error


@dataclass(frozen=True)
class Outcome:
    """What one call of an implementation did: returned ``value`` or raised ``error``."""

    value: Any = None
    error: Exception | None = None

    @property
    def raised(self) -> bool:
        """Whether the call raised."""
        return self.error is not None

    def __str__(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}: {show(str(self.error))}"
        return f"returned {show(self.value)}"


def outcome(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Outcome:
    """Call ``call(*args, **kwargs)`` and return what it did; an :class:`Exception` is
    caught, never raised."""
    try:
        return Outcome(value=call(*args, **kwargs))
    except Exception as err:
        return Outcome(error=err)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _called(call: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    # Called inside the loop: an implementation may create tasks or futures when called.
    return await call(*args, **kwargs)


def _parse_seed(value: object) -> int | str | None:
    # As hypothesis's own plugin reads --hypothesis-seed: an integer if it is one.
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return str(value)


class Contract:
    """The base of every suite: how the checks run, what they check, and clean-up.

    Class attributes a subclass may set:

    * ``profile``: ``"execproto"`` or ``"seed"`` (see :data:`PROFILES`); ``None`` takes the
      ``--execproto-profile`` option of the kit's pytest plugin, or else ``"execproto"``.
    * ``hypothesis_settings``: the settings of every hypothesis-driven check. ``None`` (the
      default) uses the kit's profile ``execproto`` (25 examples from a fixed seed, so every
      run gives the same verdict), or the profile named with ``--hypothesis-profile``.
      ``--hypothesis-seed`` always takes precedence over the settings' own seed.
    """

    profile: ClassVar[Profile | None] = None
    """Which promises to check; see the class docstring."""

    hypothesis_settings: ClassVar[settings | None] = None
    """Settings of every hypothesis-driven check; see the class docstring. Settings you give
    replace the kit's profile: add ``derandomize=True`` to keep a fixed seed."""

    _option_profile: str | None = None
    _hypothesis_profile: str | None = None
    _hypothesis_seed: int | str | None = None

    @pytest.fixture(autouse=True)
    def _execproto_contract_options(self, request: pytest.FixtureRequest) -> None:
        # Read per test, from the session's options: the suites work with or without the
        # kit's plugin (the options then keep their defaults).
        self._option_profile = request.config.getoption("execproto_profile", None)
        self._hypothesis_profile = request.config.getoption("hypothesis_profile", None)
        self._hypothesis_seed = _parse_seed(request.config.getoption("hypothesis_seed", None))
        profile = self.active_profile()
        rule = getattr(request.function, _RULE_ATTRIBUTE, None)
        if rule is not None and profile == "seed":
            pytest.skip(f"profile 'seed' checks only the seed document's promises; {rule}")

    def active_profile(self) -> Profile:
        """Return the profile this suite checks: ``profile``, else the command line's.

        Raises:
            ValueError: ``profile`` (or ``--execproto-profile``) names no profile.
        """
        chosen = self.profile if self.profile is not None else self._option_profile
        if chosen is None:
            return "execproto"
        for profile in PROFILES:
            if chosen == profile:
                return profile
        raise ValueError(
            f"{type(self).__name__}.profile must be one of {', '.join(PROFILES)}, got {chosen!r}"
        )

    def active_hypothesis_settings(self) -> settings:
        """Return the settings the hypothesis-driven checks run with (see the class
        docstring); the kit always suppresses the health checks a reusable suite trips and
        turns the deadline off.

        Raises:
            hypothesis.errors.InvalidArgument: ``--hypothesis-profile`` names no profile.
        """
        if self.hypothesis_settings is not None:
            parent = self.hypothesis_settings
        elif self._hypothesis_profile is not None:
            parent = settings.get_profile(self._hypothesis_profile)
        else:
            parent = settings.get_profile(DEFAULT_PROFILE)
        suppressed = [*parent.suppress_health_check]
        suppressed += [check for check in SUPPRESSED_HEALTH_CHECKS if check not in suppressed]
        return settings(parent, deadline=None, suppress_health_check=suppressed)

    def seeded(self, test: C) -> C:
        """Return *test* (a hypothesis test or state machine) with ``--hypothesis-seed``
        applied when it was given; otherwise unchanged."""
        if self._hypothesis_seed is None:
            return test
        return seed(self._hypothesis_seed)(test)

    def examples(
        self, **strategies_: SearchStrategy[Any]
    ) -> Callable[[Callable[..., None]], Callable[[], None]]:
        """Decorate a check to run once per example drawn from *strategies_*, with
        :meth:`active_hypothesis_settings` and the seed; call the decorated check with no
        arguments.

        Raises:
            hypothesis.errors.HypothesisException: the strategies are invalid.
        """

        def decorate(check: Callable[..., None]) -> Callable[[], None]:
            test = self.active_hypothesis_settings()(given(**strategies_)(check))
            return self.seeded(test)

        return decorate

    def run(self, awaitable: Coroutine[Any, Any, T]) -> T:
        """Run *awaitable* to completion on a fresh event loop and return its result.

        Override to drive another loop (uvloop, a loop your implementation owns).

        Raises:
            RuntimeError: called from a running event loop.
            Exception: whatever *awaitable* raised.
        """
        return asyncio.run(awaitable)

    def call(self, method: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Call ``method(*args, **kwargs)`` on :meth:`run`'s loop, await what it returns and
        return the result.

        Raises:
            Exception: whatever *method* or what it returned raised.
        """
        return self.run(_called(method, *args, **kwargs))

    def call_outcome(
        self, method: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any
    ) -> Outcome:
        """Like :meth:`call`, but return what the call did instead of raising."""
        return outcome(self.call, method, *args, **kwargs)

    def dispose(self, implementation: Any) -> None:
        """Release what *implementation* holds once a test is done with it.

        The default awaits ``implementation.aclose()`` when it exists, or else calls
        ``implementation.close()`` and runs its result when that is awaitable. Override for
        other clean-up.

        Raises:
            Exception: whatever ``aclose()`` or ``close()`` raised.
        """
        close = getattr(implementation, "aclose", None)
        if not callable(close):
            close = getattr(implementation, "close", None)
        if callable(close):
            result = close()
            if isinstance(result, Awaitable):
                self.run(_awaited(result))  # pyright: ignore[reportUnknownArgumentType]

    @contextmanager
    def using(self, implementation: T) -> Generator[T, None, None]:
        """Yield *implementation* and :meth:`dispose` of it afterwards."""
        try:
            yield implementation
        finally:
            self.dispose(implementation)


# Thread safety is checked by running the implementation from several threads at once. Left
# alone, CPython switches threads every 5 ms, so a check-then-act race in an implementation
# almost never shows. The kit makes the threads interleave instead: every bytecode of the
# implementation's own code is a point where another thread may run (a trace function on
# those frames only, which also keeps libraries it calls at full speed), the interpreter is
# asked to switch as often as it can, and a barrier releases all threads together at the
# start of each of many short rounds. An unlocked LRU cache fails in the first rounds.
_SWITCH_INTERVAL = 1e-6
_ROUND_BUDGET = 3.0  # seconds; a correct implementation runs this long at most
_BARRIER_TIMEOUT = 30.0  # bounds the hang on an implementation that deadlocks
_STDLIB = tuple(
    os.path.normcase(path)
    for path in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)


@dataclass
class Race:
    """What :func:`race` saw: the errors the steps raised, and the rounds that ran."""

    errors: list[BaseException]
    rounds: int
    hung: bool = False


def _own_files(implementation: object) -> frozenset[str]:
    files: set[str] = set()
    for cls in type(implementation).__mro__:
        module = sys.modules.get(cls.__module__)
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        path = os.path.normcase(os.path.abspath(path))
        in_stdlib = path.startswith(_STDLIB) and not any(
            part in path for part in ("site-packages", "dist-packages")
        )
        if not in_stdlib:
            files.add(path)
    return frozenset(files)


def _interleaver(
    files: frozenset[str],
) -> Callable[[FrameType, str, Any], Any]:
    def local(frame: FrameType, event: str, arg: Any) -> Any:
        # Being called at all is the point: the call is a place where the interpreter
        # hands the GIL to a waiting thread.
        return local

    def start(frame: FrameType, event: str, arg: Any) -> Any:
        if os.path.normcase(frame.f_code.co_filename) in files:
            frame.f_trace_opcodes = True
            return local
        return None

    return start


@contextmanager
def _switching_often() -> Generator[None, None, None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def race(
    implementations: Iterable[object],
    step: Callable[[int, int], None],
    *,
    workers: int = 4,
    rounds: int = 400,
    between_rounds: Callable[[int], None] | None = None,
) -> Race:
    """Run ``step(worker, round)`` in *workers* threads for up to *rounds* rounds, forcing
    the threads to interleave inside *implementations*' own code.

    All threads start each round together; *between_rounds* (given the number of the round
    about to start) runs while they wait. A step that raises stops the race. The rounds stop
    early after a few seconds, so a slow implementation is not held for long.
    """
    files = frozenset[str]().union(*(_own_files(each) for each in implementations))
    errors: list[BaseException] = []
    state = {"round": -1, "stop": False}
    deadline = time.monotonic() + _ROUND_BUDGET

    def next_round() -> None:
        # Runs in one thread once all of them finished the previous round.
        state["round"] += 1
        if state["round"] >= rounds or time.monotonic() > deadline:
            state["stop"] = True
        elif between_rounds is not None:
            between_rounds(state["round"])

    barrier = threading.Barrier(workers, action=next_round, timeout=_BARRIER_TIMEOUT)

    def work(worker: int) -> None:
        previous = sys.gettrace()
        sys.settrace(_interleaver(files))
        try:
            while True:
                barrier.wait()
                if state["stop"]:
                    return
                step(worker, state["round"])
        except threading.BrokenBarrierError:
            return
        except BaseException as err:  # reported on the main thread
            errors.append(err)
            barrier.abort()
        finally:
            sys.settrace(previous)

    threads = [
        threading.Thread(target=work, args=(worker,), name=f"execproto-race-{worker}", daemon=True)
        for worker in range(workers)
    ]
    with _switching_often():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_BARRIER_TIMEOUT * 2)
    hung = any(thread.is_alive() for thread in threads)
    return Race(errors=errors, rounds=max(0, int(state["round"])), hung=hung)
