"""Where one request's time goes: a pyinstrument profile of GET one entry and of a list page.

    python bench/profile_request.py [--requests 3000] [--databases sqlite,postgres]

The app is called in-process (no sockets, no uvicorn) on a fresh database holding 1,000
allow policies; the endpoint's thread hop is replaced by a direct call so that the whole
request runs on the profiled thread. Prints one tree per endpoint (frames under 2% hidden).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random

import fastapi.routing
from harness import asgi_call, asgi_scope, inline, run_each_database
from listing import entry
from pyinstrument import Profiler
from sqlalchemy import select

from email_security.app import create_app
from email_security.audit.records import CLI
from email_security.auth.tokens import create_token
from email_security.config import Settings
from email_security.core.bulk_import import import_entries
from email_security.evaluation.versions import SettingsWrites
from email_security.kit.db import Database
from email_security.resources import RESOURCES
from email_security.resources.allow_policies import AllowPolicy

ACCOUNT = "profiled"


async def profile(url: str, requests: int) -> None:
    database = Database(url)
    policies = next(resource for resource in RESOURCES if resource.name == "allow_policies")
    rng = random.Random(3)
    lines = [json.dumps(entry(n, rng)).encode() for n in range(1000)]
    import_entries(database, SettingsWrites(database), policies, ACCOUNT, lines, CLI)
    with database.write() as session:
        token = create_token(session, ACCOUNT)
    app = create_app(Settings(database_url=url), database=database)
    fastapi.routing.run_in_threadpool = inline  # type: ignore[attr-defined]
    base = f"/client/v4/accounts/{ACCOUNT}/email-security/settings/allow_policies"
    with database.read() as connection:
        entry_id = connection.scalar(select(AllowPolicy.id).limit(1))
    entry_path = f"{base}/{entry_id}"
    for name, request in (
        ("GET one entry", asgi_scope("GET", entry_path, token)),
        ("GET list, per_page=50", asgi_scope("GET", base, token, b"per_page=50")),
    ):
        for _ in range(200):
            await asgi_call(app, request)
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        for _ in range(requests):
            await asgi_call(app, request)
        profiler.stop()
        print(f"\n=== {name}: {requests} requests ===")
        text = profiler.output_text(
            unicode=False, color=False, processor_options={"filter_threshold": 0.02}
        )
        print(text)
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    run_each_database(parser, lambda target, args: asyncio.run(profile(target.url, args.requests)))


if __name__ == "__main__":
    main()
