"""Protocol versions: carried by each protocol class, read by :mod:`execproto.conformance`.

``IToolExecutor.__protocol_version__`` must read as a class attribute, yet must not live in
the protocol's ``__dict__``: ``typing_extensions`` makes every name in the ``__dict__`` of a
protocol *or of any protocol it derives from* a member, so a user's
``class IMine(IToolExecutor, Protocol)`` would then demand ``__protocol_version__`` from every
implementation. The metaclass below serves the attribute from a table instead; sub-protocols
and explicit subclasses inherit the version through their MRO.
"""

from __future__ import annotations

import sys
from abc import ABCMeta
from typing import TYPE_CHECKING, Any

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

    def __init__(
        cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        if sys.version_info < (3, 12) and _has_typing_hook(cls):
            _adopt_typing_extensions_hook(cls)

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


class _HookDonor(Protocol):
    """The smallest ``typing_extensions`` protocol: it holds that module's subclass hook."""


def _has_typing_hook(cls: type) -> bool:
    hook: object = cls.__dict__.get("__subclasshook__")
    # typing (3.10, 3.11) installs a closure defined in Protocol.__init_subclass__; a hook the
    # user wrote in the class body is theirs and stays.
    return getattr(hook, "__module__", None) == "typing" and getattr(
        hook, "__qualname__", ""
    ).endswith("._proto_hook")


def _adopt_typing_extensions_hook(cls: type) -> None:
    """Give *cls* the hook and member bookkeeping ``typing_extensions`` gives its protocols.

    ``typing_extensions.runtime_checkable`` would set ``__non_callable_proto_members__``;
    ``typing.runtime_checkable`` on 3.10 and 3.11 does not, so it is computed here the same
    way (and recomputed by ``typing_extensions.runtime_checkable`` when that one is used).
    """
    cls.__subclasshook__ = _HookDonor.__dict__["__subclasshook__"]  # type: ignore[method-assign]
    members: set[str] = getattr(cls, "__protocol_attrs__", set())
    non_callable = {name for name in members if not callable(getattr(cls, name, None))}
    cls.__non_callable_proto_members__ = non_callable  # type: ignore[attr-defined]


def set_protocol_version(protocol: type, version: str = INTERFACE_VERSION) -> None:
    """Record *version* as the ``__protocol_version__`` of *protocol* (and its subclasses)."""
    _VERSIONS[protocol] = version


def protocol_version(protocol: object) -> str | None:
    """Return the ``__protocol_version__`` of *protocol*, or ``None`` if it has none."""
    version = getattr(protocol, "__protocol_version__", None)
    return version if isinstance(version, str) else None
