"""Chinese search terms: the query is segmented with jieba and every term must appear in the text."""

from __future__ import annotations

import logging
import re
import threading

import jieba

_lock = threading.Lock()
_ready = False
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


def _ensure_dictionary() -> None:
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()  # ~0.5 s, once per process
                _ready = True


def terms(query: str, *, limit: int = 8) -> list[str]:
    """The distinct words of a query, longest first (``企业信用数据`` → 企业, 信用, 数据)."""
    query = query.strip().lower()
    if not query:
        return []
    _ensure_dictionary()
    seen: list[str] = []
    for word in jieba.cut(query):
        word = _PUNCTUATION.sub("", word)
        if word and word not in seen:
            seen.append(word)
    return seen[:limit]


def searchable(*parts: str) -> str:
    return "\n".join(p.lower() for p in parts if p)


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
