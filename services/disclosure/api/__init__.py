"""Disclosure HTTP routes: documents (drafting departments, leaders, the office), the public
catalogue (no token, D5) and statistics."""

from services.disclosure.api import annual_reports, catalogue, documents, inquiries, requests, statistics

ROUTERS = (
    documents.router,
    catalogue.router,
    statistics.router,
    requests.public,
    requests.router,
    annual_reports.router,
    inquiries.public,
    inquiries.router,
)

__all__ = ["ROUTERS"]
