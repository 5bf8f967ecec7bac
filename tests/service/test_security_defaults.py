"""Issue 15, defaults: settings left at their defaults trust no published secret."""

from __future__ import annotations

import time

import jwt
import pytest
from pydantic import ValidationError

from shared.auth import issue_token
from shared.settings import DEV_JWT_SECRET, CommonSettings
from tests.support.apps import running, service_app
from tests.support.infra import PostgresSource


def _signed_with_the_published_secret() -> str:
    now = int(time.time())
    claims = {"sub": "intruder", "client_id": "intruder", "roles": ["admin"], "iat": now, "exp": now + 600}
    return jwt.encode({**claims, "iss": "xiaoneng", "aud": "xiaoneng-api"}, DEV_JWT_SECRET, algorithm="HS256")


async def test_point_01_default_settings_refuse_tokens_signed_with_the_published_secret(
    postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("XN_ENVIRONMENT", "XN_JWT_SECRET", "XN_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    common = CommonSettings(log_json=False)  # dev, no secret given
    app = service_app("disclosure", await postgres.new_database(), common)
    async with running(app) as client:
        forged = await client.get(
            "/v1/documents", headers={"Authorization": f"Bearer {_signed_with_the_published_secret()}"}
        )
        assert forged.status_code == 401, forged.text
        assert forged.headers["content-type"].startswith("application/problem+json")
        own = issue_token(common, client_id="office", roles=["office"])
        assert (
            await client.get("/v1/documents", headers={"Authorization": f"Bearer {own}"})
        ).status_code == 200

    # Given on purpose it is refused too, in every environment.
    for environment in ("dev", "test", "production"):
        with pytest.raises(ValidationError, match="published development value"):
            CommonSettings(environment=environment, jwt_secret=DEV_JWT_SECRET)  # type: ignore[arg-type]
    # Outside dev a secret must be given: none is made up where processes must agree on it.
    with pytest.raises(ValidationError, match="XN_JWT_SECRET is not set"):
        CommonSettings(environment="test")
