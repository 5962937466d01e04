"""The milter's and the policy service's own /metrics (`--metrics-port`): the messages
each answered through the real Postfix, by action."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import factories
from tests.mailflow.postfix import PrivatePostfix
from tests.mailflow.services import MailServices
from tests.mailflow.test_postfix_milter import message, send
from tests.server_process import CLI, free_port
from tests.support import Account, Api

NAME = "email_security_mail_messages_total"


@pytest.fixture
def services(
    postfix: PrivatePostfix, database_url: str, account: Account, tmp_path: Path
) -> Iterator[MailServices]:
    services = MailServices(
        database_url,
        [account.id],
        postfix.milter_port,
        postfix.policy_port,
        tmp_path,
        metrics=True,
    )
    yield services
    codes = services.stop()
    assert all(code == 0 for code in codes), f"exit codes {codes}: {services.logs()}"


def messages_by_action(port: int) -> dict[tuple[str, str], float]:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    return {
        (sample.labels["service"], sample.labels["action"]): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == NAME
    }


def test_the_mail_services_count_their_messages_by_action(
    postfix: PrivatePostfix, services: MailServices, api: Api
) -> None:
    api.ok(
        api.post("block_senders", json=factories.blocked_sender(pattern="boss@evil.example")), 201
    )
    services.start()
    tag = api.account.id[:10]
    clean, held = f"clean.{tag}@ours.example", f"held.{tag}@ours.example"
    try:
        with postfix.smtp() as client:
            for recipient, header_from in (
                (clean, "alice@sender.example"),
                (held, "boss@evil.example"),
            ):
                code, reply = send(
                    client, "bounces@mailer.example", [recipient], message(header_from, [recipient])
                )
                assert code == 250, reply
        postfix.sink.wait_for(clean)
        assert len(postfix.held_for(held)) == 1
        assert messages_by_action(services.metrics_ports["milter"]) == {
            ("milter", "accept"): 1,
            ("milter", "quarantine"): 1,
        }
        assert messages_by_action(services.metrics_ports["policy"]) == {("policy", "dunno"): 2}
    except BaseException:
        print(services.logs(), postfix.log()[-5000:])  # noqa: T201 (shown on failure)
        raise


@pytest.mark.parametrize("command", ["milter", "policy"])
def test_a_metrics_port_in_use_is_one_line(
    command: str, postfix: PrivatePostfix, database_url: str, account: Account
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
    env["EMAIL_SECURITY_DATABASE_URL"] = database_url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, command, "--account", account.id, "--metrics-port", str(port)]
            + ["--listen", f"inet:{listen}" if command == "milter" else listen],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    )
