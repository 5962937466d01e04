"""One small case per settings group: what the shared suite needs that the declaration in
`email_security.resources` does not say. Everything else (path, sorts, searched columns,
batch operations, required and nullable fields, unique fields) is read from the resource."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_security.core.resource import Resource
from email_security.resources import RESOURCES
from tests import factories

Body = Callable[[int], dict[str, Any]]


@dataclass(frozen=True)
class ResourceCase:
    """`body(n)`: a valid create body; bodies of different `n` differ in every unique and
    sorted field, in the same order as `n` (so that the sorted order is known)."""

    name: str
    body: Body
    change: dict[str, Any]  # a PATCH that changes one field to a new value
    # Values the API refuses on create and PATCH, and the field the error names; the first
    # is also tried in a batch.
    invalid: tuple[tuple[dict[str, Any], str], ...]
    # A filter and a body it selects (bodies from `body` it does not).
    filter: tuple[dict[str, str], Body] | None = None
    # A searched field that holds free text (any printable character).
    free_text: str | None = None
    # The optional note field (comments or notes): several lines, null clears it.
    note: str | None = "comments"
    # The shape of a batch put, when it is not the create body's.
    replacement: Body | None = None
    # Output fields that carry the time of the last change, besides modified_at.
    timestamped: tuple[str, ...] = ()

    @property
    def resource(self) -> Resource:
        return next(resource for resource in RESOURCES if resource.name == self.name)

    @property
    def path(self) -> str:
        return self.name

    @property
    def moving(self) -> frozenset[str]:
        """The fields every write changes."""
        return frozenset({"modified_at", "last_modified", *self.timestamped})

    def put_body(self, n: int) -> dict[str, Any]:
        return (self.replacement or self.body)(n)


CASES = [
    ResourceCase(
        name="allow_policies",
        body=lambda n: factories.allow_policy(pattern=f"sender{n:02d}@example.com"),
        change={"comments": "changed"},
        invalid=(({"pattern": "not an address"}, "pattern"),),
        filter=(
            {"is_exempt_recipient": "true"},
            lambda n: factories.allow_policy(
                pattern=f"rcpt{n:02d}@ours.example", is_exempt_recipient=True
            ),
        ),
        free_text="comments",
    ),
    ResourceCase(
        name="block_senders",
        body=lambda n: factories.blocked_sender(pattern=f"spammer{n:02d}@example.com"),
        change={"comments": "changed"},
        invalid=(({"pattern": "10.0.0.1", "pattern_type": "IP"}, "pattern"),),
        filter=(
            {"pattern_type": "DOMAIN"},
            lambda n: factories.blocked_sender(
                pattern=f"spam{n:02d}.example", pattern_type="DOMAIN"
            ),
        ),
        free_text="comments",
    ),
    ResourceCase(
        name="content_policies",
        body=lambda n: factories.content_policy(name=f"Policy {n:02d}"),
        change={"notes": "changed"},
        invalid=(({"pattern": "(unclosed"}, "pattern"),),
        filter=(
            {"enabled": "false"},
            lambda n: factories.content_policy(name=f"Off {n:02d}", enabled=False),
        ),
        free_text="notes",
        note="notes",
    ),
    ResourceCase(
        name="domains",
        body=lambda n: factories.protected_domain(f"d{n:02d}.example"),
        change={"lookback_hops": 3},
        invalid=(({"ip_restrictions": ["not an ip"]}, "ip_restrictions.0"),),
        filter=(
            {"allowed_delivery_mode": "BCC"},
            lambda n: factories.protected_domain(
                f"bcc{n:02d}.example", allowed_delivery_modes=["BCC"]
            ),
        ),
        replacement=lambda n: factories.domain_put(regions=["US"]),
        note=None,
        timestamped=("emails_processed",),
    ),
    ResourceCase(
        name="impersonation_registry",
        body=lambda n: factories.impersonation_entry(
            name=f"Person {n:02d}", email=f"p{n:02d}@example.com"
        ),
        change={"comments": "changed"},
        invalid=(
            ({"email": "not an address"}, "email"),
            ({"directory_id": -1}, "directory_id"),
            ({"name": ""}, "name"),
            ({"name": "x" * 1025}, "name"),
            ({"provenance": "internal"}, "provenance"),
        ),
        filter=(
            {"provenance": "SNOOPY-OFFICE_365"},
            lambda n: factories.impersonation_entry(
                name=f"Synced {n:02d}", provenance="SNOOPY-OFFICE_365"
            ),
        ),
        free_text="name",
    ),
    ResourceCase(
        name="sending_domain_restrictions",
        body=lambda n: factories.sending_domain_restriction(
            domain=f"tls{n:02d}.example", exclude=[f"legacy.tls{n:02d}.example"]
        ),
        change={"comments": "changed"},
        invalid=(
            ({"exclude": ["elsewhere.example"]}, "exclude.0"),
            ({"domain": "under_score.example"}, "domain"),
            ({"domain": ""}, "domain"),
            ({"comments": "x" * 1025}, "comments"),
        ),
        free_text="comments",
    ),
    ResourceCase(
        name="trusted_domains",
        body=lambda n: factories.trusted_domain(pattern=f"partner{n:02d}.example"),
        change={"is_recent": True},
        invalid=(({"pattern": "not a domain!"}, "pattern"),),
        filter=(
            {"is_similarity": "true"},
            lambda n: factories.trusted_domain(pattern=f"alike{n:02d}.example", is_similarity=True),
        ),
        free_text="comments",
    ),
    ResourceCase(
        name="url_ignore_patterns",
        body=lambda n: factories.url_ignore_pattern(
            pattern=rf"https://intranet{n:02d}\.example/.*"
        ),
        change={"comments": "changed"},
        invalid=(({"pattern": "(unclosed"}, "pattern"),),
        free_text="comments",
    ),
]
