"""The six settings resources, each a declaration handed to the shared core."""

from email_security.resources import (
    allow_policies,
    block_senders,
    domains,
    impersonation_registry,
    sending_domain_restrictions,
    trusted_domains,
)

RESOURCES = (
    allow_policies.resource,
    block_senders.resource,
    domains.resource,
    impersonation_registry.resource,
    sending_domain_restrictions.resource,
    trusted_domains.resource,
)
