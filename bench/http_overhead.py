"""HTTP overhead: our GET one and list endpoints next to a bare FastAPI endpoint.

    python bench/http_overhead.py [--seconds 10] [--rounds 3] [--connections 16]
                                  [--databases sqlite,postgres]

One uvicorn process per server (ours: `email-security serve`; the yardstick: bench/bare_app.py
with the same uvicorn options), loaded by wrk (one thread, keep-alive) on loopback. The three
endpoints are measured in interleaved rounds; the table gives the median round.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from harness import ROOT, Target, WrkResult, run_each_database, wrk
from listing import entry
from tests.server_process import free_port

SETTINGS = "/client/v4/accounts/{account}/email-security/settings"

GET_ONE = """
local ids = {}
for id in string.gmatch(os.getenv("IDS"), "[^,]+") do ids[#ids + 1] = id end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
request = function()
  return wrk.format("GET", os.getenv("BASE") .. "/allow_policies/" .. ids[math.random(#ids)])
end
"""

LIST = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
request = function()
  return wrk.format("GET", os.getenv("BASE") .. "/allow_policies?per_page=50&page="
    .. math.random(1, 20))
end
"""

BARE = """
request = function() return wrk.format("GET", "/bare") end
"""


def seed(base: str, settings: str, token: str) -> list[str]:
    """1,000 allow policies through the batch endpoint; their ids."""
    rng = random.Random(1)
    answer = httpx.post(
        f"{base}{settings}/allow_policies/batch",
        json={
            "deletes": [],
            "patches": [],
            "puts": [],
            "posts": [entry(n, rng) for n in range(1000)],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer.raise_for_status()
    return [item["id"] for item in answer.json()["result"]["posts"]]


def bare_server(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (scratch / "bare.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
            "--no-proxy-headers",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/bare", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    sys.exit("bare server did not start")


def measure(target: Target, args: argparse.Namespace) -> None:
    account, token = target.new_token()
    settings = SETTINGS.format(account=account)
    bare, bare_base = bare_server(target.scratch)
    try:
        with target.server() as base:
            ids = seed(base, settings, token)
            env = {"TOKEN": token, "BASE": settings, "IDS": ",".join(ids)}
            runs: dict[str, list[WrkResult]] = {"bare": [], "get one": [], "list 50": []}
            for _ in range(args.rounds):
                for name, url, lua in (
                    ("bare", bare_base, BARE),
                    ("get one", base, GET_ONE),
                    ("list 50", base, LIST),
                ):
                    runs[name].append(
                        wrk(
                            url,
                            seconds=args.seconds,
                            connections=args.connections,
                            lua=lua,
                            env=env,
                        )
                    )
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    report(target.label, runs, args)


def report(label: str, runs: dict[str, list[WrkResult]], args: argparse.Namespace) -> None:
    print(f"\n{label}: {args.rounds} rounds x {args.seconds} s, {args.connections} connections")
    print("| endpoint | requests/s | vs bare | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    bare_rate = statistics.median(r.rate for r in runs["bare"])
    for name, results in runs.items():
        middle = sorted(results, key=lambda r: r.rate)[len(results) // 2]
        errors = sum(r.errors for r in results)
        print(
            f"| {name} | {middle.rate:,.0f} | {middle.rate / bare_rate:.0%} "
            f"| {middle.p50_ms:.2f} | {middle.p99_ms:.2f} | {errors} |"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    run_each_database(parser, measure)


if __name__ == "__main__":
    main()
