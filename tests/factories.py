"""Request bodies with sensible defaults, one factory per settings group; tests override only
what they are about."""

from __future__ import annotations

from typing import Any


def allow_policy(**overrides: Any) -> dict[str, Any]:
    return {
        "pattern": "sender@example.com",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "is_acceptable_sender": False,
        "is_exempt_recipient": False,
        "is_trusted_sender": True,
        "verify_sender": True,
        "comments": None,
        **overrides,
    }


def blocked_sender(**overrides: Any) -> dict[str, Any]:
    return {
        "pattern": "spammer@example.com",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "comments": None,
        **overrides,
    }


def content_policy(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Invoice fraud",
        "pattern": r"invoice\s+overdue",
        "targets": ["SUBJECT", "BODY"],
        "enabled": True,
        "notes": None,
        **overrides,
    }


def domain_put(**overrides: Any) -> dict[str, Any]:
    """A PUT body: every required field of a protected domain except its name."""
    return {
        "allowed_delivery_modes": ["DIRECT"],
        "drop_dispositions": ["MALICIOUS", "SPAM"],
        "ip_restrictions": [],
        "regions": ["GLOBAL"],
        **overrides,
    }


def protected_domain(domain: str = "example.com", **overrides: Any) -> dict[str, Any]:
    """A create body with the required fields; optional fields are left out."""
    return {"domain": domain, **domain_put(**overrides)}


def impersonation_entry(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "is_email_regex": False,
        "comments": None,
        **overrides,
    }


def sending_domain_restriction(**overrides: Any) -> dict[str, Any]:
    return {
        "domain": "partner.example",
        "exclude": ["legacy.partner.example"],
        "comments": None,
        **overrides,
    }


def trusted_domain(**overrides: Any) -> dict[str, Any]:
    return {
        "pattern": "partner.example",
        "is_regex": False,
        "is_recent": False,
        "is_similarity": False,
        "comments": None,
        **overrides,
    }


def url_ignore_pattern(**overrides: Any) -> dict[str, Any]:
    return {"pattern": r"https://intranet\.example/.*", "comments": None, **overrides}


def batch(**operations: list[Any]) -> dict[str, list[Any]]:
    """A batch body with all four operation lists present (the API requires them)."""
    return {"deletes": [], "patches": [], "puts": [], "posts": [], **operations}
