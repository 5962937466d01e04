"""Accounts own every settings row and carry the settings version the engine caches on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from email_security.kit.db import COMMITTED_VERSIONS, Base, utcnow
from email_security.kit.versions import CHANNEL, announcement

ACCOUNT_ID_MAX = 64


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(ACCOUNT_ID_MAX), primary_key=True)
    settings_version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def ensure_account(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        account = Account(id=account_id, settings_version=0, created_at=utcnow())
        session.add(account)
        session.flush()
    return account


def bump_settings_version(session: Session, account_id: str) -> None:
    """Called in every write transaction; on PostgreSQL it also serialises an account's writers.

    The new version is announced to every instance when, and only if, the write commits.
    """
    version = session.scalar(
        update(Account)
        .where(Account.id == account_id)
        .values(settings_version=Account.settings_version + 1)
        .returning(Account.settings_version)
    )
    if version is None:
        return  # no such account: nothing was written for it
    session.info.setdefault(COMMITTED_VERSIONS, {})[account_id] = version
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, announcement(account_id, version))))


def settings_version(session: Session | Connection, account_id: str) -> int:
    version = session.scalar(select(Account.settings_version).where(Account.id == account_id))
    return version or 0
