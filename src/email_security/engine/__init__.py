"""The policy engine: what an account's settings do to a message, and why.

A plain library: no web framework and no database. Compile an account's settings once,
then evaluate messages against the result:

    compiled = compile_settings(Settings(allow_policies=(...), block_senders=(...), ...))
    verdict = evaluate(Message(recipients=("bob@ours.example",), header_from=...), compiled)
    verdict = evaluate(parse_message(raw_eml_bytes), compiled)

Errors:

    ValueError
    └── MessageError    the raw message cannot be read (empty, no headers, no sender, ...)
"""

from email_security.engine._compile import CompiledSettings, compile_settings
from email_security.engine._eml import MessageError, parse_message
from email_security.engine._evaluate import evaluate
from email_security.engine._model import (
    DISPOSITIONS,
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ImpersonationEntry,
    Match,
    Message,
    ProtectedDomain,
    RecipientVerdict,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    Verdict,
)

__all__ = [
    "DISPOSITIONS",
    "AllowPolicy",
    "AuthResult",
    "AuthResults",
    "BlockedSender",
    "CompiledSettings",
    "ImpersonationEntry",
    "Match",
    "Message",
    "MessageError",
    "ProtectedDomain",
    "RecipientVerdict",
    "SendingDomainRestriction",
    "Settings",
    "Thresholds",
    "TrustedDomain",
    "Verdict",
    "compile_settings",
    "evaluate",
    "parse_message",
]
