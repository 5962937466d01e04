"""Hits counted by the real mail services: the milter for every message it acts on through
Postfix, the policy service for its answers at RCPT (once per message, by the `instance`
Postfix sends), written every EMAIL_SECURITY_HIT_FLUSH_SECONDS, on SIGTERM, and again after
a failed write."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from tests import factories
from tests.mailflow.postfix import PrivatePostfix
from tests.mailflow.services import MailServices
from tests.mailflow.test_policy_protocol import answer, request
from tests.mailflow.test_postfix_milter import message, send
from tests.support import Account, Api, PostgresGate, new_account

SHORT = 0.1  # seconds between writes
LONG = 3600.0  # none within a test: only the one on SIGTERM
DEADLINE = 30.0
FRIEND = "friend@partner.example"  # a trusted sender: delivered, and a hit each time
Services = Callable[..., MailServices]


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@ours.example"


def counting_services(
    postfix: PrivatePostfix,
    database_url: str,
    account_id: str,
    folder: Path,
    flush_seconds: float,
    count_hits: str = "refused",
) -> MailServices:
    """Mail services writing hits every `flush_seconds`; by default paired as documented
    (the policy service counts only its refusals). Not started."""
    folder.mkdir(exist_ok=True)
    return MailServices(
        database_url,
        [account_id],
        postfix.milter_port,
        postfix.policy_port,
        folder,
        env={"EMAIL_SECURITY_HIT_FLUSH_SECONDS": str(flush_seconds)},
        count_hits=count_hits,
    )


@pytest.fixture
def services(
    postfix: PrivatePostfix, database_url: str, account: Account, tmp_path: Path
) -> Iterator[Services]:
    """`counting_services` for the test's account, stopped afterwards (each exit code 0)."""
    made: list[MailServices] = []

    def make(flush_seconds: float, count_hits: str = "refused") -> MailServices:
        folder = tmp_path / f"services-{len(made)}"
        made.append(
            counting_services(postfix, database_url, account.id, folder, flush_seconds, count_hits)
        )
        return made[-1]

    yield make
    for services in made:
        codes = services.stop()
        assert all(code == 0 for code in codes), f"exit codes {codes}: {services.logs()}"


def add(api: Api, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    return api.ok(api.post(resource, json=body), 201)  # type: ignore[no-any-return]


def hits(api: Api, resource: str, entry: dict[str, Any]) -> int:
    return int(api.ok(api.get(f"{resource}/{entry['id']}"))["hit_count"])


def wait_for_hits(api: Api, resource: str, entry: dict[str, Any], count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while (found := hits(api, resource, entry)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found == count


def trusted_friend(api: Api) -> dict[str, Any]:
    return add(api, "allow_policies", factories.allow_policy(pattern=FRIEND, verify_sender=False))


def test_the_milter_counts_each_entry_once_per_message_it_applies(
    postfix: PrivatePostfix, services: Services, api: Api
) -> None:
    friend = trusted_friend(api)
    services(SHORT).start()
    bob, carol = unique("bob"), unique("carol")
    with postfix.smtp() as client:
        code, reply = send(client, "bounces@mailer.example", [bob, carol], message(FRIEND, [bob]))
    assert code == 250, reply
    assert postfix.sink.wait_for(bob)
    wait_for_hits(api, "allow_policies", friend, 1)

    def one_session(_: int) -> None:
        with postfix.smtp() as client:
            for _ in range(3):
                rcpt = unique("many")
                assert send(client, "b@mailer.example", [rcpt], message(FRIEND, [rcpt]))[0] == 250

    with ThreadPoolExecutor(4) as pool:  # the milter counts from a thread per MTA connection
        list(pool.map(one_session, range(4)))
    wait_for_hits(api, "allow_policies", friend, 1 + 4 * 3)


def test_paired_services_count_each_message_once_and_write_on_sigterm(
    postfix: PrivatePostfix, services: Services, api: Api
) -> None:
    """A refusal at RCPT is the policy service's hit (the milter never sees it); a message
    both judge is the milter's alone. Nothing is written before the SIGTERM."""
    restriction = factories.sending_domain_restriction(domain="partner.example", exclude=[])
    restricted = add(api, "sending_domain_restrictions", restriction)
    blocked = add(api, "block_senders", factories.blocked_sender(pattern="spam@bulk.example"))
    mail = services(LONG).start()
    refused, held = unique("refused"), unique("held")
    with postfix.smtp() as client:
        client.mail("billing@partner.example")
        code, reply = client.rcpt(refused)
        assert (code // 100, b"5.7.1" in reply) == (5, True), reply
        client.rset()
        code, reply = send(client, "spam@bulk.example", [held], message("n@fine.example", [held]))
    assert code == 250, reply
    assert len(postfix.held_for(held)) == 1
    assert (
        hits(api, "sending_domain_restrictions", restricted),
        hits(api, "block_senders", blocked),
    ) == (0, 0)
    assert mail.stop() == [0, 0]
    assert hits(api, "sending_domain_restrictions", restricted) == 1
    assert hits(api, "block_senders", blocked) == 1


def test_the_policy_service_counts_once_per_message_by_postfix_instance(
    postfix: PrivatePostfix, services: Services, api: Api
) -> None:
    """Counting every answer: the recipients of one transaction are one message. (The
    milter runs, as Postfix needs it, but no DATA reaches it.)"""
    blocked = add(api, "block_senders", factories.blocked_sender(pattern="spam@bulk.example"))
    mail = services(LONG, count_hits="all").start()
    with postfix.smtp() as client:
        for _ in range(2):
            client.mail("spam@bulk.example")
            for name in ("a", "b", "c"):
                assert client.rcpt(unique(name))[0] == 250  # HOLD is an accept
            client.rset()  # no DATA: the policy service answered at RCPT
    assert mail.stop() == [0, 0]
    assert hits(api, "block_senders", blocked) == 2


def test_the_policy_protocol_instance_and_its_absence(
    services: Services, postfix: PrivatePostfix, api: Api
) -> None:
    blocked = add(api, "block_senders", factories.blocked_sender(pattern="spam@bulk.example"))
    friend = trusted_friend(api)
    mail = services(LONG, count_hits="all").start(milter=False)
    spam = {"sender": "spam@bulk.example"}
    with socket.create_connection(("127.0.0.1", postfix.policy_port), timeout=10) as connection:
        for instance, recipient in (("1.a", "x"), ("1.a", "y"), ("1.b", "x")):
            attributes = {**spam, "instance": instance, "recipient": f"{recipient}@ours.example"}
            assert answer(connection, request(**attributes)).startswith("action=HOLD")
        for _ in range(2):  # without an instance, every request is a message
            assert answer(connection, request(**spam)).startswith("action=HOLD")
        dunno = answer(connection, request(sender=FRIEND, instance="2.a"))
        assert dunno == "action=DUNNO\n\n"
    assert mail.stop() == [0]
    assert hits(api, "block_senders", blocked) == 2 + 2
    assert hits(api, "allow_policies", friend) == 1


def test_nothing_is_counted_with_counting_off(
    postfix: PrivatePostfix, services: Services, api: Api
) -> None:
    friend = trusted_friend(api)
    mail = services(0, count_hits="all").start()
    bob = unique("bob")
    with postfix.smtp() as client:
        assert send(client, "b@mailer.example", [bob], message(FRIEND, [bob]))[0] == 250
    assert postfix.sink.wait_for(bob)
    assert mail.stop() == [0, 0]
    assert hits(api, "allow_policies", friend) == 0


def wait_for_line(log: Path, fragment: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while fragment not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {fragment!r} in {log}"
        time.sleep(0.05)


def test_a_failed_write_keeps_the_hits_for_the_next(
    postfix: PrivatePostfix, outage_database: str, tmp_path: Path
) -> None:
    database = Database(outage_database)
    account = new_account(database)
    app = create_app(Settings(database_url=outage_database), database=database)
    gate = PostgresGate(outage_database)

    mail = counting_services(postfix, outage_database, account.id, tmp_path, SHORT)
    try:
        with TestClient(app) as client:
            api = Api(client, account, account.token)
            friend = trusted_friend(api)
            mail.start()
            gate.close()
            bob = unique("bob")
            with postfix.smtp() as smtp:
                assert send(smtp, "b@mailer.example", [bob], message(FRIEND, [bob]))[0] == 250
            assert postfix.sink.wait_for(bob)  # the last settings still apply
            wait_for_line(mail.milter_log, "entries are kept for the next flush")
            gate.open()
            wait_for_hits(api, "allow_policies", friend, 1)
    finally:
        gate.open()
        codes = mail.stop()
        gate.dispose()
        database.dispose()
    assert codes == [0, 0], mail.logs()
