"""Disclosure use cases: commands on documents, internal reads, the public catalogue, statistics."""

from services.disclosure.service.catalogue import CatalogueFilter, atom_feed, get_published, list_catalogue
from services.disclosure.service.documents import (
    change_document,
    decide_exemption,
    publish_version,
    register_document,
)
from services.disclosure.service.recompute import recompute_deadlines
from services.disclosure.service.statistics import XLSX_MEDIA_TYPE, statistics, to_csv, to_xlsx
from services.disclosure.service.views import etag, get_document, list_documents

__all__ = [
    "XLSX_MEDIA_TYPE",
    "CatalogueFilter",
    "atom_feed",
    "change_document",
    "decide_exemption",
    "etag",
    "get_document",
    "get_published",
    "list_catalogue",
    "list_documents",
    "publish_version",
    "recompute_deadlines",
    "register_document",
    "statistics",
    "to_csv",
    "to_xlsx",
]
