"""PostgreSQL restarted under the services: a clean 503 while it is down, service again after.

While the database server is down every request that needs it gets ``503``
``application/problem+json`` with ``Retry-After`` within a sane time (never a 500, never a hang),
and ``/readyz`` reports the database check failing. Once the server is back the same processes
serve again with no manual step, and their relays and consumers have survived: the events of
writes made after the outage still reach the evaluation service.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.clusters import fact_counts
from tests.support.resilience import ResilientCluster, document, documents_of, is_problem
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "rsj"
PREFIX = "湖政库发"
# Nothing a client waits for while the database is down may take longer than this.
SANE_SECONDS = 15.0


def test_database_restart_gives_503_problem_while_down_and_serves_again_after(
    cluster: ResilientCluster, http: httpx.Client, office: dict[str, str]
) -> None:
    r = http.post("/api/v1/disclosure/documents", json=document(PREFIX, 1, DEPARTMENT), headers=office)
    assert r.status_code == 201, r.text
    acknowledged = [r.json()["id"]]

    cluster.postgres.stop("fast")
    try:
        with httpx.Client(base_url=cluster.gateway, timeout=SANE_SECONDS) as impatient:
            write = impatient.post(
                "/api/v1/disclosure/documents", json=document(PREFIX, 2, DEPARTMENT), headers=office
            )
            read = impatient.get(f"/api/v1/disclosure/documents/{acknowledged[0]}", headers=office)
            listing = impatient.get(f"/api/v1/evaluation/departments/{DEPARTMENT}/facts", headers=office)
            keyed = impatient.post(
                "/api/v1/disclosure/documents",
                json=document(PREFIX, 3, DEPARTMENT),
                headers={**office, "Idempotency-Key": "resilience-db-down"},
            )
            for response in (write, read, listing, keyed):
                assert is_problem(response, 503), (response.request.url, response.status_code, response.text)
                assert response.json()["status"] == 503
                assert response.headers.get("retry-after", "").isdigit(), response.headers
            for name in ("disclosure", "evaluation", "gateway"):
                ready = impatient.get(f"{cluster[name].url}/readyz")
                assert ready.status_code == 503, (name, ready.text)
                assert ready.json()["status"] == "not-ready"
                assert ready.json()["checks"]["database"].startswith("failed"), (name, ready.text)
        for name, process in cluster.processes.items():
            assert process.exited(timeout=0) is None, f"{name} died while the database was down"
    finally:
        cluster.postgres.start(timeout=60)

    def written_again() -> str | None:
        r = http.post("/api/v1/disclosure/documents", json=document(PREFIX, 4, DEPARTMENT), headers=office)
        if r.status_code == 201:
            return str(r.json()["id"])
        assert is_problem(r, 503), (r.status_code, r.text)
        time.sleep(0.5)
        return None

    acknowledged.append(wait_for(written_again, timeout=60, what="a write accepted after the restart"))
    for serial in (5, 6):
        r = http.post(
            "/api/v1/disclosure/documents", json=document(PREFIX, serial, DEPARTMENT), headers=office
        )
        assert r.status_code == 201, r.text
        acknowledged.append(r.json()["id"])

    listed = {d["id"] for d in documents_of(http, office, DEPARTMENT)}
    assert listed == set(acknowledged), "exactly the acknowledged writes exist"
    wait_for(
        lambda: fact_counts(http, office, DEPARTMENT).get("document-formed") == len(acknowledged),
        timeout=60,
        what=f"{len(acknowledged)} document-formed facts for {DEPARTMENT} (relay and consumers resumed)",
    )
    for name in ("disclosure", "evaluation", "gateway"):
        assert httpx.get(f"{cluster[name].url}/readyz", timeout=10).status_code == 200, name
