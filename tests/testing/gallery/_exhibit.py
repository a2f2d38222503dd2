"""What an exhibit of the gallery is: a broken implementation, the suite that builds it,
and the checks it must fail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import Phase, settings

from execproto.testing import Contract

# The kit's default profile (the examples every user's run draws) without shrinking: the
# gallery needs a failure's verdict, not its smallest example, and shrinking a state
# machine's failure takes minutes.
GALLERY_SETTINGS = settings(
    settings.get_profile("execproto"), phases=(Phase.explicit, Phase.generate)
)


@dataclass(frozen=True)
class Exhibit:
    """A broken *implementation*, the *suite* that builds it, and the checks it *fails*.

    *options* are class attributes of the suite for this exhibit (``profile``,
    ``maxsize``, ...); *why* says what is broken, in words.
    """

    suite: type[Contract]
    implementation: type
    fails: frozenset[str]
    why: str
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    label: str = ""

    @property
    def name(self) -> str:
        """The exhibit's name: the implementation's, with the label of its options."""
        return self.implementation.__name__ + (f"-{self.label}" if self.label else "")

    def suite_class(self) -> type[Contract]:
        """Return a ``Test`` class of the suite that builds this exhibit's implementation."""
        namespace: dict[str, Any] = {
            "implementation": self.implementation,
            "hypothesis_settings": GALLERY_SETTINGS,
            **self.options,
        }
        return type(f"Test{self.name.replace('-', '_')}", (self.suite,), namespace)


def exhibit(
    suite: type[Contract],
    implementation: type,
    *fails: str,
    why: str,
    label: str = "",
    **options: Any,
) -> Exhibit:
    """Build an :class:`Exhibit` that must fail exactly the checks *fails*."""
    return Exhibit(suite, implementation, frozenset(fails), why, options, label)
