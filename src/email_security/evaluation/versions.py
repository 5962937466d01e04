"""Each account's settings version as this instance knows it, kept current by being told.

Evaluations compare a cached index against the account's settings version. Reading that
version from the database for every evaluation would cost a query each; instead the version
is pushed to every instance:

- every settings write goes through `SettingsWrites`, which moves the account's version in
  the write's own transaction and tells this instance's board once it has committed, so an
  instance always sees its own writes;
- on PostgreSQL every write also sends `NOTIFY` in its transaction (delivered only if it
  commits), and a listener thread in every instance advances its board;
- on SQLite, where other processes may share the file, a watcher polls
  `PRAGMA data_version` (a shared-memory read) and forgets every version when another
  connection committed, so the next evaluation of each account reads its version again.

While no listener is connected the board knows nothing, and every evaluation reads the
version from the database as before: correctness never depends on the listener.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from email_security.audit.records import Actor, open_trail
from email_security.auth.accounts import Account, ensure_account
from email_security.kit.db import Database

CHANNEL = "email_security_settings"
WATCHER_NAME = "email-security settings version watcher"  # its application_name
LISTEN_WAIT_SECONDS = 0.5
SQLITE_POLL_SECONDS = 0.02
RECONNECT_SECONDS = (0.2, 1.0, 5.0)

log = logging.getLogger("email_security")


class SettingsVersions:
    """The newest settings version known per account, trusted only while a watcher is live."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, int] = {}
        self._live = False
        # Moves on every reset: a version read before a reset may be older than a change
        # the reset stands for, so it must not be learned after it.
        self._epoch = 0

    def current(self, account_id: str) -> int | None:
        """The account's version, or None when it must be read from the database."""
        return self._known.get(account_id) if self._live else None

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def live(self) -> bool:
        """Whether a watcher is hearing of changes (else versions are read per request)."""
        return self._live

    def learn(self, account_id: str, version: int, epoch: int) -> None:
        """A version read from the database, at a time `epoch` was current."""
        with self._lock:
            if self._live and epoch == self._epoch:
                self._raise(account_id, version)

    def advance(self, account_id: str, version: int) -> None:
        """A version committed: by this instance, or announced by another."""
        with self._lock:
            if self._live:
                self._raise(account_id, version)

    def reset(self, *, live: bool) -> None:
        """Forget every version; `live` says whether changes will be heard from now on."""
        with self._lock:
            self._known = {}
            self._live = live
            self._epoch += 1

    def _raise(self, account_id: str, version: int) -> None:
        if self._known.get(account_id, -1) < version:
            self._known[account_id] = version


def announcement(account_id: str, version: int) -> str:
    return f"{version} {account_id}"


def _announced(payload: str) -> tuple[str, int] | None:
    version, _, account_id = payload.partition(" ")
    return (account_id, int(version)) if version.isdigit() and account_id else None


class VersionWatcher:
    """A daemon thread that keeps a board live: LISTEN on PostgreSQL, polling on SQLite."""

    def __init__(self, engine: Any, versions: SettingsVersions) -> None:
        self._engine = engine
        self._versions = versions
        self._stop = threading.Event()
        self._failures = 0  # in a row, for the delay before reconnecting
        self._thread = threading.Thread(
            target=self._run, name="settings-version-watcher", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._versions.reset(live=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection = self._engine.raw_connection()
                connection.detach()  # held for as long as the watcher runs
                try:
                    if self._engine.dialect.name == "sqlite":
                        self._poll(connection.dbapi_connection)
                    else:
                        self._listen(connection.dbapi_connection)
                finally:
                    connection.close()
            except Exception:
                self._versions.reset(live=False)
                delay = RECONNECT_SECONDS[min(self._failures, len(RECONNECT_SECONDS) - 1)]
                self._failures += 1
                log.warning("settings version watcher lost its connection", exc_info=True)
                self._stop.wait(delay)

    def _listen(self, connection: Any) -> None:
        connection.autocommit = True
        connection.execute(f"SET application_name = '{WATCHER_NAME}'")
        connection.execute(f"LISTEN {CHANNEL}")
        # Changes committed from here on are announced; earlier ones are read afresh.
        self._go_live()
        while not self._stop.is_set():
            for notice in connection.notifies(timeout=LISTEN_WAIT_SECONDS):
                announced = _announced(notice.payload)
                if announced is not None:
                    self._versions.advance(*announced)
            connection.execute("SELECT 1")  # a dropped connection shows here, not silently

    def _go_live(self) -> None:
        self._failures = 0
        self._versions.reset(live=True)

    def _poll(self, connection: Any) -> None:
        def data_version() -> int:
            return int(connection.execute("PRAGMA data_version").fetchone()[0])

        seen = data_version()
        self._go_live()
        while not self._stop.wait(SQLITE_POLL_SECONDS):
            now = data_version()
            if now != seen:
                seen = now
                self._versions.reset(live=True)


def bump_settings_version(session: Session, account_id: str) -> int | None:
    """The account's next version, in the write's transaction (None: no such account). On
    PostgreSQL the row lock also serialises an account's writers, and the new version is
    announced to every instance when, and only if, the write commits."""
    version = session.scalar(
        update(Account)
        .where(Account.id == account_id)
        .values(settings_version=Account.settings_version + 1)
        .returning(Account.settings_version)
    )
    if version is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, announcement(account_id, version))))
    return version


def settings_version(connection: Session | Connection, account_id: str) -> int:
    version = connection.scalar(select(Account.settings_version).where(Account.id == account_id))
    return version or 0


class SettingsWrites:
    """Write transactions of one account's settings: each moves the account's version and
    writes the audit records of its changes (made by `actor`) in the same commit and, once
    committed, tells `board` (this instance's)."""

    def __init__(self, database: Database, board: SettingsVersions | None = None) -> None:
        self._database = database
        self._board = board

    @contextmanager
    def __call__(
        self, account_id: str, actor: Actor, *, create_account: bool = False
    ) -> Iterator[Session]:
        with self._database.write() as session:
            if create_account:
                ensure_account(session, account_id)
            version = bump_settings_version(session, account_id)
            if version is not None and self._board is not None:
                self._database.after_commit(
                    session, partial(self._board.advance, account_id, version)
                )
            trail = open_trail(session, account_id, actor)
            yield session
            trail.write(session)
