"""Hit statistics: how often, and when last, applied mail honoured each settings entry.

The mail path only counts: `HitCounter.count` is a dict update under a lock, no I/O. A
background thread writes what was counted every `interval` seconds in one transaction (one
executemany UPDATE per table), and once more when the process stops cleanly; a crash loses
at most the counts of one interval. A write that fails keeps its counts for the next one.

Hits are statistics, not settings: writing them moves no settings version, writes no audit
record and leaves `modified_at` alone. An entry deleted before its hits are written is
simply not updated.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Table, bindparam, case, or_, update

from email_security import engine
from email_security.kit.db import Database
from email_security.kit.periodic import Periodic
from email_security.resources import RESOURCES

# (account id, resource name, entry id): what one hit counts.
Hit = tuple[str, str, str]

log = logging.getLogger("email_security")

_TABLES: dict[str, Table] = {resource.name: resource.model.__table__ for resource in RESOURCES}


def honoured(account_id: str, verdicts: Iterable[engine.RecipientVerdict]) -> set[Hit]:
    """The entries that took effect in a message's verdicts, each once however many
    recipients it decided for."""
    return {
        (account_id, match.resource, match.id)
        for verdict in verdicts
        for match in verdict.matches
        if match.honored
    }


class HitCounter:
    """Hits counted in memory and written every `interval` seconds while `flushing()`;
    with an interval of 0 nothing is counted. Thread-safe."""

    def __init__(self, database: Database, interval: float) -> None:
        self._database = database
        self._interval = interval
        self._lock = threading.Lock()
        # hit -> (count, time of the latest, in seconds since the epoch)
        self._pending: dict[Hit, tuple[int, float]] = {}
        self._periodic = Periodic(
            "hit-flusher",
            interval,
            lambda: self._flush_logged(final=False),
            lambda: self._flush_logged(final=True),
        )

    @property
    def enabled(self) -> bool:
        return self._interval > 0

    def count(self, hits: Iterable[Hit]) -> None:
        """One more hit, now, for each of `hits` (one message's: each entry once)."""
        if self._interval <= 0:
            return
        now = time.time()
        with self._lock:
            pending = self._pending
            for hit in hits:
                seen = pending.get(hit)
                pending[hit] = (seen[0] + 1, now) if seen else (1, now)

    def flush(self) -> int:
        """Write every hit counted so far in one transaction; how many entries it updated
        (or would have: deleted ones are skipped). On failure the hits are kept, and the
        error raised."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            self._write(pending)
        except BaseException:
            self._keep(pending)
            raise
        return len(pending)

    def flushing(self) -> AbstractContextManager[None]:
        """Flush every `interval` seconds while inside, and once more on leaving."""
        return self._periodic.running()

    def _flush_logged(self, *, final: bool) -> None:
        try:
            self.flush()
        except Exception as exc:  # the database may be away
            with self._lock:
                entries = len(self._pending)
            log.warning(
                "writing hits failed (%s); those of %d entries are %s",
                str(exc).partition("\n")[0] or type(exc).__name__,
                entries,
                "lost" if final else "kept for the next flush",
            )

    def _keep(self, failed: dict[Hit, tuple[int, float]]) -> None:
        """Put back the hits of a failed write, with those counted meanwhile."""
        with self._lock:
            pending = self._pending
            for hit, (count, last) in failed.items():
                seen = pending.get(hit)
                pending[hit] = (count + seen[0], max(last, seen[1])) if seen else (count, last)

    def _write(self, pending: dict[Hit, tuple[int, float]]) -> None:
        by_table: dict[str, list[dict[str, Any]]] = {}
        # Tables, then rows, in one order: two processes writing the same rows lock them in
        # the same order, so neither waits for the other in a deadlock.
        for (account_id, resource, entry_id), (count, last) in sorted(pending.items()):
            if resource not in _TABLES or not _is_uuid(entry_id):
                continue  # not a stored entry (settings given to the engine by hand)
            by_table.setdefault(resource, []).append(
                {
                    "account": account_id,
                    "entry": uuid.UUID(entry_id),
                    "n": count,
                    "at": datetime.fromtimestamp(last, UTC),
                }
            )
        with self._database.write() as session:
            connection = session.connection()
            for resource in sorted(by_table):
                connection.execute(_add_hits(_TABLES[resource]), by_table[resource])


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _add_hits(table: Table) -> Any:
    """`hit_count + n`, and the later of the stored and the new `last_hit_at`."""
    last = table.c.last_hit_at
    at = bindparam("at", type_=last.type)
    return (
        update(table)
        .where(
            table.c.id == bindparam("entry", type_=table.c.id.type),
            table.c.account_id == bindparam("account"),
        )
        .values(
            hit_count=table.c.hit_count + bindparam("n", type_=BigInteger()),
            last_hit_at=case((or_(last.is_(None), last < at), at), else_=last),
        )
    )
