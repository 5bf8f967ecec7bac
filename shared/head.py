"""``HEAD`` wherever ``GET`` is: every app answers a HEAD as the GET it stands for, without the body.

RFC 9110 §9.3.2: the same status and headers as GET (``Content-Length`` included), no content.
FastAPI routes declare GET only, so without this a HEAD got 405 (``HEAD /docs`` on the gateway).
Outermost, so everything inside (the gateway's guard and proxy included) sees a GET.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
