"""Entries with an expiry count as absent from that instant: never applied, never reported,
and the compiled settings compile again once per instant passed, not per message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from email_security import engine

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
SOON = NOW + timedelta(minutes=5)
LATER = NOW + timedelta(hours=1)
MESSAGE = engine.Message(recipients=("bob@ours.example",), envelope_from="eve@bad.example")


def blocked(entry_id: str, expires_at: datetime | None) -> engine.BlockedSender:
    return engine.BlockedSender(entry_id, "bad.example", "DOMAIN", expires_at=expires_at)


def matched(verdict: engine.Verdict) -> list[str]:
    return [match.id for match in verdict.recipients[0].matches]


def test_an_entry_applies_until_its_instant_and_not_from_it() -> None:
    compiled = engine.compile_settings(
        engine.Settings(block_senders=(blocked("soon", SOON), blocked("later", LATER))), now=NOW
    )
    assert compiled.valid_until == SOON
    assert matched(engine.evaluate(MESSAGE, compiled, NOW)) == ["soon", "later"]
    assert matched(engine.evaluate(MESSAGE, compiled, SOON)) == ["later"]
    verdict = engine.evaluate(MESSAGE, compiled, LATER)
    assert (matched(verdict), verdict.recipients[0].disposition) == ([], "NONE")


def test_an_entry_expired_when_compiled_is_left_out() -> None:
    compiled = engine.compile_settings(
        engine.Settings(block_senders=(blocked("gone", NOW), blocked("kept", None))), now=NOW
    )
    assert compiled.valid_until is None  # nothing left that expires
    assert matched(engine.evaluate(MESSAGE, compiled, NOW)) == ["kept"]


def test_one_compile_per_instant_passed() -> None:
    compiled = engine.compile_settings(
        engine.Settings(block_senders=(blocked("soon", SOON), blocked("later", LATER))), now=NOW
    )
    assert compiled.in_force(NOW) is compiled
    after_first = compiled.in_force(SOON + timedelta(seconds=1))
    assert after_first is not compiled
    assert compiled.in_force(SOON + timedelta(seconds=2)) is after_first  # remembered
    assert after_first.valid_until == LATER
    assert after_first.in_force(LATER).valid_until is None


@pytest.mark.parametrize(
    "settings",
    [
        engine.Settings(
            allow_policies=(
                engine.AllowPolicy(
                    "a", "bad.example", "DOMAIN", is_trusted_sender=True, expires_at=SOON
                ),
            )
        ),
        engine.Settings(
            trusted_domains=(engine.TrustedDomain("t", "bad.example", expires_at=SOON),)
        ),
        engine.Settings(
            content_policies=(
                engine.ContentPolicy("c", "word", "hello", ("SUBJECT",), expires_at=SOON),
            )
        ),
    ],
    ids=["allow_policies", "trusted_domains", "content_policies"],
)
def test_every_group_drops_its_expired_entries(settings: engine.Settings) -> None:
    message = engine.Message(
        recipients=("bob@ours.example",), envelope_from="eve@bad.example", subject="hello"
    )
    compiled = engine.compile_settings(settings, now=NOW)
    assert matched(engine.evaluate(message, compiled, NOW)) != []
    assert matched(engine.evaluate(message, compiled, SOON)) == []
