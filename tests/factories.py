"""Request bodies with sensible defaults; tests override only what they are about."""

from __future__ import annotations

from typing import Any


def allow_policy(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pattern": "sender@example.com",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "is_acceptable_sender": False,
        "is_exempt_recipient": False,
        "is_trusted_sender": True,
        "verify_sender": True,
        "comments": None,
    }
    body.update(overrides)
    return body


def batch(**operations: list[Any]) -> dict[str, list[Any]]:
    """A batch body with all four operation lists present (the API requires them)."""
    body: dict[str, list[Any]] = {"deletes": [], "patches": [], "puts": [], "posts": []}
    body.update(operations)
    return body
