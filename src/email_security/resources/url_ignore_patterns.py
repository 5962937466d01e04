"""URL ignore patterns: links an RE2 pattern full-matches are not to be rewritten."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.resource import Resource, SettingsOut, normalising
from email_security.core.tables import SettingsRow
from email_security.kit.db import Base
from email_security.kit.fields import Comments, StrictInput
from email_security.patterns import check_regex
from email_security.resources.values import Re2Expression


class UrlIgnorePattern(SettingsRow, Base):
    __tablename__ = "url_ignore_patterns"

    pattern: Mapped[str] = mapped_column(String(1024))
    comments: Mapped[str | None] = mapped_column(Text)


class UrlIgnorePatternCreate(StrictInput):
    pattern: Re2Expression = Field(
        description="RE2 regular expression a whole URL must match (ignoring case), "
        r"e.g. https://intranet\.example/.*"
    )
    comments: Comments = None


class UrlIgnorePatternOut(SettingsOut):
    pattern: str
    comments: str | None


resource = Resource(
    title="URL ignore pattern",
    label="URL ignore patterns",
    id_param="pattern_id",
    model=UrlIgnorePattern,
    create=UrlIgnorePatternCreate,
    output=UrlIgnorePatternOut,
    sorts={"pattern": UrlIgnorePattern.pattern},
    search=(UrlIgnorePattern.pattern, UrlIgnorePattern.comments),
    normalise=normalising("pattern", check_regex),
)
