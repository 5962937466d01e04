"""A verdict as text for people."""

from __future__ import annotations

from email_security import engine


def render_text(verdict: engine.Verdict) -> str:
    lines = [f"settings version {verdict.settings_version}"]
    for result in verdict.recipients:
        lines.append("")
        lines.append(f"{result.recipient}: {result.action} ({result.disposition})")
        if result.attributes:
            lines.append(f"  attributes: {', '.join(result.attributes)}")
        if result.protected_domain:
            lines.append(f"  protected domain: {result.protected_domain}")
        if result.client_ip:
            lines.append(f"  client IP: {result.client_ip}")
        if not result.rewrite_links:
            lines.append("  its links are not rewritten (a trusted sender or exempt recipient)")
        if not result.matches:
            lines.append("  no settings entry matched")
        for match in result.matches:
            mark = "+" if match.honored else "-"
            lines.append(
                f"  {mark} {match.resource} {match.pattern!r} on {match.field}: {match.reason}"
            )
    if verdict.links:
        lines.append("")
        lines.append("links:")
        for link in verdict.links:
            ignored = link.ignored_by
            why = f"not rewritten ({ignored.pattern!r})" if ignored else "rewritten"
            lines.append(f"  {link.url}: {why}")
    if verdict.body_truncated:
        lines.append("")
        lines.append("the body was longer than the engine reads: only its start was matched")
    return "\n".join(lines)
