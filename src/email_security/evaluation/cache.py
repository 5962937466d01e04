"""One compiled index per account, rebuilt only when the account's settings version moves."""

from __future__ import annotations

import threading
from collections import OrderedDict

from email_security import engine
from email_security.evaluation.loader import load_settings
from email_security.kit.accounts import settings_version
from email_security.kit.db import Database


class IndexCache:
    """Thread-safe; at most one build per account at a time, least recently used evicted."""

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

    def get(self, account_id: str) -> engine.CompiledSettings:
        """The account's index, as of its current settings version.

        Once warm, no query: the version comes from the database's board of versions, which
        writes and the version watcher keep current. Without a live watcher it is read.
        """
        versions = self._database.settings_versions
        known = versions.current(account_id)
        if known is None:
            epoch = versions.epoch
            with self._database.read_one() as connection:
                known = settings_version(connection, account_id)
            versions.learn(account_id, known, epoch)
        compiled = self._fresh(account_id, known)
        if compiled is not None:
            return compiled
        with self._build_lock(account_id):
            compiled = self._fresh(account_id, known)
            if compiled is None:
                epoch = versions.epoch
                with self._database.read() as session:
                    settings = load_settings(session, account_id)
                compiled = engine.compile_settings(settings, self._thresholds)
                versions.learn(account_id, compiled.version, epoch)
                self._store(account_id, compiled)
                self.builds += 1
            return compiled

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
