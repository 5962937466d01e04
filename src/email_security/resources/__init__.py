"""The six settings resources, each a declaration handed to the shared core."""

from email_security.resources import allow_policies

RESOURCES = (allow_policies.resource,)
