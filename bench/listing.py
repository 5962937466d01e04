"""List and search latency as one account grows to 10,000 / 100,000 / 1,000,000 entries.

    python bench/listing.py [--sizes 10000,100000,1000000] [--repeat 15]
                            [--databases sqlite,postgres]

Allow policies (the resource with the most filters) are added with `email-security import`
to two accounts, A and B, of the same size; B's first page shows that the other account's
rows cost nothing. Each query is sent `--repeat` times, one at a time over a keep-alive
connection, to a real `email-security serve` process; the table gives the median time per
request as the client saw it, in milliseconds, and the last column the growth from the
smallest size to the largest.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import httpx
from harness import Target, run_each_database

SETTINGS = "/client/v4/accounts/{account}/email-security/settings/allow_policies"
WORDS = ("partner", "vendor", "billing", "payroll", "newsletter", "support", "legacy", "crm")


def entry(number: int, rng: random.Random) -> dict[str, object]:
    kind = rng.random()
    if kind < 0.60:
        pattern, pattern_type = f"user{number}@{rng.choice(WORDS)}{number % 997}.example", "EMAIL"
    elif kind < 0.95:
        pattern, pattern_type = f"mail{number}.{rng.choice(WORDS)}.example", "DOMAIN"
    else:
        pattern, pattern_type = (
            f"198.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
            "IP",
        )
    return {
        "pattern": pattern,
        "pattern_type": pattern_type,
        "is_regex": False,
        "is_trusted_sender": rng.random() < 0.10,
        "is_acceptable_sender": rng.random() < 0.30,
        "is_exempt_recipient": rng.random() < 0.05,
        "verify_sender": rng.random() < 0.50,
        "comments": f"{rng.choice(WORDS)} contact {number}",
    }


def grow(target: Target, account: str, start: int, stop: int, seed: int) -> float:
    """Import entries number start..stop-1; returns the seconds the import took."""
    rng = random.Random(seed * 1_000_003 + start)
    path = target.scratch / f"entries-{account}-{start}.jsonl"
    with path.open("w") as out:
        for number in range(start, stop):
            out.write(json.dumps(entry(number, rng)) + "\n")
    started = time.monotonic()
    target.cli("import", "allow_policies", str(path), "--account", account)
    elapsed = time.monotonic() - started
    path.unlink()
    return elapsed


def queries(size: int) -> dict[str, str]:
    deep = max(1, size // 50 // 2)
    probe = size // 2 + 1  # an entry that exists at every size; its number is in its pattern
    return {
        "page 1, created_at": "per_page=50",
        "deep page (middle), created_at": f"per_page=50&page={deep}",
        "page 1, pattern": "per_page=50&order=pattern",
        "deep page (middle), pattern": f"per_page=50&order=pattern&page={deep}",
        "page 1, desc": "per_page=50&direction=desc",
        "is_trusted_sender=true (10%)": "per_page=50&is_trusted_sender=true",
        "is_acceptable_sender=true (30%)": "per_page=50&is_acceptable_sender=true",
        "is_exempt_recipient=true (5%)": "per_page=50&is_exempt_recipient=true",
        "verify_sender=false (50%)": "per_page=50&verify_sender=false",
        "pattern_type=IP (5%)": "per_page=50&pattern_type=IP",
        "pattern= one entry": f"per_page=50&pattern=mail{probe}.vendor.example",
        "search a few (user<n>@, ~1 in 100,000)": f"per_page=50&search=user{probe // 10}@",
        "search 1/1000 (partner7.)": "per_page=50&search=partner7.",
        "search common (vendor)": "per_page=50&search=vendor",
    }


def measure(client: httpx.Client, path: str, repeat: int) -> float:
    times = []
    for attempt in range(repeat + 2):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        if attempt >= 2:  # two warm-up requests
            times.append(elapsed)
    return statistics.median(times) * 1000


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def run(target: Target, args: argparse.Namespace) -> None:
    account_a, token_a = target.new_token()
    account_b, token_b = target.new_token()
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[str, dict[int, float]] = {}
    imports: list[str] = []
    with target.server() as base:
        client_a = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token_a}"}, timeout=120
        )
        client_b = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token_b}"}, timeout=120
        )
        have = 0
        for size in sizes:
            took_a = grow(target, account_a, have, size, 1)
            took_b = grow(target, account_b, have, size, 2)
            imports.append(f"{size - have:,} entries in {took_a:.1f} s / {took_b:.1f} s (A / B)")
            have = size
            for name, query in queries(size).items():
                path = SETTINGS.format(account=account_a) + "?" + query
                results.setdefault(name, {})[size] = measure(client_a, path, args.repeat)
            path = SETTINGS.format(account=account_b) + "?per_page=50"
            results.setdefault("account B: page 1, created_at", {})[size] = measure(
                client_b, path, args.repeat
            )
    report(target.label, sizes, results, imports, args)


def report(
    label: str,
    sizes: list[int],
    results: dict[str, dict[int, float]],
    imports: list[str],
    args: argparse.Namespace,
) -> None:
    print(f"\n{label}: median of {args.repeat} requests, ms (two accounts of each size)")
    print("| query | " + " | ".join(f"{size:,}" for size in sizes) + " | growth |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for name, by_size in results.items():
        cells = " | ".join(f"{by_size[size]:.1f}" for size in sizes)
        growth = by_size[sizes[-1]] / by_size[sizes[0]]
        print(f"| {name} | {cells} | {growth:.1f}x |")
    print("imports (email-security import): " + "; ".join(imports), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    run_each_database(parser, run)


if __name__ == "__main__":
    main()
