"""What a warm evaluate request costs with the settings version pushed, and with it read.

    python bench/evaluate_request.py [--batches 30] [--batch 200] [--databases sqlite,postgres]

Two instances of the app on one fresh database holding 1,000 blocked senders: one whose
version watcher runs (the version is pushed: no query per evaluation once warm), one without
(the version is read per evaluation, as a server does while its watcher is reconnecting).
Both are called in-process (no sockets) with the same JSON messages, in interleaved batches;
the table gives the median batch and the SQL statements each request made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import fastapi.routing
from harness import asgi_call, asgi_scope, inline, run_each_database
from sqlalchemy import event

import email_security.evaluation.routes
from email_security.app import create_app
from email_security.audit.records import CLI
from email_security.auth.tokens import create_token
from email_security.config import Settings
from email_security.core.bulk_import import import_entries
from email_security.evaluation.versions import SettingsWrites
from email_security.kit.db import Database
from email_security.resources import RESOURCES

ACCOUNT = "bench"
SENDERS = 100


def counted(database: Database) -> list[int]:
    statements = [0]

    def record(*_args: object) -> None:
        statements[0] += 1

    event.listen(database.engine, "before_cursor_execute", record)
    return statements


async def measure(database_label: str, url: str, batches: int, batch: int) -> None:
    blocked = next(resource for resource in RESOURCES if resource.name == "block_senders")
    setup = Database(url)
    lines = [
        json.dumps(
            {"pattern": f"sender{n}@blocked.example", "pattern_type": "EMAIL", "is_regex": False}
        ).encode()
        for n in range(1000)
    ]
    import_entries(setup, SettingsWrites(setup), blocked, ACCOUNT, lines, CLI)
    with setup.write() as session:
        token = create_token(session, ACCOUNT, read_only=True)
    setup.dispose()
    fastapi.routing.run_in_threadpool = inline  # type: ignore[attr-defined]
    email_security.evaluation.routes.run_in_threadpool = inline  # type: ignore[assignment]
    bodies = [
        json.dumps(
            {"header_from": f"sender{n * 10}@blocked.example", "recipients": ["a@b.example"]}
        ).encode()
        for n in range(SENDERS)
    ]
    path = f"/client/v4/accounts/{ACCOUNT}/email-security/evaluate"
    scope = asgi_scope("POST", path, token, content_type=b"application/json")
    instances = {}
    for label in ("pushed", "read"):
        database = Database(url)
        instances[label] = (create_app(Settings(database_url=url), database=database), database)
    pushed_app = instances["pushed"][0]
    with pushed_app.state.index_cache.watching():
        await asyncio.sleep(0.5)  # let the watcher connect
        times: dict[str, list[float]] = {label: [] for label in instances}
        statements = {label: counted(database) for label, (_, database) in instances.items()}
        for label, (app, _) in instances.items():
            for body in bodies:
                await asgi_call(app, scope, body)  # warm: index, token cache, sender caches
            statements[label][0] = 0
        for _ in range(batches):
            for label, (app, _) in instances.items():
                started = time.perf_counter()
                for n in range(batch):
                    await asgi_call(app, scope, bodies[n % SENDERS])
                times[label].append((time.perf_counter() - started) / batch * 1e6)
    print(f"\n{database_label}\n")
    print("| version | µs per request, median batch | quartiles | SQL statements per request |")
    print("|---|---|---|---|")
    for label in instances:
        quartiles = statistics.quantiles(times[label], n=4)
        per_request = statements[label][0] / (batches * batch)
        print(
            f"| {label} | {statistics.median(times[label]):.0f} "
            f"| {quartiles[0]:.0f}-{quartiles[2]:.0f} | {per_request:.2f} |"
        )
    for _, database in instances.values():
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    run_each_database(
        parser,
        lambda target, args: asyncio.run(
            measure(target.label, target.url, args.batches, args.batch)
        ),
    )


if __name__ == "__main__":
    main()
