"""Settings writes reach the compiled index by their changes alone: no evaluation waits for
the account to be compiled again, and what they answer is what a fresh compilation says."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI

from email_security import engine
from email_security.evaluation.cache import IndexCache
from email_security.evaluation.loader import load_settings
from email_security.kit.db import Database
from tests.factories import blocked_sender
from tests.support import Api

MESSAGE = engine.Message(recipients=("bob@ours.example",), header_from="ann@evil.example")


def evaluate(api: Api, sender: str = "ann@evil.example") -> dict[str, Any]:
    body = {"header_from": sender, "recipients": ["bob@ours.example"]}
    response = api.client.post(
        f"/client/v4/accounts/{api.account.id}/email-security/evaluate",
        json=body,
        headers=api.headers(),
    )
    (verdict,) = api.ok(response)["recipients"]
    return verdict


def block(api: Api, pattern: str) -> dict[str, Any]:
    return api.ok(api.post("block_senders", json=blocked_sender(pattern=pattern)), 201)


def fresh_verdict(database: Database, account_id: str, message: engine.Message) -> Any:
    """The verdict of settings compiled afresh from the database: what an update must equal."""
    with database.read() as connection:
        settings = load_settings(connection, account_id)
    verdict = engine.evaluate(message, engine.compile_settings(settings))
    return [(r.disposition, r.action, [m.id for m in r.matches]) for r in verdict.recipients]


def layered_verdict(cache: IndexCache, account_id: str, message: engine.Message) -> Any:
    verdict = engine.evaluate(message, cache.get(account_id))
    return [(r.disposition, r.action, [m.id for m in r.matches]) for r in verdict.recipients]


def test_writes_apply_to_the_next_evaluation_without_compiling_again(
    api: Api, app: FastAPI
) -> None:
    cache: IndexCache = app.state.index_cache
    kept = block(api, "kept@evil.example")
    assert evaluate(api)["disposition"] == "NONE"
    builds, updates = cache.builds, cache.updates
    created = block(api, "ann@evil.example")
    verdict = evaluate(api)
    assert (verdict["disposition"], [m["id"] for m in verdict["matches"]]) == (
        "MALICIOUS",
        [created["id"]],
    )
    api.ok(api.patch(f"block_senders/{created['id']}", json={"pattern": "other@evil.example"}))
    assert evaluate(api)["disposition"] == "NONE"
    assert evaluate(api, "other@evil.example")["disposition"] == "MALICIOUS"
    api.ok(api.delete(f"block_senders/{created['id']}"))
    assert evaluate(api, "other@evil.example")["disposition"] == "NONE"
    assert evaluate(api, "kept@evil.example")["matches"][0]["id"] == kept["id"]
    assert cache.builds == builds  # every change applied by itself
    assert cache.updates >= updates + 3


def test_another_instance_applies_the_changes_it_reads_in_the_audit_log(
    api: Api, database: Database
) -> None:
    other = IndexCache(database, engine.Thresholds())  # no watcher: it reads the version
    account = api.account.id
    block(api, "first@evil.example")
    assert layered_verdict(other, account, MESSAGE) == fresh_verdict(database, account, MESSAGE)
    created = block(api, "ann@evil.example")
    ((disposition, _action, matched),) = layered_verdict(other, account, MESSAGE)
    assert (disposition, matched) == ("MALICIOUS", [created["id"]])
    assert layered_verdict(other, account, MESSAGE) == fresh_verdict(database, account, MESSAGE)
    api.ok(api.delete(f"block_senders/{created['id']}"))
    assert layered_verdict(other, account, MESSAGE) == fresh_verdict(database, account, MESSAGE)
    assert (other.builds, other.updates) == (1, 2)


def wait_for(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def test_too_many_changes_compile_afresh_in_the_background(api: Api, database: Database) -> None:
    cache = IndexCache(database, engine.Thresholds(), max_changes=2)
    account = api.account.id
    first = cache.get(account)
    for number in range(3):
        block(api, f"many-{number}@evil.example")
    # More records than it reads one by one: the index it had answers meanwhile.
    assert cache.get(account) is first
    wait_for(lambda: cache.builds == 2 and cache.get(account).version > first.version)
    message = engine.Message(recipients=("bob@ours.example",), header_from="many-2@evil.example")
    assert layered_verdict(cache, account, message) == fresh_verdict(database, account, message)
    assert layered_verdict(cache, account, message)[0][0] == "MALICIOUS"


def test_a_delta_grown_past_its_bound_is_compiled_afresh(api: Api, database: Database) -> None:
    cache = IndexCache(database, engine.Thresholds(), max_delta=2)
    account = api.account.id
    cache.get(account)
    for number in range(3):
        block(api, f"delta-{number}@evil.example")
        cache.get(account)
    # The build is counted before its index replaces the one in use: wait for both.
    wait_for(lambda: cache.builds == 2 and cache.get(account).delta_size == 0)
    for number in range(3):
        message = engine.Message(
            recipients=("bob@ours.example",), header_from=f"delta-{number}@evil.example"
        )
        assert layered_verdict(cache, account, message)[0][0] == "MALICIOUS"
