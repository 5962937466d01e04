"""Many concurrent writers and readers against one real server process: nothing breaks, nothing
is lost.

Each writer thread owns the entries it creates, so the last acknowledged response for an
entry is exactly what must be stored. Protected domains are also raced for: every writer
creates the same domain at the same moment, and exactly one of them may win.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from email_security.auth.tokens import create_token
from email_security.kit.db import Database
from tests.server_process import EVALUATE_BODY, ServerProcess, settings_version
from tests.support import SETTINGS_PATH, Account, new_account

WRITERS = 20
READERS = 4
OPS_PER_WRITER = 30
RACE_AT = (0, 12, 24)  # op indices at which every writer creates the same domain at once
WORKLOAD_DEADLINE = 90.0  # a guard against hangs only; the workload takes a few seconds
RESOURCES = ("allow_policies", "block_senders", "domains")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, tmp_path / "server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def allow_policy(pattern: str, comments: str) -> dict[str, Any]:
    return {
        "pattern": pattern,
        "pattern_type": "DOMAIN",
        "is_regex": False,
        "is_acceptable_sender": False,
        "is_exempt_recipient": False,
        "is_trusted_sender": True,
        "verify_sender": True,
        "comments": comments,
    }


def block_sender(pattern: str, comments: str) -> dict[str, Any]:
    return {"pattern": pattern, "pattern_type": "DOMAIN", "is_regex": False, "comments": comments}


def domain_put(hops: int) -> dict[str, Any]:
    return {
        "allowed_delivery_modes": ["DIRECT"],
        "drop_dispositions": ["MALICIOUS"],
        "ip_restrictions": [],
        "regions": ["GLOBAL"],
        "lookback_hops": hops,
    }


def protected_domain(name: str, hops: int = 1) -> dict[str, Any]:
    return {"domain": name, **domain_put(hops)}


@dataclass
class Outcome:
    """What the workload saw, merged from every thread."""

    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    acked_writes: int = 0
    reads: int = 0
    outside_writes: int = 0
    race_wins: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    race_conflicts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def unexpected_response(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:300]}")


class Writer:
    """One client thread's writes on the entries it owns, each checked as it is answered."""

    def __init__(self, index: int, base: str, account: Account, outcome: Outcome) -> None:
        self.index = index
        self.base = base
        self.account = account
        self.outcome = outcome
        self.rng = random.Random(index)
        self.serial = 0
        # resource -> id -> the last acknowledged state of an entry this thread owns
        self.owned: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RESOURCES}

    def name(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.index}-{self.serial}.conc.example"

    def write(
        self, client: httpx.Client, method: str, path: str, body: Any, status: int
    ) -> dict[str, Any] | None:
        response = client.request(method, path, json=body)
        with self.outcome.lock:
            self.outcome.statuses[response.status_code] += 1
        if response.status_code != status or response.json().get("success") is not True:
            self.outcome.unexpected_response(f"{method} {path}", response)
            return None
        with self.outcome.lock:
            self.outcome.acked_writes += 1
        result: dict[str, Any] = response.json()["result"]
        return result

    def create(self, client: httpx.Client, resource: str) -> None:
        if resource == "allow_policies":
            body = allow_policy(self.name("allow"), f"created by {self.index}")
        elif resource == "block_senders":
            body = block_sender(self.name("block"), f"created by {self.index}")
        else:
            body = protected_domain(self.name("own"), hops=self.rng.randint(1, 20))
        result = self.write(client, "POST", resource, body, 201)
        if result is not None:
            self.owned[resource][result["id"]] = result

    def patch_body(self, resource: str) -> dict[str, Any]:
        if resource == "domains":
            return {"lookback_hops": self.rng.randint(1, 20)}
        self.serial += 1
        body: dict[str, Any] = {"comments": f"patched {self.index}-{self.serial}"}
        if resource == "allow_policies":
            body["is_acceptable_sender"] = self.rng.random() < 0.5
        return body

    def patch(self, client: httpx.Client, resource: str) -> None:
        entry_id = self.rng.choice(sorted(self.owned[resource]))
        result = self.write(
            client, "PATCH", f"{resource}/{entry_id}", self.patch_body(resource), 200
        )
        if result is not None:
            self.owned[resource][entry_id] = result

    def delete(self, client: httpx.Client, resource: str) -> None:
        entry_id = self.rng.choice(sorted(self.owned[resource]))
        result = self.write(client, "DELETE", f"{resource}/{entry_id}", None, 200)
        if result is not None:
            assert result == {"id": entry_id}
            del self.owned[resource][entry_id]

    def batch(self, client: httpx.Client, resource: str) -> None:
        ids = sorted(self.owned[resource])
        self.rng.shuffle(ids)
        deletes, patches, puts = ids[:1], ids[1:3], ids[3:4] if resource == "domains" else []
        body: dict[str, Any] = {
            "deletes": [{"id": entry_id} for entry_id in deletes],
            "patches": [{"id": entry_id, **self.patch_body(resource)} for entry_id in patches],
            "puts": [{"id": entry_id, **domain_put(7)} for entry_id in puts],
            "posts": [],
        }
        for _ in range(2):
            if resource == "allow_policies":
                body["posts"].append(allow_policy(self.name("allow"), "batch"))
            elif resource == "block_senders":
                body["posts"].append(block_sender(self.name("block"), "batch"))
            else:
                body["posts"].append(protected_domain(self.name("own")))
        result = self.write(client, "POST", f"{resource}/batch", body, 200)
        if result is None:
            return
        assert result["deletes"] == body["deletes"]
        for entry_id in deletes:
            del self.owned[resource][entry_id]
        for entry in (*result["patches"], *result["puts"], *result["posts"]):
            self.owned[resource][entry["id"]] = entry

    def race(self, client: httpx.Client, barrier: threading.Barrier, round_: int) -> None:
        """Every writer creates the same domain (spelt differently) at once: one may win."""
        name = f"race-{round_}.conc.example"
        spelt = name.upper() if self.index % 3 == 0 else name
        barrier.wait(timeout=60)
        if self.index % 2:
            response = client.post("domains", json=protected_domain(spelt))
            won, result = response.status_code == 201, response.json().get("result")
        else:
            batch = {"deletes": [], "patches": [], "puts": [], "posts": [protected_domain(spelt)]}
            response = client.post("domains/batch", json=batch)
            won = response.status_code == 200
            result = response.json()["result"]["posts"][0] if won else None
        with self.outcome.lock:
            self.outcome.statuses[response.status_code] += 1
            if won:
                self.outcome.acked_writes += 1
                self.outcome.race_wins.setdefault(name, []).append(result)
            elif response.status_code == 409 and name in response.text:
                self.outcome.race_conflicts[name] += 1
            else:
                self.outcome.unexpected.append(
                    f"race {name}: {response.status_code} {response.text[:300]}"
                )

    def run(self, barrier: threading.Barrier, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.account.token}"}
        base = self.base + SETTINGS_PATH.format(account=self.account.id) + "/"
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for op in range(OPS_PER_WRITER):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"writer {self.index} is still at op {op}")
                if op in RACE_AT:
                    self.race(client, barrier, RACE_AT.index(op))
                    continue
                resource = self.rng.choice(RESOURCES)
                has_entries = len(self.owned[resource]) >= 2
                roll = self.rng.random()
                if roll < 0.35 or not has_entries:
                    self.create(client, resource)
                elif roll < 0.6:
                    self.patch(client, resource)
                elif roll < 0.75:
                    self.delete(client, resource)
                else:
                    self.batch(client, resource)


def read_loop(
    index: int, base: str, account: Account, outcome: Outcome, done: threading.Event
) -> None:
    """Lists (and an evaluation) with the read-only token for as long as the writers write."""
    rng = random.Random(1000 + index)
    headers = {"Authorization": f"Bearer {account.read_token}"}
    account_base = base + f"/client/v4/accounts/{account.id}/email-security"
    with httpx.Client(base_url=account_base + "/", headers=headers, timeout=60) as client:
        while not done.is_set():
            if rng.random() < 0.2:
                response = client.post("evaluate", json=EVALUATE_BODY)
            else:
                params = {"per_page": rng.choice([5, 20, 100]), "page": rng.randint(1, 3)}
                response = client.get(f"settings/{rng.choice(RESOURCES)}", params=params)
            with outcome.lock:
                outcome.statuses[response.status_code] += 1
                outcome.reads += 1
            if response.status_code != 200 or response.json().get("success") is not True:
                outcome.unexpected_response(f"read {response.request.url}", response)


def outside_writes(database: Database, outcome: Outcome, done: threading.Event) -> None:
    """Write transactions from this process, not the server's, held a little while: on SQLite
    the server's writers must wait for the file lock (busy_timeout), never fail."""
    account_id = f"outside-{random.getrandbits(64):x}"
    while not done.is_set():
        with database.write() as session:
            create_token(session, account_id)
            time.sleep(0.01)
        with outcome.lock:
            outcome.outside_writes += 1
        time.sleep(0.05)


def run_threads(targets: list[Callable[[], None]], join_timeout: float) -> list[str]:
    """Runs each target in a thread; returns the exceptions they raised, as text."""
    errors: list[str] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # every failure is reported below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=guarded, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    errors.extend(f"thread {t.name} did not finish (deadlock?)" for t in threads if t.is_alive())
    return errors


def page_through(base: str, account: Account, resource: str, expected_total: int) -> list[Any]:
    """Every entry, page by page; each page must report the same total."""
    url = base + SETTINGS_PATH.format(account=account.id) + f"/{resource}"
    headers = {"Authorization": f"Bearer {account.read_token}"}
    entries: list[Any] = []
    page = 1
    while True:
        response = httpx.get(url, params={"page": page, "per_page": 37}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result_info"]["total_count"] == expected_total, (resource, page)
        if not body["result"]:
            break
        entries.extend(body["result"])
        page += 1
    return entries


def test_concurrent_writers_lose_nothing_and_never_fail(
    server: ServerProcess, database: Database
) -> None:
    account = new_account(database)
    base = server.base_url
    version_before = settings_version(base, account.id, account.read_token)
    outcome = Outcome()
    writers = [Writer(index, base, account, outcome) for index in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    writers_done = threading.Event()
    deadline = time.monotonic() + WORKLOAD_DEADLINE

    def write_all() -> None:
        try:
            errors = run_threads(
                [functools.partial(writer.run, barrier, deadline) for writer in writers],
                join_timeout=WORKLOAD_DEADLINE + 30,
            )
            outcome.unexpected.extend(errors)
        finally:
            writers_done.set()

    started = time.monotonic()
    readers = [
        functools.partial(read_loop, index, base, account, outcome, writers_done)
        for index in range(READERS)
    ]
    outside = functools.partial(outside_writes, database, outcome, writers_done)
    thread_errors = run_threads([write_all, *readers, outside], join_timeout=WORKLOAD_DEADLINE + 60)
    elapsed = time.monotonic() - started
    print(  # noqa: T201 - the figures worth seeing with -s
        f"\n{server.database_url.split(':')[0]}: {sum(outcome.statuses.values())} requests "
        f"in {elapsed:.1f} s, statuses {dict(outcome.statuses)}, "
        f"{outcome.acked_writes} acknowledged writes, {outcome.reads} reads, "
        f"{outcome.outside_writes} writes from another process"
    )

    # Nothing broke: no 5xx, no dropped connection, no unexpected status anywhere.
    assert thread_errors == []
    assert outcome.unexpected == [], outcome.unexpected[:20]
    assert not [status for status in outcome.statuses if status >= 500]
    assert outcome.reads >= READERS
    assert outcome.outside_writes >= 1
    log = server.log_text()
    for sign in ("Traceback", "unhandled error", "database is locked"):
        assert sign not in log, server.log_tail()

    # Each raced domain was created exactly once; every other attempt was a conflict.
    assert sorted(outcome.race_wins) == [f"race-{r}.conc.example" for r in range(len(RACE_AT))]
    for name, wins in outcome.race_wins.items():
        assert len(wins) == 1, (name, wins)
        assert wins[0]["domain"] == name
        assert outcome.race_conflicts[name] == WRITERS - 1, name

    # Nothing was lost: what is stored is exactly the last acknowledged state of each entry.
    for resource in RESOURCES:
        expected = {
            entry_id: entry
            for writer in writers
            for entry_id, entry in writer.owned[resource].items()
        }
        if resource == "domains":
            expected.update((wins[0]["id"], wins[0]) for wins in outcome.race_wins.values())
        stored = page_through(base, account, resource, len(expected))
        stored_by_id = {entry["id"]: entry for entry in stored}
        assert len(stored_by_id) == len(stored), f"{resource}: an entry was listed twice"
        assert sorted(stored_by_id) == sorted(expected), resource
        for entry_id, entry in expected.items():
            assert stored_by_id[entry_id] == entry, (resource, entry_id)

    # Every acknowledged write moved the settings version once, and nothing else did.
    assert outcome.acked_writes >= WRITERS * (OPS_PER_WRITER - len(RACE_AT))
    growth = settings_version(base, account.id, account.read_token) - version_before
    assert growth >= outcome.acked_writes
    assert growth == outcome.acked_writes  # refused writes (the 409s) rolled back entirely
