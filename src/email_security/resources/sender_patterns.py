"""The pattern fields allow policies and blocked senders share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from email_security.kit.resource import Change, FieldError
from email_security.patterns import PatternError, normalise_pattern

# UNKNOWN is a legacy value: it may be stored and returned but never written.
PatternType = Literal["EMAIL", "DOMAIN", "IP", "UNKNOWN"]
InputPatternType = Literal["EMAIL", "DOMAIN", "IP"]

_PATTERN_FIELDS = ("pattern", "pattern_type", "is_regex")


def normalise_sender_pattern(change: Change) -> Mapping[str, Any]:
    """Validate the pattern against its type whenever any of the three fields changes."""
    if not change.touches(*_PATTERN_FIELDS):
        return {}
    state = change.state
    pattern = state["pattern"]
    try:
        return {"pattern": normalise_pattern(pattern, state["pattern_type"], state["is_regex"])}
    except PatternError as exc:
        raise FieldError("pattern", f"{pattern!r} {exc}") from None
