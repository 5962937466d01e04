"""The mail services' command lines: bad options are refused before anything starts."""

from __future__ import annotations

import socket

import pytest

from tests.test_cli import run_cli


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["milter", "--account", "a1", "--listen", "127.0.0.1:8893"], "inet:HOST:PORT or unix"),
        (["milter", "--account", "a1", "--listen", "inet:nohost"], "inet:HOST:PORT or unix"),
        (["milter", "--account", "a1", "--drop", "bounce"], "reject or discard"),
        (["milter", "--account", "not an id"], "--account must be"),
        (["milter"], "--account"),
        (["policy", "--account", "a1", "--listen", "127.0.0.1"], "HOST:PORT"),
        (["policy", "--account", "a1", "--listen", "127.0.0.1:99999"], "HOST:PORT"),
        (["policy", "--account", "bad/id"], "--account must be"),
    ],
)
def test_bad_options_are_refused(database_url: str, arguments: list[str], message: str) -> None:
    done = run_cli(database_url, *arguments)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in " ".join(done.stderr.replace("│", " ").split())  # unwrapped from its box


def test_policy_on_a_port_in_use_says_so(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(database_url, "policy", "--account", "a1", "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
