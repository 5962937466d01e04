"""The policy engine: what an account's settings do to a message, and why.

A plain library: no web framework and no database. Compile an account's settings once,
then evaluate messages against the result:

    compiled = compile_settings(Settings(allow_policies=(...), block_senders=(...), ...))
    verdict = evaluate(Message(recipients=("bob@ours.example",), header_from=...), compiled)
    verdict = evaluate(parse_message(raw_eml_bytes), compiled)

After a write, apply_changes(compiled, version, upserts, removed) gives the settings with
the change, at the cost of the change rather than of a full compilation.

Errors:

    ValueError
    └── MessageError    the raw message cannot be read (empty, no headers, no sender, ...)
"""

from email_security.engine import _speedups

# Before any hot module is imported: their compiled forms come first when they are current.
_COMPILED_DIR = _speedups.compiled_modules_dir()
if _COMPILED_DIR is not None:
    __path__.insert(0, _COMPILED_DIR)
COMPILED = _COMPILED_DIR is not None  # whether the hot modules run compiled (mypyc)

from email_security.engine._changes import apply_changes  # noqa: E402
from email_security.engine._compile import CompiledSettings, compile_settings  # noqa: E402
from email_security.engine._eml import (  # noqa: E402
    MessageError,
    authentication_results,
    parse_message,
)
from email_security.engine._evaluate import evaluate  # noqa: E402
from email_security.engine._model import (  # noqa: E402
    DISPOSITIONS,
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ContentPolicy,
    ImpersonationEntry,
    Link,
    LinkIgnoredBy,
    Match,
    Message,
    ProtectedDomain,
    RecipientVerdict,
    SendingDomainRestriction,
    Settings,
    Thresholds,
    TrustedDomain,
    UrlIgnorePattern,
    Verdict,
)

__all__ = [
    "COMPILED",
    "DISPOSITIONS",
    "AllowPolicy",
    "AuthResult",
    "AuthResults",
    "BlockedSender",
    "CompiledSettings",
    "ContentPolicy",
    "ImpersonationEntry",
    "Link",
    "LinkIgnoredBy",
    "Match",
    "Message",
    "MessageError",
    "ProtectedDomain",
    "RecipientVerdict",
    "SendingDomainRestriction",
    "Settings",
    "Thresholds",
    "TrustedDomain",
    "UrlIgnorePattern",
    "Verdict",
    "apply_changes",
    "authentication_results",
    "compile_settings",
    "evaluate",
    "parse_message",
]
