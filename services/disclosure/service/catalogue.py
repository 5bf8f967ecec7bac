"""The public catalogue (D5): list, filter, search and read published documents; the Atom feed.

Only the ``catalogue`` table is read here: it holds each document's latest published version,
so nothing unpublished, exempt or superseded can leak into a public answer.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import ColumnElement, Row, Select, func, select, tuple_

from services.disclosure import domain, search
from services.disclosure.domain import DisclosureMode, IssuingOrgan, Validity
from services.disclosure.schemas import CatalogueDocument, CatalogueEntry, CataloguePage
from services.disclosure.service import common
from services.disclosure.tables import catalogue
from shared.app import ServiceContext
from shared.pagination import PageParams, encode_cursor
from shared.problems import Problem

ATOM = "http://www.w3.org/2005/Atom"
# An empty feed still needs an <updated>; nothing was published before this.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Control characters XML 1.0 cannot hold; stored text may contain them, the feed drops them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

_ENTRY_COLUMNS = [c for c in catalogue.c if c.name not in ("body", "attachments", "search")]


@dataclass(frozen=True)
class CatalogueFilter:
    department: str | None = None
    year: int | None = None
    subject: str | None = None
    validity: Validity | None = None
    mode: DisclosureMode | None = None
    q: str | None = None


async def _conditions(f: CatalogueFilter) -> list[ColumnElement[bool]]:
    c = catalogue.c
    where: list[ColumnElement[bool]] = []
    if f.department is not None:
        common.department(f.department, field="department")
        where.append(c.department == f.department)
    if f.year is not None:
        where.append(c.year == f.year)
    if f.subject is not None:
        where.append(c.subject_words.contains([f.subject.strip()]))
    if f.validity is not None:
        where.append(c.validity == f.validity)
    if f.mode is not None:
        where.append(c.disclosure_mode == f.mode)
    if f.q is not None and f.q.strip():
        where.append(await _matches(f.q))
    return where


async def _matches(q: str) -> ColumnElement[bool]:
    """A document number (or its leading part) matches by its parts; anything else by its words."""
    c = catalogue.c
    number = domain.parse_number_query(q)
    if number is not None:
        condition = c.number_year == number.year
        if number.prefix is not None:
            condition = condition & (c.number_prefix == number.prefix)
        if number.serial is not None:
            condition = condition & (c.number_serial == number.serial)
        return condition
    words = await asyncio.to_thread(search.query_words, q)
    if not words:
        raise Problem(422, f"检索词 {q!r} 不含可检索的字词", kind="empty-query", rule="D5", field="q")
    return c.search.bool_op("@@")(func.plainto_tsquery(search.SIMPLE, " ".join(words)))


def _newest_first(query: Select[Any], page: PageParams) -> Select[Any]:
    c = catalogue.c
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(c.published_at, c.document_id) < tuple_(at, last_id))
    return query.order_by(c.published_at.desc(), c.document_id.desc()).limit(page.limit + 1)


async def catalogue_query(f: CatalogueFilter, page: PageParams) -> Select[Any]:
    """One page of published documents matching ``f``, newest first (one row more, to see if more)."""
    return _newest_first(select(*_ENTRY_COLUMNS).where(*await _conditions(f)), page)


async def list_catalogue(ctx: ServiceContext, f: CatalogueFilter, page: PageParams) -> CataloguePage:
    query = await catalogue_query(f, page)
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return CataloguePage(
        items=[_entry(r) for r in rows],
        next_cursor=(
            encode_cursor([rows[-1].published_at.isoformat(), rows[-1].document_id]) if more else None
        ),
    )


async def get_published(ctx: ServiceContext, document_id: str) -> CatalogueDocument:
    async with ctx.db.reader() as session:
        row = (await session.execute(select(catalogue).where(catalogue.c.document_id == document_id))).first()
    if row is None:
        raise Problem(404, f"文件 {document_id} 不存在或尚未公开", kind="document-not-found", rule="D5")
    return CatalogueDocument(**_entry(row).model_dump(), body=row.body, attachments=row.attachments)


def _entry(row: Row[Any]) -> CatalogueEntry:
    return CatalogueEntry(
        id=row.document_id,
        index_number=row.index_number,
        document_number=row.document_number,
        title=row.title,
        issuing_organ=row.issuing_organ,
        issuing_organ_name=IssuingOrgan(row.issuing_organ).label,
        department=row.department,
        department_name=common.department_name(row.department),
        formed_on=row.formed_on,
        subject_words=row.subject_words,
        disclosure_mode=row.disclosure_mode,
        disclosure_mode_name=DisclosureMode(row.disclosure_mode).label,
        scope=row.scope,
        validity=row.validity,
        validity_name=Validity(row.validity).label,
        version=row.version,
        url=row.url,
        published_at=common.local(row.published_at),
    )


async def atom_feed(ctx: ServiceContext, limit: int) -> bytes:
    """The latest publications as an Atom 1.0 feed (RFC 4287), newest first."""
    query = select(*_ENTRY_COLUMNS).order_by(catalogue.c.published_at.desc(), catalogue.c.document_id.desc())
    async with ctx.db.reader() as session:
        rows = (await session.execute(query.limit(limit))).all()
    organisation = common.settings(ctx).organisation_code
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _text(feed, "id", f"urn:xiaoneng:disclosure:{organisation}:latest")
    _text(feed, "title", "政府信息公开 · 最新发布")
    _text(feed, "subtitle", "市政府及市政府办公室文件在门户网站公开的最新记录")
    _text(feed, "updated", common.local(rows[0].published_at if rows else _EPOCH).isoformat())
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
