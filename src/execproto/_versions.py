"""Protocol versions: written onto each protocol class, read by :mod:`execproto.conformance`."""

from __future__ import annotations

__all__ = ["INTERFACE_VERSION", "protocol_version", "set_protocol_version"]

#: The version of the execution interfaces this release defines.
INTERFACE_VERSION = "1.0.0"


def set_protocol_version(protocol: type, version: str = INTERFACE_VERSION) -> None:
    """Attach ``__protocol_version__`` to *protocol* without making it a protocol member."""
    # Assigned after class creation: an attribute written in the class body would become a
    # protocol member, and every implementation would then have to define it to conform.
    type.__setattr__(protocol, "__protocol_version__", version)


def protocol_version(protocol: type) -> str | None:
    """Return the ``__protocol_version__`` of *protocol*, or ``None`` if it has none."""
    version = getattr(protocol, "__protocol_version__", None)
    return version if isinstance(version, str) else None
