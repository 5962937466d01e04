"""What allow policies and blocked senders share: a sender pattern and its validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from email_security.core.listing import Filter, equals, exact_match
from email_security.core.resource import AliasedInput, Change, SettingsOut, normalised
from email_security.kit.fields import Comments
from email_security.patterns import PatternType, normalise_pattern
from email_security.resources.values import SenderPatternText

# What may be written: UNKNOWN, a legacy value, may be stored and returned but not written.
InputPatternType = Literal["EMAIL", "DOMAIN", "IP"]

_PATTERN_FIELDS = ("pattern", "pattern_type", "is_regex")


class SenderPatternColumns:
    pattern: Mapped[str] = mapped_column(String(1024))
    pattern_type: Mapped[str] = mapped_column(String(16))
    is_regex: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str | None] = mapped_column(Text)


class SenderPatternInput(AliasedInput):
    pattern: SenderPatternText
    pattern_type: InputPatternType
    is_regex: bool
    comments: Comments = None


class SenderPatternOut(SettingsOut):
    pattern: str
    pattern_type: PatternType
    is_regex: bool
    comments: str | None


def sender_pattern_filters(model: Any) -> dict[str, Filter]:
    return {
        "pattern_type": equals(model.pattern_type, PatternType, counted=True),
        "pattern": exact_match(model.pattern),
    }


def normalise_sender_pattern(change: Change) -> Mapping[str, Any]:
    """Validate the pattern against its type whenever any of the three fields changes."""
    if not change.touches(*_PATTERN_FIELDS):
        return {}
    state = change.state
    pattern_type, is_regex = state["pattern_type"], state["is_regex"]
    return {
        "pattern": normalised(
            "pattern",
            state["pattern"],
            lambda text: normalise_pattern(text, pattern_type, is_regex),
        )
    }
