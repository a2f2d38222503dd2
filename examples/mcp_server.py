"""A tiny third-party MCP server, written with the MCP SDK only (no execproto).

It stands for any MCP server an agent builder already runs: a notebook of notes with
tools to add, find and summarise them, a slow ``digest`` that reports progress, and a
``delete_note`` that fails with a message the caller should read.

Run it over stdio (what MCP hosts and ``execproto run --mcp`` do)::

    python examples/mcp_server.py

and call it from an execproto plan::

    execproto run examples/mcp_plan.json --mcp notes="python examples/mcp_server.py"
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("notes", instructions="A notebook: add notes, find them, digest them.")

_NOTES: dict[int, dict[str, object]] = {}


@server.tool(name="add-note")
def add_note(title: str, body: str, tags: list[str] | None = None) -> dict[str, object]:
    """Store a note and return it with its id."""
    note: dict[str, object] = {
        "id": len(_NOTES) + 1,
        "title": title,
        "body": body,
        "tags": tags or [],
    }
    _NOTES[int(str(note["id"]))] = note
    return note


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def find_notes(word: str) -> list[dict[str, object]]:
    """Return the notes whose title or body contains *word* (any case)."""
    word = word.lower()
    return [
        note
        for note in _NOTES.values()
        if word in str(note["title"]).lower() or word in str(note["body"]).lower()
    ]


@server.tool()
def count_words(text: str) -> int:
    """Count the words of *text*."""
    return len(text.split())


@server.tool()
async def digest(ids: list[int], ctx: Context, pause: float = 0.05) -> str:
    """Join the titles of the notes *ids* into one line, reporting progress per note."""
    titles = []
    for done, note_id in enumerate(ids, start=1):
        await anyio.sleep(pause)  # stands for real work per note
        titles.append(str(_NOTES[note_id]["title"]) if note_id in _NOTES else f"#{note_id}?")
        await ctx.report_progress(done, len(ids), f"note {note_id}")
    return "; ".join(titles)


@server.tool()
def delete_note(note_id: int) -> str:
    """Delete a note (this notebook is append-only: always refused)."""
    raise ToolError(f"note {note_id} cannot be deleted: this notebook is append-only")


if __name__ == "__main__":
    server.run("stdio")
