"""The mail services sweep expired entries too: a milter or a policy service running alone
(no API server beside it) deletes what has expired, recorded as the sweeper's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.mailflow.postfix import PrivatePostfix
from tests.mailflow.services import MailServices
from tests.support import Account, Api
from tests.test_audit_log import records
from tests.test_expiry import instant


@pytest.mark.parametrize("service", ["milter", "policy"])
def test_a_mail_service_alone_sweeps_expired_entries(
    postfix: PrivatePostfix,
    database_url: str,
    account: Account,
    api: Api,
    tmp_path: Path,
    service: str,
) -> None:
    body = {"pattern": "gone.example", "pattern_type": "DOMAIN", "is_regex": False}
    expiring = api.ok(api.post("block_senders", json={**body, "expires_at": instant(0.5)}), 201)
    services = MailServices(
        database_url,
        [account.id],
        postfix.milter_port,
        postfix.policy_port,
        tmp_path,
        env={"EMAIL_SECURITY_EXPIRY_SWEEP_SECONDS": "0.2"},
    )
    services.start(milter=service == "milter", policy=service == "policy")
    try:
        deadline = time.monotonic() + 30
        while api.get(f"block_senders/{expiring['id']}").status_code != 404:
            assert time.monotonic() < deadline, services.logs()
            time.sleep(0.1)
    finally:
        assert services.stop() == [0]
    # This service swept it (not the test's API app, whose sweeper waits a minute).
    assert "expiry sweep: 1 expired entries deleted" in services.logs()
    (deletion,) = records(api, entry_id=expiring["id"], action="delete")
    assert deletion["actor"] == {"token_id": None, "kind": "expiry"}
