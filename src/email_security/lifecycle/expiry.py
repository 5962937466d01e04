"""The expiry sweeper: deletes expired entries (recorded, actor `expiry`) and purges audit
records past their retention, in a background thread of every serving process.

Expired entries already count as absent for the engine from their instant on; the sweep
only tidies the store, so it runs every `interval` seconds rather than at each instant.
Each account is swept in its own settings write: the version moves and every instance
learns of it like of any other write. Several sweepers (processes, instances on one
PostgreSQL database) may sweep at once: a second sweep of an account waits for the first
to commit, then finds nothing left and rolls back, so nothing is deleted or recorded twice.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from email_security.audit.records import EXPIRY, AuditRecord
from email_security.core.service import ResourceService, SettingsWriter
from email_security.kit.db import Database, utcnow
from email_security.kit.periodic import Periodic
from email_security.resources import RESOURCES

# Entries deleted per account and resource in one transaction.
BATCH = 1000
ACCOUNTS_PER_SWEEP = 1000
PURGE_BATCH = 10_000

log = logging.getLogger("email_security")


class _NothingLeft(Exception):
    """Another sweeper got there first: roll the write back (no version move)."""


class ExpirySweeper:
    def __init__(
        self,
        database: Database,
        writes: SettingsWriter,
        interval: float,
        retention_days: float,
    ) -> None:
        self._database = database
        self._writes = writes
        self._retention = timedelta(days=retention_days)
        self._services = [ResourceService(resource, database) for resource in RESOURCES]
        self._periodic = Periodic("expiry-sweeper", interval, self._sweep_logged)

    def running(self) -> AbstractContextManager[None]:
        """Sweep every `interval` seconds while inside (never when it is 0)."""
        return self._periodic.running()

    def _sweep_logged(self) -> None:
        try:
            self.sweep()
        except Exception:  # the database may be away: the next sweep tries again
            log.warning("expiry sweep failed", exc_info=True)

    def sweep(self, now: datetime | None = None) -> int:
        """Delete what has expired at `now` and purge old records; how many entries went."""
        now = now or utcnow()
        deleted = sum(self._sweep_resource(service, now) for service in self._services)
        if deleted:
            log.info("expiry sweep: %d expired entries deleted", deleted)
        self._purge(now - self._retention)
        return deleted

    def _sweep_resource(self, service: ResourceService, now: datetime) -> int:
        model = service.model
        with self._database.read() as connection:
            accounts = list(
                connection.scalars(
                    select(model.account_id)
                    .where(model.expires_at <= now)
                    .distinct()
                    .limit(ACCOUNTS_PER_SWEEP)
                )
            )
        deleted = 0
        for account_id in accounts:
            while (count := self._sweep_account(service, account_id, now)) == BATCH:
                deleted += count
            deleted += count
        return deleted

    def _sweep_account(self, service: ResourceService, account_id: str, now: datetime) -> int:
        model = service.model
        try:
            with self._writes(account_id, EXPIRY) as session:
                rows = list(
                    session.scalars(
                        select(model)
                        .where(model.account_id == account_id, model.expires_at <= now)
                        .limit(BATCH)
                    )
                )
                if not rows:
                    raise _NothingLeft
                service.delete(session, rows)
                return len(rows)
        except _NothingLeft:
            return 0

    def _purge(self, before: datetime) -> None:
        """Audit records older than the retention, a bounded number per transaction. Looked
        for first: a write with nothing to do would still tell every SQLite reader that the
        file changed (and make them read settings versions again)."""
        with self._database.read_one() as connection:
            any_old = connection.scalar(
                select(AuditRecord.seq).where(AuditRecord.at < before).limit(1)
            )
        if any_old is None:
            return
        while not self._periodic.stopping:
            with self._database.write() as session:
                oldest = select(AuditRecord.seq).where(AuditRecord.at < before).limit(PURGE_BATCH)
                result = session.execute(
                    delete(AuditRecord).where(AuditRecord.seq.in_(oldest.scalar_subquery()))
                )
            if (result.rowcount or 0) < PURGE_BATCH:  # type: ignore[attr-defined]
                return
