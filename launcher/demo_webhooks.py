"""Demo data for the gateway's webhooks: one endpoint of ``demo-admin`` pointing nowhere (a
``.invalid`` host, RFC 6761), disabled at once, to show the endpoint API without deliveries; seeded
only while the demo administrator has no endpoint."""

from __future__ import annotations

import httpx

from launcher.demo_api import send, token

API = "/api/v1/webhooks/endpoints"
ENDPOINT = {
    "url": "https://hooks.huzhou.invalid/xiaoneng",
    "description": "演示：市门户网站文件公开同步（地址不存在，已停用）",
    "event_types": ["gov.efficiency.document-published.v1"],
}


async def seed(http: httpx.AsyncClient) -> None:
    admin = await token(http, "demo-admin")
    if (await http.get(API, params={"limit": 1}, headers=admin)).json()["items"]:
        return
    created = await send(http, "POST", API, admin, ENDPOINT)
    if created is not None:
        await send(http, "PATCH", f"{API}/{created['id']}", admin, {"enabled": False})
