"""What the milter does when things go wrong: a stop with mail in flight, a database that
goes away, settings that never loaded. No accepted message may be lost."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from tests import factories
from tests.mailflow.postfix import PrivatePostfix
from tests.mailflow.services import MailServices
from tests.mailflow.test_postfix_milter import HEADER, message, send
from tests.support import Api, PostgresGate, new_account


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@ours.example"


def test_sigterm_tempfails_the_message_in_flight_and_a_retry_is_delivered(
    postfix: PrivatePostfix, mail_services: MailServices
) -> None:
    mail_services.start()
    bob = unique("bob")
    content = message("alice@sender.example", [bob])
    with postfix.smtp() as client:
        client.mail("alice@sender.example")
        assert client.rcpt(bob)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(content.encode())
        mail_services.milter.send_signal(signal.SIGTERM)
        assert mail_services.milter.wait(timeout=30) == 0
        client.send(b"\r\n.\r\n")
        code, reply = client.getreply()
    assert code == 451, reply  # Postfix's milter_default_action: the sender keeps it
    assert postfix.sink.to(bob) == []
    assert postfix.held_for(bob) == []
    mail_services.stop()
    mail_services.start()
    with postfix.smtp() as client:
        code, text = send(client, "alice@sender.example", [bob], content)
    assert code == 250, text
    assert postfix.sink.wait_for(bob).headers(HEADER)


def test_database_outage_keeps_the_last_settings_and_a_cold_start_tempfails(
    postfix: PrivatePostfix, outage_database: str, tmp_path: Path
) -> None:
    database = Database(outage_database)
    account = new_account(database)
    app = create_app(Settings(database_url=outage_database), database=database)
    with TestClient(app) as client:
        api = Api(client, account, account.token)
        api.ok(
            api.post("block_senders", json=factories.blocked_sender(pattern="x@evil.example")), 201
        )
    database.dispose()
    ports = (postfix.milter_port, postfix.policy_port)
    (tmp_path / "warm").mkdir()
    (tmp_path / "cold").mkdir()
    warm = MailServices(outage_database, [account.id], *ports, tmp_path / "warm")
    cold = MailServices(outage_database, [account.id], *ports, tmp_path / "cold")
    gate = PostgresGate(outage_database)

    try:
        warm.start()
        gate.close()
        time.sleep(1.5)  # the version watcher sees its connection killed within 0.5 s
        held, clean = unique("held"), unique("clean")
        with postfix.smtp() as client:
            assert (
                send(client, "b@mailer.example", [held], message("x@evil.example", [held]))[0]
                == 250
            )
            assert (
                send(client, "b@mailer.example", [clean], message("a@fine.example", [clean]))[0]
                == 250
            )
        assert len(postfix.held_for(held)) == 1  # the block still applies
        postfix.sink.wait_for(clean)
        assert "serving version" in warm.milter_log.read_text()
        warm.milter.send_signal(signal.SIGTERM)
        assert warm.milter.wait(timeout=30) == 0

        cold.start(policy=False)  # the warm policy service answers at RCPT
        later = unique("later")
        with postfix.smtp() as client:
            code, reply = send(
                client, "b@mailer.example", [later], message("a@fine.example", [later])
            )
        assert (code, reply[:5]) == (451, "4.3.0"), reply
    finally:
        gate.open()
        warm.stop()
        cold.stop()
        gate.dispose()
