"""Text whose meaning the server checks beyond what the document's schema can say: one name
per kind, shared by the groups, and stated in the document (`x-checked-by-server`)."""

from __future__ import annotations

from typing import Annotated

from email_security.kit.fields import PatternText, checked_by_server

DomainName = Annotated[PatternText, checked_by_server("a domain name, not an IP address")]
NetworkText = Annotated[PatternText, checked_by_server("a public IP address or CIDR")]
Re2Expression = Annotated[PatternText, checked_by_server("an RE2 regular expression")]
SenderPatternText = Annotated[
    PatternText,
    checked_by_server(
        "by pattern_type and is_regex: an email address, a domain name, "
        "an IP address or CIDR, or an RE2 regular expression"
    ),
]
DomainOrRegex = Annotated[
    PatternText, checked_by_server("by is_regex: a domain name or an RE2 regular expression")
]
AddressesOrRegex = Annotated[
    PatternText,
    checked_by_server(
        "by is_email_regex: email addresses separated by commas, or an RE2 regular expression"
    ),
]
