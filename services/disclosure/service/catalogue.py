"""The public catalogue (D5): list, filter, search and read published documents; the Atom feed.

Only the ``catalogue`` table is read here: it holds each document's latest published version,
so nothing unpublished, exempt or superseded can leak into a public answer.

A full-text page is answered in two bounded steps of one statement (see ``_searched``): the newest
``RECENT_WINDOW`` rows after the cursor are walked in ``published_at`` order and filtered by the
words; only when they hold less than a page are the older matches read from the GIN index. The
plan thus no longer hangs on PostgreSQL's guess of how many documents match, which is badly wrong
for words that occur together (营商 & 环境: about 3,000 estimated, 45,500 real in the bench).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import ColumnElement, Row, Select, exists, func, select, tuple_, union_all

from services.disclosure import domain, search
from services.disclosure.domain import DisclosureMode, IssuingOrgan, Validity
from services.disclosure.schemas import CatalogueDocument, CatalogueEntry
from services.disclosure.settings import disclosure_settings
from services.disclosure.tables import catalogue
from shared import reference
from shared.app import ServiceContext
from shared.deadlines import local
from shared.pagination import Keyset, Page, PageParams

ATOM = "http://www.w3.org/2005/Atom"
# An empty feed still needs an <updated>; nothing was published before this.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Control characters XML 1.0 cannot hold; stored text may contain them, the feed drops them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

_ENTRY_COLUMNS = [c for c in catalogue.c if c.name not in ("body", "attachments", "search")]
# Newest publications first.
PUBLISHED = Keyset(catalogue.c.published_at, catalogue.c.document_id)

# How many of the newest rows (after the cursor, within the other filters) a word query walks in
# date order before it turns to the GIN index. Words that fill a page within the window cost at
# most this many row visits; words that do not are rare (under a page per window, i.e. about
# page × rows / window matches in all if spread evenly), so reading all their matches from the
# index and sorting them is small too. About sqrt(page × rows) balances the two at a million rows.
RECENT_WINDOW = 5000


@dataclass(frozen=True)
class CatalogueFilter:
    department: str | None = None
    year: int | None = None
    subject: str | None = None
    validity: Validity | None = None
    mode: DisclosureMode | None = None
    q: str | None = None


async def _conditions(f: CatalogueFilter) -> tuple[list[ColumnElement[bool]], str | None]:
    """The filters, and apart the words all of which must occur (``None`` unless ``q`` has words)."""
    c = catalogue.c
    where: list[ColumnElement[bool]] = []
    if f.department is not None:
        reference.known_department(f.department, field="department")
        where.append(c.department == f.department)
    if f.year is not None:
        where.append(c.year == f.year)
    if f.subject is not None:
        where.append(c.subject_words.contains([f.subject.strip()]))
    if f.validity is not None:
        where.append(c.validity == f.validity)
    if f.mode is not None:
        where.append(c.disclosure_mode == f.mode)
    words: str | None = None
    if f.q is not None and f.q.strip():
        number = _number_condition(f.q)
        if number is not None:
            where.append(number)
        else:
            words = await _words(f.q)
    return where, words


def _number_condition(q: str) -> ColumnElement[bool] | None:
    """A document number (or its leading part) matches by its parts."""
    c = catalogue.c
    number = domain.parse_number_query(q)
    if number is None:
        return None
    condition = c.number_year == number.year
    if number.prefix is not None:
        condition = condition & (c.number_prefix == number.prefix)
    if number.serial is not None:
        condition = condition & (c.number_serial == number.serial)
    return condition


async def _words(q: str) -> str:
    """Anything but a document number matches by its words."""
    return domain.search_words(q, await asyncio.to_thread(search.query_words, q))


def _match(column: ColumnElement[Any], words: str) -> ColumnElement[bool]:
    return column.bool_op("@@")(func.plainto_tsquery(search.SIMPLE, words))


def _newest(query: Select[Any], columns: Any, limit: int) -> Select[Any]:
    return query.order_by(columns.published_at.desc(), columns.document_id.desc()).limit(limit)


def _searched(where: list[ColumnElement[bool]], words: str, limit: int) -> Select[Any]:
    """The newest ``limit`` rows within ``where`` that contain ``words``, with bounded work
    whatever the planner believes about how common the words are.

    1. ``recent``: the newest ``RECENT_WINDOW`` rows within ``where``, in index order, filtered by
       the words above the window's LIMIT (so no estimate of the words shapes this plan); it
       stops as soon as a page is found, so common words cost about page / share rows (934 for
       营商环境 over a million bench documents).
    2. ``older``: only if step 1 found less than a page and the window was full (``edge``, its
       last row, exists): the matches from the GIN index, those older than the window sorted.
       Materialised, so it cannot become a date-ordered walk of the whole table; both gates are
       one-time filters, so when step 1 suffices step 2 is not executed at all.
    Every row of step 1 is newer than every row of step 2, so together they are the answer.
    """
    c = catalogue.c
    window = _newest(select(*_ENTRY_COLUMNS, c.search).where(*where), c, RECENT_WINDOW).subquery("window")
    entry = [window.c[col.name] for col in _ENTRY_COLUMNS]
    recent = _newest(select(*entry).where(_match(window.c.search, words)), window.c, limit).cte("recent")
    recent = recent.prefix_with("MATERIALIZED")
    last = _newest(select(c.published_at, c.document_id).where(*where), c, 1).offset(RECENT_WINDOW - 1)
    edge = last.cte("edge").prefix_with("MATERIALIZED")
    # The edge is applied to the materialised matches, not inside: as an index condition on
    # ix_catalogue_published it would invite a scan of every older row.
    older = select(*_ENTRY_COLUMNS).where(*where, _match(c.search, words)).cte("older")
    older = older.prefix_with("MATERIALIZED")
    found = select(func.count()).select_from(recent).scalar_subquery()
    beyond = (
        tuple_(older.c.published_at, older.c.document_id)
        < select(edge.c.published_at, edge.c.document_id).scalar_subquery()
    )
    rest = _newest(
        select(*[older.c[col.name] for col in _ENTRY_COLUMNS]).where(
            found < limit, exists(edge.select()), beyond
        ),
        older.c,
        limit,
    )
    both = union_all(select(*[recent.c[col.name] for col in _ENTRY_COLUMNS]), rest).subquery("found")
    return _newest(select(*[both.c[col.name] for col in _ENTRY_COLUMNS]), both.c, limit)


async def catalogue_query(f: CatalogueFilter, page: PageParams) -> Select[Any]:
    """One page of published documents matching ``f``, newest first (one row more, to see if more)."""
    where, words = await _conditions(f)
    if words is None:
        return PUBLISHED.apply(select(*_ENTRY_COLUMNS).where(*where), page)
    if (after := PUBLISHED.after(page)) is not None:
        where.append(after)
    return _searched(where, words, page.limit + 1)


async def list_catalogue(ctx: ServiceContext, f: CatalogueFilter, page: PageParams) -> Page[CatalogueEntry]:
    query = await catalogue_query(f, page)
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    return PUBLISHED.page(rows, page, _entry)


async def get_published(ctx: ServiceContext, document_id: str) -> CatalogueDocument:
    async with ctx.db.reader() as session:
        row = (await session.execute(select(catalogue).where(catalogue.c.document_id == document_id))).first()
    if row is None:
        raise domain.unpublished(document_id)
    return CatalogueDocument.of(row, **_names(row))


def _entry(row: Row[Any]) -> CatalogueEntry:
    return CatalogueEntry.of(row, **_names(row))


def _names(row: Row[Any]) -> dict[str, str]:
    """What an entry shows beside the row: its id, and the names of its codes."""
    return {
        "id": row.document_id,
        "issuing_organ_name": IssuingOrgan(row.issuing_organ).label,
        "department_name": reference.department_name(row.department),
        "disclosure_mode_name": DisclosureMode(row.disclosure_mode).label,
        "validity_name": Validity(row.validity).label,
    }


async def atom_feed(ctx: ServiceContext, limit: int) -> bytes:
    """The latest publications as an Atom 1.0 feed (RFC 4287), newest first."""
    async with ctx.db.reader() as session:
        rows = (await session.execute(_newest(select(*_ENTRY_COLUMNS), catalogue.c, limit))).all()
    organisation = disclosure_settings(ctx.settings).organisation_code
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _text(feed, "id", f"urn:xiaoneng:disclosure:{organisation}:latest")
    _text(feed, "title", "政府信息公开 · 最新发布")
    _text(feed, "subtitle", "市政府及市政府办公室文件在门户网站公开的最新记录")
    _text(feed, "updated", local(rows[0].published_at if rows else _EPOCH).isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": "feed.atom"})
    for row in rows:
        entry = _entry(row)
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(item, "id", f"urn:xiaoneng:document:{entry.id}:v{entry.version}")
        _text(item, "title", entry.title)
        _text(item, "published", entry.published_at.isoformat())
        _text(item, "updated", entry.published_at.isoformat())
        ET.SubElement(item, f"{{{ATOM}}}link", {"rel": "alternate", "href": _NOT_XML.sub("", entry.url)})
        author = ET.SubElement(item, f"{{{ATOM}}}author")
        _text(author, "name", entry.issuing_organ_name)
        for word in entry.subject_words:
            ET.SubElement(item, f"{{{ATOM}}}category", {"term": _NOT_XML.sub("", word)})
        summary = (entry.document_number, f"索引号 {entry.index_number}", entry.department_name)
        _text(item, "summary", "　".join((*summary, entry.validity_name)))
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = _NOT_XML.sub("", value)
