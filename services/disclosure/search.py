"""Chinese word segmentation for the public full-text search (D5).

PostgreSQL's parser cannot split Chinese into words, so jieba does: a published document's
number, title, department and body are segmented in search mode (every word plus the shorter
dictionary words inside it) and stored as a ``tsvector`` with the ``simple`` configuration; a
query is segmented in precise mode and all its words must occur. Precise-mode words of a text
are a subset of its search-mode words, so a query finds the texts that contain it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable

import jieba
from sqlalchemy import ColumnElement, literal_column

# The text search configuration for segmented text: no stemming, no stop words, lower case only.
SIMPLE: ColumnElement[str] = literal_column("'simple'::regconfig")

_lock = threading.Lock()


@functools.cache
def _tokenizer() -> jieba.Tokenizer:
    # Loading the dictionary takes about a second; do it once, off the event loop (see app.py).
    with _lock:
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        return tokenizer


def warm_up() -> None:
    _tokenizer()


def _words(tokens: Iterable[str]) -> list[str]:
    # Punctuation such as 〔〕 and 号's neighbours carry no meaning for the search.
    return [t for t in (x.strip() for x in tokens) if any(c.isalnum() for c in t)]


def index_text(*parts: str) -> str:
    """Space-separated search-mode words of ``parts``, for ``to_tsvector('simple', …)``."""
    words: list[str] = []
    for part in parts:
        words.extend(_words(_tokenizer().cut_for_search(part)))
    return " ".join(words)


def query_words(text: str) -> list[str]:
    """The precise-mode words of a query; every one must occur in a matching document."""
    return _words(_tokenizer().cut(text))
