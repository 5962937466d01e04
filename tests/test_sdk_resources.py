"""The official `cloudflare` SDK, unchanged, on the five other resource groups: every method.

(Allow policies have their own module, test_sdk_allow_policies.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cloudflare
import pytest
from cloudflare import Cloudflare

from tests.support import Account, LiveServer, new_account


@pytest.fixture
def sdk_account(live_server: LiveServer) -> Account:
    return new_account(live_server.database)


@pytest.fixture
def sdk(live_server: LiveServer, sdk_account: Account) -> Iterator[Cloudflare]:
    client = Cloudflare(
        api_token=sdk_account.token, base_url=f"{live_server.base_url}/client/v4", max_retries=0
    )
    yield client
    client.close()


def test_block_senders(sdk: Cloudflare, sdk_account: Account) -> None:
    senders = sdk.email_security.settings.block_senders
    account = sdk_account.id
    created = senders.create(
        account_id=account, is_regex=False, pattern="spam@evil.example", pattern_type="EMAIL"
    )
    assert created is not None
    assert created.pattern == "spam@evil.example"
    fetched = senders.get(created.id or "", account_id=account)
    assert fetched is not None
    assert fetched.pattern_type == "EMAIL"
    edited = senders.edit(created.id or "", account_id=account, comments="phishing")
    assert edited is not None
    assert edited.comments == "phishing"
    result = senders.batch(
        account_id=account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[
            {"pattern": f"203.0.113.{i}", "pattern_type": "IP", "is_regex": False}
            for i in range(1, 13)
        ],
    )
    assert result is not None
    assert len(result.posts or []) == 12
    listed = list(senders.list(account_id=account, per_page=5, pattern_type="IP"))
    assert len(listed) == 12
    assert [entry.pattern for entry in senders.list(account_id=account, search="EVIL")] == [
        "spam@evil.example"
    ]
    deleted = senders.delete(created.id or "", account_id=account)
    assert deleted is not None
    assert deleted.id == created.id


def test_trusted_domains(sdk: Cloudflare, sdk_account: Account) -> None:
    trusted = sdk.email_security.settings.trusted_domains
    account = sdk_account.id
    created = trusted.create(
        account_id=account,
        is_recent=True,
        is_regex=False,
        is_similarity=False,
        pattern="Partner.Example",
    )
    assert created is not None
    assert created.pattern == "partner.example"
    fetched = trusted.get(created.id or "", account_id=account)
    assert fetched is not None
    assert (fetched.id, fetched.pattern) == (created.id, created.pattern)
    edited = trusted.edit(created.id or "", account_id=account, is_similarity=True)
    assert edited is not None
    assert edited.is_similarity is True
    result = trusted.batch(
        account_id=account,
        deletes=[],
        patches=[{"id": created.id, "comments": "lookalike partner"}],  # type: ignore[typeddict-unknown-key]
        puts=[],
        posts=[
            {
                "pattern": r".*\.partner\.example",
                "is_regex": True,
                "is_recent": False,
                "is_similarity": True,
            }
        ],
    )
    assert result is not None
    assert [entry.comments for entry in result.patches or []] == ["lookalike partner"]
    similar = list(trusted.list(account_id=account, is_similarity=True, order="pattern"))
    assert [entry.pattern for entry in similar] == [r".*\.partner\.example", "partner.example"]
    deleted = trusted.delete(created.id or "", account_id=account)
    assert deleted is not None
    assert deleted.id == created.id


def test_impersonation_registry(sdk: Cloudflare, sdk_account: Account) -> None:
    registry = sdk.email_security.settings.impersonation_registry
    account = sdk_account.id
    created = registry.create(
        account_id=account, email="ceo@ours.example", is_email_regex=False, name="Ann Lee"
    )
    assert created is not None
    assert created.provenance == "A1S_INTERNAL"
    fetched = registry.get(created.id or "", account_id=account)
    assert fetched is not None
    assert fetched.name == "Ann Lee"
    edited = registry.edit(created.id or "", account_id=account, email="ann.lee@ours.example")
    assert edited is not None
    assert edited.email == "ann.lee@ours.example"
    listed = list(registry.list(account_id=account, provenance="A1S_INTERNAL", search="ann"))
    assert [entry.id for entry in listed] == [created.id]
    deleted = registry.delete(created.id or "", account_id=account)
    assert deleted is not None
    assert deleted.id == created.id


def test_sending_domain_restrictions(sdk: Cloudflare, sdk_account: Account) -> None:
    restrictions = sdk.email_security.settings.sending_domain_restrictions
    account = sdk_account.id
    created = restrictions.create(
        account_id=account, domain="bank.example", exclude=["legacy.bank.example"]
    )
    assert created is not None
    assert created.exclude == ["legacy.bank.example"]
    fetched = restrictions.get(created.id or "", account_id=account)
    assert fetched is not None
    assert fetched.domain == "bank.example"
    edited = restrictions.edit(created.id or "", account_id=account, exclude=[])
    assert edited is not None
    assert edited.exclude == []
    listed = list(restrictions.list(account_id=account, order="domain", direction="desc"))
    assert [entry.id for entry in listed] == [created.id]
    deleted = restrictions.delete(created.id or "", account_id=account)
    assert deleted is not None
    assert deleted.id == created.id


def domain_body(name: str) -> dict[str, Any]:
    return {
        "domain": name,
        "allowed_delivery_modes": ["DIRECT"],
        "drop_dispositions": ["MALICIOUS", "SPAM"],
        "ip_restrictions": [],
        "regions": ["GLOBAL"],
    }


def test_domains(sdk: Cloudflare, sdk_account: Account) -> None:
    domains = sdk.email_security.settings.domains
    account = sdk_account.id
    created = domains.create(account_id=account, lookback_hops=2, **domain_body("ours.example"))
    assert created is not None
    assert created.lookback_hops == 2
    assert created.status == "ACTIVE"
    fetched = domains.get(created.id or "", account_id=account)
    assert fetched is not None
    assert fetched.domain == "ours.example"
    edited = domains.edit(created.id or "", account_id=account, require_tls_inbound=True)
    assert edited is not None
    assert edited.require_tls_inbound is True
    replaced = domains.update(
        created.id or "",
        account_id=account,
        allowed_delivery_modes=["BCC"],
        drop_dispositions=[],
        ip_restrictions=["198.51.100.0/24"],
        regions=["US"],
    )
    assert replaced is not None
    assert (replaced.allowed_delivery_modes, replaced.require_tls_inbound) == (["BCC"], False)
    result = domains.batch(
        account_id=account,
        deletes=[],
        patches=[],
        puts=[],
        posts=[domain_body(f"d{i}.example") for i in range(3)],  # type: ignore[misc]
    )
    assert result is not None
    assert [entry.domain for entry in result.posts] == ["d0.example", "d1.example", "d2.example"]
    bcc = list(domains.list(account_id=account, allowed_delivery_mode="BCC"))
    assert [entry.id for entry in bcc] == [created.id]
    picked = list(domains.list(account_id=account, domain=["d1.example", "d2.example"]))
    assert sorted(entry.domain or "" for entry in picked) == ["d1.example", "d2.example"]
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(cloudflare.BadRequestError),
    ):
        domains.bulk_delete(account_id=account)  # the SDK sends no body: nothing to delete
    with pytest.warns(DeprecationWarning, match="deprecated"):
        unprotected = domains.bulk_delete(
            account_id=account,
            extra_body=[{"id": entry.id} for entry in picked],  # type: ignore[arg-type]
        )
    assert sorted(entry.id for entry in unprotected) == sorted(entry.id for entry in picked)
    deleted = domains.delete(created.id or "", account_id=account)
    assert deleted is not None
    assert deleted.id == created.id
    assert [entry.domain for entry in domains.list(account_id=account)] == ["d0.example"]
    with pytest.raises(cloudflare.ConflictError):
        domains.create(account_id=account, **domain_body("D0.example"))
