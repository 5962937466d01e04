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
        if not result.matches:
            lines.append("  no settings entry matched")
        for match in result.matches:
            mark = "+" if match.honored else "-"
            lines.append(
                f"  {mark} {match.resource} {match.pattern!r} on {match.field}: {match.reason}"
            )
    return "\n".join(lines)
