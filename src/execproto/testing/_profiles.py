"""The hypothesis profiles of the contract kit, registered by the suites and by the plugin.

Both register them: the plugin so that ``--hypothesis-profile=execproto-thorough`` can be
loaded by hypothesis's own plugin (which loads it in its ``pytest_configure``), the suites so
that they run the same way when the plugin is not loaded. Importing this module imports
hypothesis.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["DEFAULT_PROFILE", "THOROUGH_PROFILE", "register_profiles"]

DEFAULT_PROFILE = "execproto"
THOROUGH_PROFILE = "execproto-thorough"

# too_slow: implementations with thread pools, subprocesses or networks generate slowly.
# function_scoped_fixture: a suite builds a fresh implementation per example itself, so a
# fixture of the subclass (a server, a client) is meant to be shared by the examples.
# differing_executors: one check of a reusable suite runs for several subclasses (several
# implementations) in one session; that is the point of a reusable suite.
SUPPRESSED_HEALTH_CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
    HealthCheck.differing_executors,
)


def register_profiles() -> None:
    """Register ``execproto`` and ``execproto-thorough``; registering again is harmless.

    ``execproto``, what the suites use unless told otherwise, draws 25 examples per check
    from a fixed seed (``derandomize``, which also turns the example database off), so the
    same implementation gets the same verdict on every run. ``execproto-thorough`` draws 500
    from a fresh seed each run, for a nightly search: hypothesis prints the falsifying
    example of a failure and replays it from its example database on the next run. Neither
    has a deadline: executors with thread pools have uneven latency, and a check is about
    promises, not speed.
    """
    settings.register_profile(
        DEFAULT_PROFILE,
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=SUPPRESSED_HEALTH_CHECKS,
    )
    settings.register_profile(
        THOROUGH_PROFILE,
        max_examples=500,
        deadline=None,
        suppress_health_check=SUPPRESSED_HEALTH_CHECKS,
    )
