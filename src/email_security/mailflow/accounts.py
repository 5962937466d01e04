"""The accounts a mail service answers for, their settings kept compiled and current."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from email_security import engine
from email_security.evaluation.cache import IndexCache
from email_security.kit.db import Database
from email_security.lifecycle.expiry import ExpirySweeper
from email_security.lifecycle.hits import Hit, HitCounter, honoured

log = logging.getLogger("email_security.mailflow")


class SettingsUnavailable(RuntimeError):
    """No settings were ever loaded for an account: the MTA must be told to try later."""


class MailAccounts:
    """The `--account`s of a milter or policy service, the first being the default.

    Settings come from the index cache (current with every write, through the settings
    version watcher); when the database cannot be read, the last settings compiled for the
    account are served, so mail keeps flowing under the rules it had.

    `hits` counts the entries of the verdicts the service applied, written every
    `hit_flush_seconds` (0: not counted). `sweeping` is the expiry sweeper's interval and
    the audit retention in days (interval 0: no sweeper in this process).
    """

    def __init__(
        self,
        database: Database,
        thresholds: engine.Thresholds,
        account_ids: Sequence[str],
        hit_flush_seconds: float = 0.0,
        sweeping: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        if not account_ids:
            raise ValueError("at least one account")
        self.account_ids = tuple(dict.fromkeys(account_ids))
        interval, retention_days = sweeping
        # Records live that long where this process sweeps; else the default (a year).
        horizon = timedelta(days=retention_days if retention_days > 0 else 365)
        self._cache = IndexCache(database, thresholds, len(self.account_ids), horizon)
        self.hits = HitCounter(database, hit_flush_seconds)
        self._sweeper = ExpirySweeper(database, self._cache.writes, interval, retention_days)
        self._last_good: dict[str, engine.CompiledSettings] = {}
        self._lock = threading.Lock()
        self._failing: set[str] = set()

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Settings kept current, hits written and expired entries swept while inside; the
        last hits on leaving."""
        with self._cache.watching(), self.hits.flushing(), self._sweeper.running():
            yield

    def compiled(self, account_id: str) -> engine.CompiledSettings:
        try:
            compiled = self._cache.get(account_id)
        except Exception as exc:
            with self._lock:
                last_good = self._last_good.get(account_id)
                first_failure = account_id not in self._failing
                self._failing.add(account_id)
            if last_good is None:
                raise SettingsUnavailable(f"settings of account {account_id}: {exc}") from exc
            if first_failure:
                log.error(
                    "cannot read the settings of account %s; serving version %d until it can",
                    account_id,
                    last_good.version,
                    exc_info=True,
                )
            return last_good
        with self._lock:
            self._last_good[account_id] = compiled
            if account_id in self._failing:
                self._failing.discard(account_id)
                log.warning("the settings of account %s can be read again", account_id)
        return compiled

    def load_all(self) -> None:
        """Compile every account's settings now (raises SettingsUnavailable)."""
        for account_id in self.account_ids:
            self.compiled(account_id)

    def read_bodies(self) -> bool:
        """Whether a message's body can change a verdict: some account has a content policy
        that reads bodies."""
        return any(self.compiled(account_id).body_policies for account_id in self.account_ids)

    def evaluate(self, message: engine.Message) -> list[Evaluated]:
        """Every recipient's verdict, in the message's order, each under the account one of
        whose protected domains covers it, else under the first account."""
        compiled = {account_id: self.compiled(account_id) for account_id in self.account_ids}
        routed: dict[str, list[str]] = {}
        for recipient in dict.fromkeys(message.recipients):
            owner = next(
                (
                    account_id
                    for account_id, settings in compiled.items()
                    if settings.recipient(recipient).protected is not None
                ),
                self.account_ids[0],
            )
            routed.setdefault(owner, []).append(recipient)
        found: dict[str, Evaluated] = {}
        for account_id, recipients in routed.items():
            verdict = engine.evaluate(
                dataclasses.replace(message, recipients=tuple(recipients)), compiled[account_id]
            )
            for recipient, recipient_verdict in zip(recipients, verdict.recipients, strict=True):
                found[recipient] = Evaluated(
                    recipient, account_id, verdict.settings_version, recipient_verdict
                )
        return [found[recipient] for recipient in dict.fromkeys(message.recipients)]


def hits_of(evaluated: Sequence[Evaluated]) -> set[Hit]:
    """The entries one message's verdicts honoured, each once."""
    hits: set[Hit] = set()
    for item in evaluated:
        hits |= honoured(item.account_id, (item.verdict,))
    return hits


@dataclass(frozen=True)
class Evaluated:
    """One recipient's verdict, with the account and settings version that gave it."""

    recipient: str
    account_id: str
    settings_version: int
    verdict: engine.RecipientVerdict
