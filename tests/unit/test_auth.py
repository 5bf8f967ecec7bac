"""Bearer token verification: roles, department, expiry, audience."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.auth import TokenVerifier, issue_token
from shared.problems import Problem
from shared.settings import CommonSettings


def settings(**kw: object) -> CommonSettings:
    values: dict[str, object] = {"jwt_secret": "unit-test-secret-0123456789abcdef0123"}
    values.update(kw)
    return CommonSettings(environment="test", **values)  # type: ignore[arg-type]


def test_issued_token_carries_client_roles_and_department() -> None:
    s = settings()
    principal = TokenVerifier(s).verify(
        issue_token(s, client_id="c1", roles=["department"], department="fgw")
    )
    assert principal.client_id == "c1"
    assert principal.department == "fgw"
    assert principal.has_any("department")
    assert not principal.has_any("office")


def test_expired_token_is_refused_with_www_authenticate() -> None:
    s = settings()
    token = jwt.encode(
        {"sub": "c", "iss": s.jwt_issuer, "aud": s.jwt_audience, "iat": 1, "exp": int(time.time()) - 10},
        s.jwt_secret,
        algorithm="HS256",
    )
    with pytest.raises(Problem) as err:
        TokenVerifier(s).verify(token)
    assert err.value.status == 401
    assert "过期" in err.value.detail
    assert err.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_for_another_audience_or_secret_is_refused() -> None:
    s = settings()
    other = settings(jwt_audience="someone-else")
    with pytest.raises(Problem):
        TokenVerifier(s).verify(issue_token(other, client_id="c", roles=[]))
    forged = settings(jwt_secret="another-secret-that-is-long-enough-0123")
    with pytest.raises(Problem):
        TokenVerifier(s).verify(issue_token(forged, client_id="c", roles=["admin"]))


def test_a_verified_token_is_not_accepted_after_it_expires() -> None:
    s = settings()
    verifier = TokenVerifier(s)
    token = issue_token(s, client_id="c1", roles=["office"], ttl_seconds=1)
    assert verifier.verify(token).client_id == "c1"
    assert verifier.verify(token).client_id == "c1"  # the second answer comes from the cache
    time.sleep(2.1)  # past its exp (whole seconds): the cached verdict must not outlive it
    with pytest.raises(Problem) as err:
        verifier.verify(token)
    assert err.value.status == 401 and "过期" in err.value.detail


def test_a_refused_token_stays_refused() -> None:
    s = settings()
    verifier = TokenVerifier(s)
    forged = issue_token(
        settings(jwt_secret="another-secret-that-is-long-enough-0123"), client_id="c", roles=[]
    )
    for _ in range(2):
        with pytest.raises(Problem):
            verifier.verify(forged)


@pytest.mark.parametrize("environment", ["test", "production"])
def test_default_secret_is_refused_outside_dev(environment: str) -> None:
    with pytest.raises(ValueError, match="XN_JWT_SECRET"):
        CommonSettings(environment=environment)  # type: ignore[arg-type]
    CommonSettings(environment=environment, jwt_secret="x" * 40)  # type: ignore[arg-type]
    CommonSettings(environment="dev")
