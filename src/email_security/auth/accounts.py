"""Accounts own every settings row and tokens; each carries the settings version that
evaluation caches are keyed on (`email_security.evaluation.versions` moves it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from email_security.kit.db import Base, utcnow

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
