"""The official `cloudflare` SDK, unchanged, against a live server: every allow-policy method."""

from __future__ import annotations

from collections.abc import Iterator

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


def test_create_get_edit_delete(sdk: Cloudflare, sdk_account: Account) -> None:
    policies = sdk.email_security.settings.allow_policies
    created = policies.create(
        account_id=sdk_account.id,
        is_acceptable_sender=False,
        is_exempt_recipient=False,
        is_regex=False,
        is_trusted_sender=True,
        pattern="partner.example",
        pattern_type="DOMAIN",
        verify_sender=True,
        comments="partner",
    )
    assert created is not None
    assert created.pattern == "partner.example"
    assert created.is_trusted_sender is True
    assert created.created_at is not None

    fetched = policies.get(created.id, account_id=sdk_account.id)
    assert fetched is not None
    assert fetched.id == created.id

    edited = policies.edit(
        created.id, account_id=sdk_account.id, comments=None, verify_sender=False
    )
    assert edited is not None
    assert edited.comments is None
    assert edited.verify_sender is False
    assert edited.pattern == "partner.example"

    deleted = policies.delete(created.id, account_id=sdk_account.id)
    assert deleted is not None
    assert deleted.id == created.id
    with pytest.raises(cloudflare.NotFoundError):
        policies.get(created.id, account_id=sdk_account.id)


def test_list_auto_paginates_over_several_pages(sdk: Cloudflare, sdk_account: Account) -> None:
    policies = sdk.email_security.settings.allow_policies
    posts = [
        {
            "pattern": f"user{i:02d}@example.com",
            "pattern_type": "EMAIL",
            "is_regex": False,
            "is_acceptable_sender": True,
            "is_exempt_recipient": False,
            "is_trusted_sender": False,
            "verify_sender": True,
        }
        for i in range(25)
    ]
    policies.batch(account_id=sdk_account.id, deletes=[], patches=[], puts=[], posts=posts)
    page = policies.list(account_id=sdk_account.id, per_page=10, order="pattern", direction="asc")
    assert len(page.result) == 10
    patterns = [policy.pattern for policy in page]  # iterating fetches pages 2, 3 and 4 (empty)
    assert patterns == [f"user{i:02d}@example.com" for i in range(25)]
    filtered = list(policies.list(account_id=sdk_account.id, pattern_type="IP"))
    assert filtered == []
    searched = list(policies.list(account_id=sdk_account.id, search="USER1"))
    assert len(searched) == 10


def test_batch(sdk: Cloudflare, sdk_account: Account) -> None:
    policies = sdk.email_security.settings.allow_policies
    first = policies.create(
        account_id=sdk_account.id,
        is_acceptable_sender=False,
        is_exempt_recipient=True,
        is_regex=False,
        is_trusted_sender=False,
        pattern="reports@example.com",
        pattern_type="EMAIL",
        verify_sender=False,
    )
    second = policies.create(
        account_id=sdk_account.id,
        is_acceptable_sender=True,
        is_exempt_recipient=False,
        is_regex=True,
        is_trusted_sender=False,
        pattern=r".*@news\.example\.com",
        pattern_type="EMAIL",
        verify_sender=True,
    )
    assert first is not None
    assert second is not None
    result = policies.batch(
        account_id=sdk_account.id,
        deletes=[{"id": first.id}],
        patches=[{"id": second.id, "comments": "newsletters"}],  # type: ignore[typeddict-unknown-key]
        puts=[],
        posts=[
            {
                "pattern": "8.8.8.8",
                "pattern_type": "IP",
                "is_regex": False,
                "is_acceptable_sender": False,
                "is_exempt_recipient": False,
                "is_trusted_sender": True,
                "verify_sender": False,
            }
        ],
    )
    assert result is not None
    assert [d.id for d in result.deletes or []] == [first.id]
    assert [p.comments for p in result.patches or []] == ["newsletters"]
    assert [p.pattern for p in result.posts or []] == ["8.8.8.8"]


def test_errors_raise_the_sdks_exceptions(sdk: Cloudflare, sdk_account: Account) -> None:
    policies = sdk.email_security.settings.allow_policies
    with pytest.raises(cloudflare.BadRequestError) as caught:
        policies.create(
            account_id=sdk_account.id,
            is_acceptable_sender=False,
            is_exempt_recipient=False,
            is_regex=False,
            is_trusted_sender=True,
            pattern="10.0.0.1",
            pattern_type="IP",
            verify_sender=False,
        )
    assert "globally routable" in str(caught.value)
    with pytest.raises(cloudflare.PermissionDeniedError):
        list(policies.list(account_id="someone-else"))
