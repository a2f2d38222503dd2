"""What the MCP client and server of execproto share: the error-code key, JSON shape tests.

Needs the ``mcp`` extra; imported by :mod:`execproto.integrations.mcp_client` and
:mod:`execproto.integrations.mcp_server` only.
"""

from __future__ import annotations

__all__ = ["ERROR_CODE_META", "is_object", "missing_sdk"]

#: The ``_meta`` key under which the server reports an execproto error code with an
#: ``isError`` result, so that an execproto client can restore the error's kind.
ERROR_CODE_META = "io.github.execproto/error_code"


def is_object(value: object) -> bool:
    """Return whether *value* is a JSON object (a ``dict``)."""
    # A function, not an inline isinstance: narrowing to dict[Unknown, Unknown] would leak
    # into the caller's return type.
    return isinstance(value, dict)


def missing_sdk(module: str, error: ImportError) -> ImportError:
    """Return the error raised when *module* is imported without the MCP SDK."""
    return ImportError(
        f"{module} needs the MCP SDK, which is not installed ({error}); "
        f"install the extra with: pip install 'execproto[mcp]'"
    )
