"""The per-token rate limit: off by default; when set, 429 in the envelope with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from email_security.kit.ratelimit import TokenBuckets
from tests.support import Account, Api, assert_error, new_account


@pytest.fixture
def limited(database_url: str, database: Database) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, rate_limit_per_second=0.5, rate_limit_burst=3)
    with TestClient(create_app(settings, database=database)) as client:
        yield client


def test_off_by_default(api: Api) -> None:
    for _ in range(60):
        api.ok(api.get("allow_policies"))


def test_burst_then_429_with_retry_after(limited: TestClient, account: Account) -> None:
    api = Api(limited, account, account.token)
    for _ in range(3):
        api.ok(api.get("allow_policies"))
    response = api.get("allow_policies")
    assert_error(response, 429, "Too many requests")
    assert int(response.headers["retry-after"]) >= 1


def test_each_token_has_its_own_bucket(
    limited: TestClient, account: Account, database: Database
) -> None:
    first = Api(limited, account, account.token)
    for _ in range(3):
        first.ok(first.get("allow_policies"))
    assert_error(first.get("allow_policies"), 429)
    reader = Api(limited, account, account.read_token)
    reader.ok(reader.get("allow_policies"))
    other = new_account(database)
    stranger = Api(limited, other, other.token)
    stranger.ok(stranger.get("allow_policies"))


def test_refused_credentials_do_not_spend_the_bucket(limited: TestClient, account: Account) -> None:
    api = Api(limited, account, account.token)
    for _ in range(5):
        assert_error(api.with_token("ess_wrong").get("allow_policies"), 401)
    api.ok(api.get("allow_policies"))


class TestTokenBuckets:
    def test_refills_at_the_rate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        now = [1000.0]
        monkeypatch.setattr("email_security.kit.ratelimit.time.monotonic", lambda: now[0])
        buckets = TokenBuckets(rate=2.0, burst=2)
        assert [buckets.take("k") for _ in range(3)] == [0, 0, 1]
        now[0] += 0.5  # one token back
        assert buckets.take("k") == 0
        assert buckets.take("k") == 1

    @pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (1, 0)])
    def test_refuses_nonsense(self, rate: float, burst: int) -> None:
        with pytest.raises(ValueError, match="rate"):
            TokenBuckets(rate, burst)
