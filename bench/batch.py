"""Batch writes and bulk import.

    python bench/batch.py [--repeat 5] [--import-size 1000000] [--import-at REVISION,...]
                          [--databases sqlite,postgres]

Against a real `email-security serve` process: one batch of 1,000 posts (allow policies),
and one batch of 1,000 mixed operations (250 each of deletes, patches, puts and posts on
an account holding the entries to change), each `--repeat` times, timed by the client.
Then `email-security import` of `--import-size` entries from a JSON Lines file into a new
account: wall-clock time and the peak resident memory of the import process. With
`--import-at 0005,head`, the import runs instead into a fresh database at each schema
revision, in turn, `--import-rounds` times: what a migration's triggers cost an import.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import time

import httpx
from harness import CLI, Target, run_each_database, sibling
from listing import entry

SETTINGS = "/client/v4/accounts/{account}/email-security/settings/allow_policies"


def timed_batch(client: httpx.Client, path: str, body: dict[str, object]) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()["result"]


def posts(start: int, rng: random.Random) -> list[dict[str, object]]:
    return [entry(number, rng) for number in range(start, start + 1000)]


def measure_batches(target: Target, args: argparse.Namespace) -> dict[str, list[float]]:
    account, token = target.new_token()
    path = SETTINGS.format(account=account) + "/batch"
    rng = random.Random(7)
    empty: dict[str, list[object]] = {"deletes": [], "patches": [], "puts": []}
    times: dict[str, list[float]] = {"1,000 posts": [], "1,000 mixed (250 of each)": []}
    with target.server() as base:
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300
        )
        next_number = 0
        ids: list[str] = []
        for _ in range(args.repeat):
            elapsed, result = timed_batch(client, path, {**empty, "posts": posts(next_number, rng)})
            next_number += 1000
            times["1,000 posts"].append(elapsed)
            ids.extend(item["id"] for item in result["posts"])
        for _ in range(args.repeat):
            rng.shuffle(ids)
            deleted, patched, replaced = ids[:250], ids[250:500], ids[500:750]
            body = {
                "deletes": [{"id": i} for i in deleted],
                "patches": [{"id": i, "comments": "reviewed"} for i in patched],
                "puts": [{**entry(next_number + n, rng), "id": i} for n, i in enumerate(replaced)],
                "posts": [entry(next_number + 250 + n, rng) for n in range(250)],
            }
            next_number += 500
            elapsed, result = timed_batch(client, path, body)
            times["1,000 mixed (250 of each)"].append(elapsed)
            ids = ids[250:] + [item["id"] for item in result["posts"]]
    return times


def measure_import(target: Target, size: int) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one `email-security import` process."""
    path = target.scratch / "import.jsonl"
    rng = random.Random(11)
    with path.open("w") as out:
        for number in range(size):
            out.write(json.dumps(entry(number, rng)) + "\n")
    env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": target.url}
    command = [*CLI, "import", "allow_policies", str(path), "--account", "bulk-import"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    path.unlink()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("import failed")
    return elapsed, usage.ru_maxrss / 1024


def run(target: Target, args: argparse.Namespace) -> None:
    print(f"\n{target.label}: one batch request, seconds ({args.repeat} times)")
    print("| batch | median | min | max |")
    print("|---|---|---|---|")
    for name, values in measure_batches(target, args).items() if args.repeat else ():
        print(
            f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |"
        )
    if args.import_size and not args.import_at:
        report_import(target.label, args.import_size, *measure_import(target, args.import_size))
    for _ in range(args.import_rounds if args.import_at else 0):
        for revision in args.import_at.split(","):
            with sibling(target, revision) as fresh:
                seconds, peak_mb = measure_import(fresh, args.import_size)
            report_import(fresh.label, args.import_size, seconds, peak_mb)
    print(flush=True)


def report_import(label: str, size: int, seconds: float, peak_mb: float) -> None:
    print(
        f"| import {size:,} entries (CLI), {label} | {seconds:.1f} s "
        f"({size / seconds:,.0f} entries/s) | peak RSS {peak_mb:.0f} MB | |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--import-size", type=int, default=1_000_000)
    parser.add_argument("--import-at", default="", help="schema revisions to import into")
    parser.add_argument("--import-rounds", type=int, default=2)
    run_each_database(parser, run)


if __name__ == "__main__":
    main()
