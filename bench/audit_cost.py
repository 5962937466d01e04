"""What audit records cost a batch of 1,000.

    python bench/audit_cost.py [--repeat 15] [--databases sqlite,postgres]

The app in-process (TestClient: no sockets) on a fresh database: `POST /allow_policies/batch`
with 1,000 posts, and with 1,000 mixed operations (250 each of deletes, patches, puts and
posts), each timed with the audit trail writing its records and with it writing none (the
trail's `write` swapped for one that drops what it noted: only here, to have the baseline in
the same run). The two arms alternate, so that the machine's drift hits both alike; the
figure to read is the median of the per-pair ratios.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from harness import Target, run_each_database
from listing import entry

from email_security.app import create_app
from email_security.audit.records import Trail
from email_security.config import Settings

SETTINGS = "/client/v4/accounts/{account}/email-security/settings/allow_policies"


@contextmanager
def audit_off() -> Iterator[None]:
    writes = Trail.write

    def drop(self: Trail, session: Any) -> None:
        self._pending.clear()

    Trail.write = drop  # type: ignore[method-assign]
    try:
        yield
    finally:
        Trail.write = writes  # type: ignore[method-assign]


class Batches:
    def __init__(self, client: TestClient, path: str, first_number: int) -> None:
        self.client = client
        self.path = path
        self.rng = random.Random(first_number)
        self.number = first_number
        self.ids: list[str] = []

    def posts(self) -> float:
        body = {
            "deletes": [],
            "patches": [],
            "puts": [],
            "posts": [self._entry() for _ in range(1000)],
        }
        elapsed, result = self._post(body)
        self.ids += [item["id"] for item in result["posts"]]
        return elapsed

    def mixed(self) -> float:
        self.rng.shuffle(self.ids)
        deleted, patched, replaced = self.ids[:250], self.ids[250:500], self.ids[500:750]
        body = {
            "deletes": [{"id": i} for i in deleted],
            "patches": [{"id": i, "comments": "reviewed"} for i in patched],
            "puts": [{**self._entry(), "id": i} for i in replaced],
            "posts": [self._entry() for _ in range(250)],
        }
        elapsed, result = self._post(body)
        self.ids = self.ids[250:] + [item["id"] for item in result["posts"]]
        return elapsed

    def _entry(self) -> dict[str, Any]:
        self.number += 1
        return entry(self.number, self.rng)

    def _post(self, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = self.client.post(f"{self.path}/batch", json=body)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, response.json()["result"]


def paired(
    repeat: int, on: Callable[[], float], off: Callable[[], float]
) -> tuple[list[float], list[float]]:
    with_audit, without = [], []
    for turn in range(repeat):
        first_on = turn % 2 == 0
        for audited in (first_on, not first_on):
            if audited:
                with_audit.append(on())
            else:
                with audit_off():
                    without.append(off())
    return with_audit, without


def run(target: Target, args: argparse.Namespace) -> None:
    account, token = target.new_token()
    app = create_app(Settings(database_url=target.url))
    print(f"\n{target.label}: one batch of 1,000, seconds ({args.repeat} pairs, alternating)")
    print("| batch | with audit records, median | without | ratio, median of pairs (quartiles) |")
    print("|---|---|---|---|")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        audited = Batches(client, SETTINGS.format(account=account), 0)
        plain = Batches(client, SETTINGS.format(account=account), 10_000_000)
        audited.posts(), plain.posts()  # warm up: the first request of each kind pays imports
        for name, kind in (("1,000 posts", "posts"), ("1,000 mixed (250 of each)", "mixed")):
            on, off = paired(args.repeat, getattr(audited, kind), getattr(plain, kind))
            ratios = [a / b for a, b in zip(on, off, strict=True)]
            quartiles = statistics.quantiles(ratios, n=4)
            print(
                f"| {name} | {statistics.median(on):.3f} | {statistics.median(off):.3f} | "
                f"**{statistics.median(ratios):.2f}x** "
                f"({quartiles[0]:.2f}x-{quartiles[2]:.2f}x) |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    run_each_database(parser, run)


if __name__ == "__main__":
    main()
