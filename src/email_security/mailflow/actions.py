"""What the MTA is told to do with a message, from its recipients' verdicts (docs/MAIL-FLOW.md).

Reply texts say what happened, never which entry did it: a sender must not learn the
settings by probing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from email_security.mailflow.accounts import Evaluated

HEADER = "X-Email-Security"
REFUSED = "Message refused by the recipient's mail security policy"
REJECT_REPLY = ("550", "5.7.1", REFUSED)
TEMPFAIL_REPLY = ("451", "4.3.0", "Mail security settings are unavailable; try again later")

DropMode = Literal["reject", "discard"]


@dataclass(frozen=True)
class MilterAction:
    kind: Literal["reject", "discard", "quarantine", "accept"]
    delete_recipients: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()  # values of the X-Email-Security headers to add
    reason: str = ""  # why a message is quarantined, for the operator's queue listing


def milter_action(evaluated: Sequence[Evaluated], drop: DropMode = "reject") -> MilterAction:
    dropped = tuple(item.recipient for item in evaluated if item.verdict.action == "drop")
    kept = [item for item in evaluated if item.verdict.action != "drop"]
    if not kept:
        return MilterAction("reject" if drop == "reject" else "discard")
    headers = verdict_headers(kept)
    quarantined = [item for item in kept if item.verdict.action == "quarantine"]
    if quarantined:
        resources = sorted({m.resource for q in quarantined for m in q.verdict.matches})
        reason = f"email-security: {quarantined[0].verdict.disposition}"
        if resources:
            reason += f" ({', '.join(resources)})"
        return MilterAction("quarantine", dropped, headers, reason)
    return MilterAction("accept", dropped, headers)


def verdict_headers(evaluated: Sequence[Evaluated]) -> tuple[str, ...]:
    """One header value per distinct verdict; `recipients=` names them when verdicts differ."""
    groups: dict[str, list[str]] = {}
    for item in evaluated:
        verdict = item.verdict
        value = (
            f"disposition={verdict.disposition}; action={verdict.action}; "
            f"settings-version={item.settings_version}"
        )
        matched = dict.fromkeys(f"{match.resource}/{match.id}" for match in verdict.matches)
        if matched:
            value += f"; matched={','.join(matched)}"
        groups.setdefault(value, []).append(item.recipient)
    if len(groups) == 1:
        return tuple(groups)
    return tuple(f"{value}; recipients={','.join(names)}" for value, names in groups.items())


def policy_action(evaluated: Evaluated) -> str:
    """The policy service's answer at RCPT time, from the envelope's verdict."""
    action = evaluated.verdict.action
    if action == "drop":
        return f"REJECT 5.7.1 {REFUSED}"
    if action == "quarantine":
        return "HOLD quarantined by the mail security policy"
    return "DUNNO"
