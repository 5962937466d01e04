"""One compiled index per account, rebuilt only when the account's settings version moves."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from email_security import engine
from email_security.evaluation.loader import load_settings
from email_security.evaluation.versions import (
    SettingsVersions,
    SettingsWrites,
    VersionWatcher,
    settings_version,
)
from email_security.kit.db import Database
from email_security.kit.metrics import INDEX_BUILD_SECONDS, INDEX_BUILDS


class IndexCache:
    """Thread-safe; at most one build per account at a time, least recently used evicted.

    `versions` is this instance's board of settings versions: `writes` tell it of their
    commits, and `watching()` keeps it current with the other instances' writes.
    """

    def __init__(
        self, database: Database, thresholds: engine.Thresholds, max_accounts: int = 256
    ) -> None:
        self._database = database
        self._thresholds = thresholds
        self._max_accounts = max_accounts
        self._compiled: OrderedDict[str, engine.CompiledSettings] = OrderedDict()
        self._guard = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self.builds = 0  # how many indexes were compiled: a figure for tests and monitoring
        self.versions = SettingsVersions()
        self.writes = SettingsWrites(database, self.versions)
        self._watchers = 0
        self._watcher: VersionWatcher | None = None

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Hear of other instances' writes while inside (without, versions are read).

        Nested uses (an app's lifespan run again while it runs) share one watcher, stopped
        when the last of them leaves: stopping it makes the board forget everything.
        """
        with self._guard:
            if self._watchers == 0:
                self._watcher = VersionWatcher(self._database.engine, self.versions)
                self._watcher.start()
            self._watchers += 1
        try:
            yield
        finally:
            with self._guard:
                self._watchers -= 1
                last, self._watcher = (
                    (self._watcher, None) if self._watchers == 0 else (None, self._watcher)
                )
            if last is not None:
                last.stop()

    def get(self, account_id: str) -> engine.CompiledSettings:
        """The account's index, as of its current settings version.

        Once warm, no query: the version comes from this instance's board, which
        writes and the version watcher keep current. Without a live watcher it is read.
        """
        versions = self.versions
        known = versions.current(account_id)
        if known is None:
            epoch = versions.epoch
            with self._database.read_one() as connection:
                known = settings_version(connection, account_id)
            versions.learn(account_id, known, epoch)
        compiled = self._fresh(account_id, known)
        if compiled is not None:
            return self._in_force(account_id, compiled)
        with self._build_lock(account_id):
            compiled = self._fresh(account_id, known)
            if compiled is None:
                epoch = versions.epoch
                started = time.perf_counter()
                with self._database.read() as connection:
                    settings = load_settings(connection, account_id)
                compiled = engine.compile_settings(settings, self._thresholds)
                INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)
                INDEX_BUILDS.inc()
                versions.learn(account_id, compiled.version, epoch)
                self._store(account_id, compiled)
                self.builds += 1
        return self._in_force(account_id, compiled)

    def _in_force(
        self, account_id: str, compiled: engine.CompiledSettings
    ) -> engine.CompiledSettings:
        """Without the entries expired since it was built: stored in its place, so that the
        one rebuild an expiry costs is shared by every later evaluation."""
        now = datetime.now(UTC)
        if compiled.valid_until is None or now < compiled.valid_until:
            return compiled
        with self._build_lock(account_id):  # one rebuild, the other evaluations wait for it
            current = compiled.in_force(now)
        if current is not compiled:
            self._store(account_id, current)
        return current

    def _fresh(self, account_id: str, at_least_version: int) -> engine.CompiledSettings | None:
        with self._guard:
            compiled = self._compiled.get(account_id)
            if compiled is None or compiled.version < at_least_version:
                return None
            self._compiled.move_to_end(account_id)
            return compiled

    def _store(self, account_id: str, compiled: engine.CompiledSettings) -> None:
        with self._guard:
            current = self._compiled.get(account_id)
            if current is None or current.version <= compiled.version:
                self._compiled[account_id] = compiled
                self._compiled.move_to_end(account_id)
            while len(self._compiled) > self._max_accounts:
                evicted, _ = self._compiled.popitem(last=False)
                self._build_locks.pop(evicted, None)

    def _build_lock(self, account_id: str) -> threading.Lock:
        with self._guard:
            return self._build_locks.setdefault(account_id, threading.Lock())
