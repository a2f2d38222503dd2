"""Example tools for ``execproto run``: a small research-report pipeline.

* ``web.search`` (async): a fake search engine over a tiny corpus; awaits like a network call.
* ``text.analyze`` / ``text.summarize`` (sync, blocking): word statistics and an extractive
  summary; ``analyze`` sleeps to stand for CPU-heavy work, so the executor runs it in a
  worker thread and the event loop keeps serving the other branches.
* ``rates.convert`` (async, *flaky*): an exchange-rate service whose every other call fails
  with :class:`ConnectionError`, deterministically. It is marked idempotent, so the tool
  executor's retry policy recovers it; nothing else is retried.
* ``report.compose`` (sync): assembles the final report; not idempotent (it "publishes").

``execproto run examples/plan.json --tools examples.tools`` calls :func:`register`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter
from typing import Any, ClassVar

from execproto.runtime.registry import ToolRegistry, operation

_CORPUS = [
    {
        "title": "Structural subtyping in Python (PEP 544)",
        "url": "https://peps.python.org/pep-0544/",
        "snippet": "Protocols let a class conform to an interface without inheriting from it. "
        "Type checkers verify conformance structurally. Runtime checks only see names.",
    },
    {
        "title": "Dependency inversion for tool executors",
        "url": "https://example.org/dip-executors",
        "snippet": "High level code depends on small interfaces. Executors, caches and "
        "providers are injected, replaced in tests, and checked at boundaries.",
    },
    {
        "title": "Retries, idempotence and backoff",
        "url": "https://example.org/retries",
        "snippet": "Retry only idempotent operations. Use exponential backoff with jitter so "
        "that clients do not retry in step. Keep the original error visible.",
    },
    {
        "title": "Caching tool results safely",
        "url": "https://example.org/cache-keys",
        "snippet": "Cache keys must include the user, the task and the tool. Keys from the "
        "salted builtin hash differ between processes. Never key by str of an object.",
    },
]

_WORD = re.compile(r"[a-z]+")
_STOPWORDS = frozenset(
    {"a", "an", "and", "are", "at", "be", "by", "do", "for", "from", "in", "is", "it"}
    | {"let", "not", "of", "on", "only", "or", "so", "that", "the", "their", "them", "they"}
    | {"to", "use", "when", "with", "without"}
)


class WebSearch:
    """A fake search engine: scores corpus entries by query words, like a slow API."""

    @operation(idempotent=True, timeout=5.0)
    async def search(self, query: str, limit: int = 3) -> dict[str, Any]:
        """Return the *limit* best hits for *query* as ``{"query", "hits": [...]}``."""
        await asyncio.sleep(0.3)  # the network round trip
        words = set(_WORD.findall(query.lower()))
        scored = sorted(
            _CORPUS,
            key=lambda doc: -len(words & set(_WORD.findall(str(doc["snippet"]).lower()))),
        )
        return {"query": query, "hits": [dict(doc) for doc in scored[:limit]]}


class TextAnalyzer:
    """Word statistics and extractive summaries; blocking, so run in a worker thread."""

    @operation(idempotent=True)
    def analyze(self, text: str, top: int = 5) -> dict[str, Any]:
        """Count words and sentences of *text*; return the *top* content words."""
        time.sleep(0.4)  # stands for real CPU-bound work
        words = _WORD.findall(text.lower())
        counts = Counter(word for word in words if word not in _STOPWORDS)
        return {
            "words": len(words),
            "sentences": max(1, text.count(".")),
            "top_words": [word for word, _ in counts.most_common(top)],
        }

    @operation(idempotent=True)
    def summarize(self, texts: list[str], keywords: list[str], sentences: int = 2) -> str:
        """Pick the *sentences* sentences of *texts* that mention the most *keywords*."""
        time.sleep(0.2)
        candidates = [
            sentence.strip() + "."
            for text in texts
            for sentence in text.split(".")
            if sentence.strip()
        ]
        wanted = set(keywords)
        ranked = sorted(candidates, key=lambda s: -len(wanted & set(_WORD.findall(s.lower()))))
        return " ".join(ranked[:sentences])


class ExchangeRates:
    """A flaky exchange-rate service: every other call fails, the next one succeeds."""

    _RATES: ClassVar[dict[str, float]] = {"EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "USD": 1.0}

    def __init__(self) -> None:
        self._calls = itertools.count(1)
        self._lock = threading.Lock()

    @operation(idempotent=True, cacheable=False)
    async def convert(self, amount: float, currency: str) -> dict[str, Any]:
        """Convert *amount* US dollars to *currency*.

        Raises:
            ConnectionError: on every odd-numbered call (simulated transient failure).
            KeyError: an unknown currency (not retried: it would fail again).
        """
        with self._lock:
            call = next(self._calls)
        await asyncio.sleep(0.1)
        if call % 2 == 1:
            raise ConnectionError(f"rate service reset the connection (simulated, call {call})")
        rate = self._RATES[currency]
        # "call" shows the retry at work: the first call failed, this one is the second.
        return {"currency": currency, "rate": rate, "converted": amount * rate, "call": call}


class ReportWriter:
    """Assembles the report; not idempotent (publishing twice would publish twice)."""

    def compose(self, title: str, sections: dict[str, Any]) -> str:
        """Return *title* and *sections* as a small text report."""
        lines = [title, "=" * len(title)]
        lines += [f"{name}: {value}" for name, value in sections.items()]
        return "\n".join(lines)


def register(registry: ToolRegistry) -> None:
    """Register the example tools (the hook ``execproto run --tools`` calls)."""
    registry.register("web", WebSearch())
    registry.register("text", TextAnalyzer())
    registry.register("rates", ExchangeRates())
    registry.register("report", ReportWriter())
