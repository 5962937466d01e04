"""The settings groups, each a declaration handed to the shared core (`email_security.core`)."""

from email_security.resources import (
    allow_policies,
    block_senders,
    content_policies,
    domains,
    impersonation_registry,
    sending_domain_restrictions,
    trusted_domains,
    url_ignore_patterns,
)

RESOURCES = (
    allow_policies.resource,
    block_senders.resource,
    content_policies.resource,
    domains.resource,
    impersonation_registry.resource,
    sending_domain_restrictions.resource,
    trusted_domains.resource,
    url_ignore_patterns.resource,
)
