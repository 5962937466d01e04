"""One compiled index per account, kept current with its writes without stalling evaluations.

An account's index is compiled once (the first evaluation waits for that: there is nothing
to answer from). After a write, the next evaluation brings it up to date by applying only
the entries the write changed (read from the audit log's feed, loaded by id, layered over
the index by `engine.apply_changes`): milliseconds, whatever the account's size. Meanwhile
other evaluations answer from the index as it was. When the changes layered up grow past
`max_delta` entries, or are too many to read (`max_changes` records), the account is
compiled afresh in a background thread and swapped in, then brought up to date the same
way; evaluations never wait for it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from email_security import engine
from email_security.audit.feed import changed_since, last_record
from email_security.evaluation.loader import load_entries, load_settings
from email_security.evaluation.versions import (
    SettingsVersions,
    SettingsWrites,
    VersionWatcher,
    settings_version,
)
from email_security.kit.db import Database
from email_security.kit.metrics import INDEX_BUILD_SECONDS, INDEX_BUILDS, INDEX_UPDATES

log = logging.getLogger(__name__)

# Entries layered over a full compilation before the account is compiled afresh: a layer
# costs a little on every look-up, and applying a change grows with the layer.
MAX_DELTA = 4096
# Records read in one catch-up at most; more (an import, a big batch) compile afresh.
MAX_CHANGES = 20_000


@dataclass(frozen=True)
class _Cached:
    compiled: engine.CompiledSettings
    record: int  # the newest audit record whose change it holds
    read_at: float  # when the feed was last read for it (time.time())


class IndexCache:
    """Thread-safe; at most one update per account at a time, least recently used evicted.

    `versions` is this instance's board of settings versions: `writes` tell it of their
    commits, and `watching()` keeps it current with the other instances' writes.
    `feed_horizon`: how long audit records are kept; an index whose feed was last read
    longer ago than that may miss purged records, and is compiled afresh instead.
    """

    def __init__(
        self,
        database: Database,
        thresholds: engine.Thresholds,
        max_accounts: int = 256,
        feed_horizon: timedelta = timedelta(days=365),
        max_delta: int = MAX_DELTA,
        max_changes: int = MAX_CHANGES,
    ) -> None:
        self._database = database
        self._thresholds = thresholds
        self._max_accounts = max_accounts
        self._feed_horizon = feed_horizon.total_seconds()
        self._max_delta = max_delta
        self._max_changes = max_changes
        self._cached: OrderedDict[str, _Cached] = OrderedDict()
        self._guard = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self._rebuilding: set[str] = set()
        self.builds = 0  # full compilations: a figure for tests and monitoring
        self.updates = 0  # changes applied to a compiled index
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
        """The account's index, as of its current settings version, or as it was while
        another evaluation brings it up to date.

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
        cached = self._entry(account_id)
        if cached is None:
            compiled = self._first_build(account_id)
        elif cached.compiled.version >= known:
            compiled = cached.compiled
        else:
            compiled = self._catch_up(account_id, cached)
        return self._in_force(account_id, compiled)

    def _first_build(self, account_id: str) -> engine.CompiledSettings:
        with self._build_lock(account_id):
            cached = self._entry(account_id)
            if cached is not None:
                return cached.compiled
            cached = self._compile(account_id)
            self._store(account_id, cached)
            return cached.compiled

    def _catch_up(self, account_id: str, stale: _Cached) -> engine.CompiledSettings:
        """The index with the changes since it was made; the stale one while another
        thread is at it (or compiles afresh in the background)."""
        lock = self._build_lock(account_id)
        if not lock.acquire(blocking=False):
            return stale.compiled
        try:
            cached = self._entry(account_id) or stale
            if time.time() - cached.read_at > self._feed_horizon:
                self._rebuild_in_background(account_id)
                return cached.compiled
            updated = self._apply_feed(account_id, cached)
            if updated is None:  # too many changes to apply one by one
                self._rebuild_in_background(account_id)
                return cached.compiled
            self._store(account_id, updated)
            if updated.compiled.delta_size > self._max_delta:
                self._rebuild_in_background(account_id)
            return updated.compiled
        finally:
            lock.release()

    def _apply_feed(self, account_id: str, cached: _Cached) -> _Cached | None:
        read_at = time.time()
        with self._database.read() as connection:
            # The version first: what is read after it is at least as new, so the index
            # is never labelled newer than what it holds (applying a change twice is
            # harmless: entries are loaded as they are now).
            version = settings_version(connection, account_id)
            feed = changed_since(connection, account_id, cached.record, self._max_changes)
            if feed is None:
                return None
            record, changed = feed
            upserts, removed = load_entries(connection, account_id, changed)
        compiled = engine.apply_changes(cached.compiled, version, upserts, removed)
        INDEX_UPDATES.inc()
        self.updates += 1
        return _Cached(compiled, record, read_at)

    def _compile(self, account_id: str) -> _Cached:
        epoch = self.versions.epoch
        started = time.perf_counter()
        read_at = time.time()
        with self._database.read() as connection:
            # The newest record before the rows: changes after it are applied again later.
            record = last_record(connection, account_id)
            settings = load_settings(connection, account_id)
        compiled = engine.compile_settings(settings, self._thresholds)
        # A compiled index lives long and holds no reference cycle: out of the collector's
        # reach, it never makes a full collection walk its millions of objects.
        gc.freeze()
        INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)
        INDEX_BUILDS.inc()
        self.builds += 1
        self.versions.learn(account_id, compiled.version, epoch)
        return _Cached(compiled, record, read_at)

    def _rebuild_in_background(self, account_id: str) -> None:
        with self._guard:
            if account_id in self._rebuilding:
                return
            self._rebuilding.add(account_id)
        threading.Thread(
            target=self._rebuild, args=(account_id,), name="index-rebuild", daemon=True
        ).start()

    def _rebuild(self, account_id: str) -> None:
        try:
            fresh = self._compile(account_id)
            with self._build_lock(account_id):  # the changes since, then the swap
                current = self._entry(account_id)
                if current is not None and current.record > fresh.record:
                    fresh = self._apply_feed(account_id, fresh) or fresh
                self._store(account_id, fresh)
        except Exception:
            # The index in use stays; the next change that needs a rebuild asks again.
            log.exception("background rebuild of account %s failed", account_id)
        finally:
            with self._guard:
                self._rebuilding.discard(account_id)

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
            with self._guard:
                cached = self._cached.get(account_id)
            if cached is not None and cached.compiled is compiled:
                self._store(account_id, _Cached(current, cached.record, cached.read_at))
        return current

    def _entry(self, account_id: str) -> _Cached | None:
        with self._guard:
            cached = self._cached.get(account_id)
            if cached is not None:
                self._cached.move_to_end(account_id)
            return cached

    def _store(self, account_id: str, cached: _Cached) -> None:
        with self._guard:
            current = self._cached.get(account_id)
            if current is None or current.compiled.version <= cached.compiled.version:
                self._cached[account_id] = cached
                self._cached.move_to_end(account_id)
            while len(self._cached) > self._max_accounts:
                evicted, _ = self._cached.popitem(last=False)
                self._build_locks.pop(evicted, None)

    def _build_lock(self, account_id: str) -> threading.Lock:
        with self._guard:
            return self._build_locks.setdefault(account_id, threading.Lock())
