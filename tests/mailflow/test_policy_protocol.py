"""The policy delegation protocol spoken directly to `email-security policy`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.mailflow.services import MailServices
from tests.server_process import free_port
from tests.support import Api


@pytest.fixture
def policy_port(database_url: str, api: Api, tmp_path: Path) -> Iterator[int]:
    api.ok(
        api.post("block_senders", json=factories.blocked_sender(pattern="spam@bulk.example")), 201
    )
    restriction = factories.sending_domain_restriction(domain="partner.example", exclude=[])
    api.ok(api.post("sending_domain_restrictions", json=restriction), 201)
    port = free_port()
    services = MailServices(database_url, [api.account.id], free_port(), port, tmp_path)
    services.start(milter=False)
    try:
        yield port
    finally:
        services.stop()


def request(**attributes: str) -> bytes:
    base = {
        "request": "smtpd_access_policy",
        "protocol_state": "RCPT",
        "client_address": "203.0.113.5",
        "helo_name": "client.test",
        "recipient": "bob@ours.example",
    }
    return "".join(f"{k}={v}\n" for k, v in {**base, **attributes}.items()).encode() + b"\n"


def answer(connection: socket.socket, data: bytes) -> str:
    connection.sendall(data)
    reply = b""
    while not reply.endswith(b"\n\n"):
        chunk = connection.recv(4096)
        assert chunk, "connection closed"
        reply += chunk
    return reply.decode()


def test_malformed_requests_get_dunno_and_the_connection_stays_usable(policy_port: int) -> None:
    with socket.create_connection(("127.0.0.1", policy_port), timeout=10) as connection:
        assert answer(connection, b"this is not an attribute\n\n") == "action=DUNNO\n\n"
        assert answer(connection, b"request=smtpd_access_policy\n\n") == "action=DUNNO\n\n"
        assert answer(connection, b"x=" + b"y" * 100_000 + b"\n\n") == "action=DUNNO\n\n"
        held = answer(connection, request(sender="spam@bulk.example"))
        assert held.startswith("action=HOLD ")
        refused = answer(connection, request(sender="billing@partner.example"))
        assert refused.startswith("action=REJECT 5.7.1 ")
        encrypted = request(sender="billing@partner.example", encryption_protocol="TLSv1.3")
        assert answer(connection, encrypted) == "action=DUNNO\n\n"
        assert answer(connection, request(sender="alice@fine.example")) == "action=DUNNO\n\n"
        # Header and body rules are the milter's: other protocol states are passed.
        data_state = request(sender="spam@bulk.example", protocol_state="DATA")
        assert answer(connection, data_state) == "action=DUNNO\n\n"


def test_many_connections_are_served_at_once(policy_port: int) -> None:
    connections = [
        socket.create_connection(("127.0.0.1", policy_port), timeout=10) for _ in range(8)
    ]
    try:
        # Each opened connection is idle while the others are answered.
        for connection in reversed(connections):
            assert answer(connection, request(sender="spam@bulk.example")).startswith("action=HOLD")
    finally:
        for connection in connections:
            connection.close()
