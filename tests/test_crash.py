"""Crash safety: the server process is SIGKILLed while writes are in flight, then restarted on
the same database. Every acknowledged write must be there, every acknowledged delete gone, an
interrupted batch applied entirely or not at all, and the database must be sound.

Each writer thread owns its entries (patterns `t<writer>-<n>.crash.example`) and sends one
request at a time, so after a kill its entries are either in the state of its acknowledged
writes, or in that state with its one interrupted request applied.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from email_security.kit.db import Database
from tests.server_process import ServerProcess, settings_version
from tests.support import SETTINGS_PATH, Account, new_account

WRITERS = 4
KILLS = 3
RESOURCES = ("allow_policies", "block_senders")
# Fields a write changes on its own, unknown for a write whose answer never came.
WRITE_TIME_FIELDS = ("modified_at", "last_modified")

Key = tuple[str, str]  # (resource, pattern): patterns are unique per writer
State = dict[Key, dict[str, Any]]  # the fields known of each entry a writer owns


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


def create_body(resource: str, pattern: str, comments: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pattern": pattern,
        "pattern_type": "DOMAIN",
        "is_regex": False,
        "comments": comments,
    }
    if resource == "allow_policies":
        body.update(
            is_acceptable_sender=False,
            is_exempt_recipient=False,
            is_trusted_sender=True,
            verify_sender=True,
        )
    return body


@dataclass
class Op:
    """A write whose effect on the writer's state is known before it is answered."""

    method: str
    path: str
    body: Any
    status: int
    deletes: list[Key] = field(default_factory=list)
    patches: dict[Key, str] = field(default_factory=dict)  # key -> new comments
    creates: dict[Key, dict[str, Any]] = field(default_factory=dict)  # key -> body sent

    def applied(self, state: State) -> State:
        """The state had this write been committed (fields it sets anew are unknown)."""
        after = {key: dict(entry) for key, entry in state.items() if key not in self.deletes}
        for key, comments in self.patches.items():
            for name in WRITE_TIME_FIELDS:
                after[key].pop(name, None)
            after[key]["comments"] = comments
        after.update((key, dict(body)) for key, body in self.creates.items())
        return after


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    acked: int = 0
    interrupted: int = 0  # requests sent whose answer never came: the kill cut them
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Writer:
    def __init__(self, index: int, account: Account) -> None:
        self.index = index
        self.account = account
        self.rng = random.Random(index)
        self.serial = 0
        self.state: State = {}  # the acknowledged state of the entries this writer owns
        self.in_flight: Op | None = None

    def pattern(self) -> str:
        self.serial += 1
        return f"t{self.index}-{self.serial}.crash.example"

    def owns(self, pattern: str) -> bool:
        return pattern.startswith(f"t{self.index}-")

    def comments(self) -> str:
        self.serial += 1
        return f"comments {self.index}-{self.serial}"

    def next_op(self) -> Op:
        resource = self.rng.choice(RESOURCES)
        keys = sorted(key for key in self.state if key[0] == resource)
        self.rng.shuffle(keys)
        roll = self.rng.random()
        if roll < 0.4 or len(keys) < 3:
            pattern = self.pattern()
            body = create_body(resource, pattern, self.comments())
            return Op("POST", resource, body, 201, creates={(resource, pattern): body})
        if roll < 0.65:
            key, comments = keys[0], self.comments()
            path = f"{resource}/{self.state[key]['id']}"
            return Op("PATCH", path, {"comments": comments}, 200, patches={key: comments})
        if roll < 0.8:
            path = f"{resource}/{self.state[keys[0]]['id']}"
            return Op("DELETE", path, None, 200, deletes=[keys[0]])
        # A batch, now and then a large one: the server spends longer inside it.
        posts = [
            create_body(resource, self.pattern(), "batch")
            for _ in range(40 if self.rng.random() < 0.3 else 3)
        ]
        patches = {keys[1]: self.comments()}
        body = {
            "deletes": [{"id": self.state[keys[0]]["id"]}],
            "patches": [
                {"id": self.state[key]["id"], "comments": text} for key, text in patches.items()
            ],
            "puts": [],
            "posts": posts,
        }
        return Op(
            "POST",
            f"{resource}/batch",
            body,
            200,
            deletes=[keys[0]],
            patches=patches,
            creates={(resource, post["pattern"]): post for post in posts},
        )

    def acknowledge(self, op: Op, result: Any) -> None:
        entries: list[dict[str, Any]]
        if op.path.endswith("/batch"):
            assert result["deletes"] == op.body["deletes"]
            entries = [*result["patches"], *result["posts"]]
        elif op.method == "DELETE":
            assert result == {"id": op.path.rsplit("/", 1)[1]}
            entries = []
        else:
            entries = [result]
        resource = op.path.split("/")[0]
        for key in op.deletes:
            del self.state[key]
        for entry in entries:
            self.state[(resource, entry["pattern"])] = entry

    def run(self, base: str, tally: Tally, killed: threading.Event) -> None:
        """Writes one request at a time until the server goes away."""
        try:
            self._run(base, tally, killed)
        except Exception as exc:  # a failed check in this thread fails the test
            with tally.lock:
                tally.unexpected.append(f"writer {self.index}: {exc!r}")

    def _run(self, base: str, tally: Tally, killed: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.account.token}"}
        url = base + SETTINGS_PATH.format(account=self.account.id) + "/"
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not killed.is_set():
                op = self.next_op()
                try:
                    response = client.request(op.method, op.path, json=op.body)
                except httpx.TransportError as exc:
                    self.in_flight = op  # it may or may not have been committed
                    with tally.lock:
                        if not killed.is_set():
                            tally.unexpected.append(
                                f"{op.method} {op.path} before the kill: {exc!r}"
                            )
                        elif not isinstance(exc, httpx.ConnectError):
                            tally.interrupted += 1
                    return
                with tally.lock:
                    tally.statuses[response.status_code] += 1
                    if response.status_code != op.status:
                        tally.unexpected.append(f"{op.method} {op.path}: {response.text[:300]}")
                        return
                    tally.acked += 1
                self.acknowledge(op, response.json()["result"])

    def settle(self, stored: State, *, full: bool) -> bool:
        """Checks what is stored of this writer's entries against what it was told, adopts it,
        and says whether its interrupted request (if any) had been committed.

        `full`: the stored entries are API objects, comparable field for field; else only
        their id, pattern and comments are known (read from the database file directly).
        """
        mine = {key: entry for key, entry in stored.items() if self.owns(key[1])}
        candidates = [self.state]
        if self.in_flight is not None:
            candidates.append(self.in_flight.applied(self.state))
        for committed, candidate in enumerate(candidates):
            if matches(mine, candidate, full=full):
                # Settled: a later look (the API after a restart) must find the same outcome.
                self.state, self.in_flight = (mine if full else candidate), None
                return bool(committed)
        raise AssertionError(
            f"writer {self.index}: stored {describe(mine)}\n"
            f"acknowledged {describe(self.state)}\n"
            f"in flight {self.in_flight}"
        )


def matches(stored: State, expected: State, *, full: bool) -> bool:
    if stored.keys() != expected.keys():
        return False
    for key, known in expected.items():
        names = known.keys() if full else known.keys() & {"id", "pattern", "comments"}
        if any(stored[key].get(name) != known[name] for name in names):
            return False
    return True


def describe(state: State) -> list[tuple[str, str, Any, Any]]:
    return sorted((r, p, entry.get("id"), entry.get("comments")) for (r, p), entry in state.items())


def stored_by_api(base: str, account: Account) -> State:
    headers = {"Authorization": f"Bearer {account.read_token}"}
    stored: State = {}
    for resource in RESOURCES:
        url = base + SETTINGS_PATH.format(account=account.id) + f"/{resource}"
        entries: list[dict[str, Any]] = []
        while True:
            params = {"per_page": 100, "page": len(entries) // 100 + 1}
            response = httpx.get(url, params=params, headers=headers, timeout=30)
            assert response.status_code == 200, response.text
            body = response.json()
            entries.extend(body["result"])
            if len(body["result"]) < 100:
                break
        assert body["result_info"]["total_count"] == len(entries)
        assert len({entry["id"] for entry in entries}) == len(entries), "listed twice"
        stored.update(((resource, entry["pattern"]), entry) for entry in entries)
    return stored


def stored_in_sqlite_file(path: Path, account: Account) -> State:
    """Reads the file the killed server left, with the sqlite3 module: WAL recovery, integrity
    and the committed rows, then a checkpoint that moves every WAL frame into the database."""
    wal = Path(f"{path}-wal")
    assert wal.exists(), "the killed server left no WAL: was it in WAL mode?"
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        stored: State = {}
        for resource in RESOURCES:
            rows = connection.execute(
                f"SELECT id, pattern, comments FROM {resource} WHERE account_id = ?",
                (account.id,),
            )
            for raw_id, pattern, comments in rows:
                entry_id = str(
                    uuid.UUID(raw_id if isinstance(raw_id, str) else bytes(raw_id).hex())
                )
                stored[(resource, pattern)] = {
                    "id": entry_id,
                    "pattern": pattern,
                    "comments": comments,
                }
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        assert wal.stat().st_size == 0, "the WAL was not checkpointed entirely"
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()
    return stored


def test_kill_mid_write_loses_no_acknowledged_write(
    server: ServerProcess, database_url: str, database: Database
) -> None:
    account = new_account(database)
    writers = [Writer(index, account) for index in range(WRITERS)]
    sqlite_path = Path(make_url(database_url).database or "") if database.is_sqlite else None
    tally = Tally()
    rng = random.Random(7)
    cut: Counter[str] = Counter()  # what became of the requests a kill interrupted

    def settle(stored: State, *, full: bool, count: bool) -> None:
        for writer in writers:
            interrupted = writer.in_flight is not None
            committed = writer.settle(stored, full=full)
            if interrupted and count:
                cut["committed" if committed else "not committed"] += 1

    for kill in range(KILLS):
        base = server.start()
        # The previous kill's outcome through the API: every field of every entry.
        settle(stored_by_api(base, account), full=True, count=sqlite_path is None)

        killed = threading.Event()
        threads = [
            threading.Thread(target=writer.run, args=(base, tally, killed), daemon=True)
            for writer in writers
        ]
        acked_before = tally.acked
        for thread in threads:
            thread.start()
        # Kill once some writes went through, at a moment that varies from kill to kill.
        target = acked_before + rng.randint(15, 40)
        deadline = time.monotonic() + 60
        while tally.acked < target and time.monotonic() < deadline and not tally.unexpected:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        killed.set()
        server.kill()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a writer hung"
        assert tally.unexpected == [], tally.unexpected
        assert tally.acked >= target, f"kill {kill}: only {tally.acked} acknowledged writes"
        if sqlite_path is not None:
            # Before any restart: the file as the killed process left it.
            settle(stored_in_sqlite_file(sqlite_path, account), full=False, count=True)

    base = server.start()
    settle(stored_by_api(base, account), full=True, count=sqlite_path is None)
    print(  # noqa: T201 - the figures worth seeing with -s
        f"\n{database.engine.dialect.name}: {KILLS} kills, statuses {dict(tally.statuses)}, "
        f"{tally.acked} acknowledged writes checked, {tally.interrupted} requests cut by a "
        f"kill ({cut['committed']} had committed, {cut['not committed']} had not)"
    )
    # The kills did cut requests in flight, not only idle connections.
    assert tally.interrupted >= 1

    # The service answers normally. Its settings version counts every acknowledged write and
    # every interrupted one that was committed (the bump is in the same transaction), and it
    # takes new writes.
    version = settings_version(base, account.id, account.read_token)
    assert version == tally.acked + cut["committed"]
    headers = {"Authorization": f"Bearer {account.token}"}
    url = base + SETTINGS_PATH.format(account=account.id) + "/block_senders"
    body = create_body("block_senders", "after.crash.example", "after the kills")
    created = httpx.post(url, json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    assert settings_version(base, account.id, account.read_token) == version + 1
    listed = httpx.get(url, params={"pattern": "after.crash.example"}, headers=headers)
    assert listed.json()["result"] == [created.json()["result"]]
    server.stop()
    if sqlite_path is not None:
        connection = sqlite3.connect(sqlite_path)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            connection.close()
