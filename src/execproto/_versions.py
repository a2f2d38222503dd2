"""Protocol versions: carried by each protocol class, read by :mod:`execproto.conformance`.

``IToolExecutor.__protocol_version__`` must read as a class attribute, yet must not live in
the protocol's ``__dict__``: ``typing_extensions`` makes every name in the ``__dict__`` of a
protocol *or of any protocol it derives from* a member, so a user's
``class IMine(IToolExecutor, Protocol)`` would then demand ``__protocol_version__`` from every
implementation. The metaclass below serves the attribute from a table instead; sub-protocols
and explicit subclasses inherit the version through their MRO.
"""

from __future__ import annotations

from abc import ABCMeta
from typing import TYPE_CHECKING

from typing_extensions import Protocol

__all__ = [
    "INTERFACE_VERSION",
    "VersionedProtocolMeta",
    "protocol_version",
    "set_protocol_version",
]

#: The version of the execution interfaces this release defines.
INTERFACE_VERSION = "1.0.0"

_VERSIONS: dict[type, str] = {}

if TYPE_CHECKING:
    # Checkers only need to know it is an ABCMeta; the runtime base is typing_extensions'
    # protocol metaclass, which is private, so it is reached through ``type(Protocol)``.
    _ProtocolMetaBase = ABCMeta
else:
    _ProtocolMetaBase = type(Protocol)


class VersionedProtocolMeta(_ProtocolMetaBase):
    """Metaclass of execproto's protocols: adds ``__protocol_version__`` outside the members."""

    if TYPE_CHECKING:
        __protocol_version__: str
    else:

        @property
        def __protocol_version__(cls) -> str:
            for base in cls.__mro__:
                version = _VERSIONS.get(base)
                if version is not None:
                    return version
            raise AttributeError(f"{cls.__qualname__} has no __protocol_version__")


def set_protocol_version(protocol: type, version: str = INTERFACE_VERSION) -> None:
    """Record *version* as the ``__protocol_version__`` of *protocol* (and its subclasses)."""
    _VERSIONS[protocol] = version


def protocol_version(protocol: object) -> str | None:
    """Return the ``__protocol_version__`` of *protocol*, or ``None`` if it has none."""
    version = getattr(protocol, "__protocol_version__", None)
    return version if isinstance(version, str) else None
