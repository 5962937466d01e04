"""Mixed read/write load against one real server, driven by wrk on loopback.

    python bench/load.py [--seconds 60] [--connections 200] [--workers 1] [--postgres URL]

Starts `email-security serve` on a fresh database (a SQLite file, or a new database on the
PostgreSQL server given), seeds an account, then holds the load with wrk: 70% lists and
gets, 30% writes (creates, patches, deletes), spread over three resources. Prints
throughput, latency percentiles and every non-2xx answer. Needs `wrk` (Debian: apt-get
install wrk; `make load` installs it when missing).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import fresh_postgres_database  # noqa: E402

from email_security.config import normalise_database_url  # noqa: E402

LUA = r"""
local account = os.getenv("ACCOUNT")
local token = os.getenv("TOKEN")
local base = "/client/v4/accounts/" .. account .. "/email-security/settings/"
local ids = {}
for id in string.gmatch(os.getenv("SEED_IDS"), "[^,]+") do ids[#ids + 1] = id end
local counter = 0
local thread_tag = tostring(math.random(1, 1e9))

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local roll = math.random(100)
  if roll <= 40 then
    return wrk.format("GET", base .. "allow_policies?per_page=50&page=" .. math.random(1, 20))
  elseif roll <= 55 then
    return wrk.format("GET", base .. "allow_policies/" .. ids[math.random(#ids)])
  elseif roll <= 70 then
    return wrk.format("GET", base .. "block_senders?search=user" .. math.random(1, 99))
  elseif roll <= 85 then
    local body = string.format(
      '{"pattern":"load%s-%d@example.com","pattern_type":"EMAIL","is_regex":false}',
      thread_tag, counter)
    return wrk.format("POST", base .. "block_senders", nil, body)
  elseif roll <= 95 then
    local body = string.format('{"comments":"load %d"}', counter)
    return wrk.format("PATCH", base .. "allow_policies/" .. ids[math.random(#ids)], nil, body)
  else
    local body = string.format(
      '{"pattern":"t%s-%d.example","is_regex":false,"is_recent":false,"is_similarity":true}',
      thread_tag, counter)
    return wrk.format("POST", base .. "trusted_domains", nil, body)
  end
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write("LATENCY")
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format(" p%s=%.2f", p, latency:percentile(p) / 1000))
  end
  io.write("\n")
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk, or `make load`)")
    with tempfile.TemporaryDirectory() as scratch:
        if args.postgres:
            with fresh_postgres_database(normalise_database_url(args.postgres)) as url:
                measure(args, url, scratch, "PostgreSQL")
        else:
            measure(args, f"sqlite:///{scratch}/load.db", scratch, "SQLite")


def measure(args: argparse.Namespace, url: str, scratch: str, label: str) -> None:
    env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": url}
    cli = [sys.executable, "-m", "email_security"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    account = secrets.token_hex(16)
    created = subprocess.run(
        [*cli, "tokens", "create", "--account", account],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        seed_ids = seed(base, account, token)
        script = Path(scratch) / "mixed.lua"
        script.write_text(LUA)
        wrk_env = {**os.environ, "ACCOUNT": account, "TOKEN": token, "SEED_IDS": ",".join(seed_ids)}
        threads = min(args.connections, os.cpu_count() or 2)
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base,
        ]
        output = subprocess.run(command, env=wrk_env, capture_output=True, text=True, check=True)
        report(label, args, output.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit("server did not start")


def seed(base: str, account: str, token: str) -> list[str]:
    """1,000 allow policies and 1,000 blocked senders, so lists and searches have work."""
    settings = f"{base}/client/v4/accounts/{account}/email-security/settings"
    headers = {"Authorization": f"Bearer {token}"}
    empty = {"deletes": [], "patches": [], "puts": []}
    policies = [
        {
            "pattern": f"user{i}@partner.example",
            "pattern_type": "EMAIL",
            "is_regex": False,
            "is_trusted_sender": False,
            "is_acceptable_sender": True,
            "is_exempt_recipient": False,
            "verify_sender": True,
        }
        for i in range(1000)
    ]
    answer = httpx.post(
        f"{settings}/allow_policies/batch",
        json={**empty, "posts": policies},
        headers=headers,
        timeout=60,
    )
    answer.raise_for_status()
    senders = [
        {"pattern": f"user{i}@spam.example", "pattern_type": "EMAIL", "is_regex": False}
        for i in range(1000)
    ]
    httpx.post(
        f"{settings}/block_senders/batch",
        json={**empty, "posts": senders},
        headers=headers,
        timeout=60,
    ).raise_for_status()
    return [entry["id"] for entry in answer.json()["result"]["posts"]]


def report(label: str, args: argparse.Namespace, output: str) -> None:
    requests = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    latency = re.search(r"LATENCY (.*)", output)
    print(f"\n{label}: {args.seconds} s, {args.connections} connections, {args.workers} worker(s)")
    print("| requests | requests/s | non-2xx | socket errors | latency ms |")
    print("|---|---|---|---|---|")
    print(
        f"| {requests.group(1) if requests else '?'} | {rate.group(1) if rate else '?'} "
        f"| {errors.group(1) if errors else 0} "
        f"| {socket_errors.group(1) if socket_errors else 'none'} "
        f"| {latency.group(1) if latency else '?'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", help="PostgreSQL server URL; a fresh database is made there")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
