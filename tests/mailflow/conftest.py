"""A private Postfix per test worker, and for each test the milter and the policy service
serving that test's account on the ports that Postfix calls."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import migrated_postgres_database
from tests.mailflow.postfix import PrivatePostfix, postfix_missing
from tests.mailflow.services import MailServices
from tests.server_process import free_port
from tests.support import Account


def _pymilter_missing() -> str | None:
    try:
        import Milter  # noqa: F401
    except ImportError:
        return "pymilter is not installed (it builds on libmilter-dev; make install adds it)"
    return None


@pytest.fixture(scope="session")
def postfix() -> Iterator[PrivatePostfix]:
    reason = postfix_missing() or _pymilter_missing()
    if reason:
        pytest.skip(reason)
    # Not under pytest's private temporary folder: Postfix's own user must reach the queue.
    root = Path(tempfile.mkdtemp(prefix="email-security-postfix-"))
    os.chmod(root, 0o755)
    instance = PrivatePostfix(root, milter_port=free_port(), policy_port=free_port())
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def mail_services(
    postfix: PrivatePostfix, database_url: str, account: Account, tmp_path: Path
) -> Iterator[MailServices]:
    """Not started: a test writes its settings first, then calls `start()`."""
    services = MailServices(
        database_url, [account.id], postfix.milter_port, postfix.policy_port, tmp_path
    )
    yield services
    codes = services.stop()
    assert all(code == 0 for code in codes), f"exit codes {codes}: {services.logs()}"


@pytest.fixture
def outage_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, which it can make unreachable."""
    with migrated_postgres_database() as url:
        yield url
