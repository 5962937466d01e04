"""Benchmark of settings changes under a stream of evaluations: do evaluations wait, and how
soon does a change apply?

    .venv/bin/python bench/freshness.py [--sizes 100000,1000000] [--writes 5] [--streams 3]
        [--gap 3.0]

For each size, an SQLite database gets that many mixed entries (bench/mailflow.py's
`make_database`: the engine benchmark's workload as allow policies and blocked senders, plus
a protected domain), and `email-security serve` runs on it with one worker. `--streams`
threads send `POST .../evaluate` back to back, each on its own keep-alive connection, for
a sender no entry matches; meanwhile a writer blocks a new address every `--gap` seconds
(`POST .../block_senders`), and a prober evaluates that address back to back until its
answer is MALICIOUS. Reported:

- evaluation latency over the whole run, and inside the windows that follow a write
  (from the write's answer until the change applied): p50, p99, p99.9, max;
- how many evaluations took longer than 100 ms;
- the time from the write's answer until the first evaluation that sees it (the change
  applied), per write: median and max.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import CLI, ServerProcess

from email_security.engine import COMPILED
from engine import cpu_model, percentile
from mailflow import ACCOUNT, RECIPIENT, make_database

QUIET_SENDER = "nobody@quiet.example"  # matches no entry: every stream evaluation is a miss
SLOW = 0.100


@dataclass
class Timeline:
    """Evaluations as (finished at, seconds taken), and the writes' windows."""

    evaluations: list[tuple[float, float]] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)  # (answered, applied)
    lock: threading.Lock = field(default_factory=threading.Lock)


def token_for(url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
    env["EMAIL_SECURITY_DATABASE_URL"] = url
    made = subprocess.run(
        [*CLI, "tokens", "create", "--account", ACCOUNT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"ess_[A-Za-z0-9_-]+", made.stdout)
    assert found, made.stdout
    return found.group(0)


def evaluate_body(sender: str) -> dict[str, object]:
    return {"envelope_from": sender, "header_from": sender, "recipients": [RECIPIENT]}


def stream(client: httpx.Client, path: str, stop: threading.Event, timeline: Timeline) -> None:
    body = evaluate_body(QUIET_SENDER)
    taken: list[tuple[float, float]] = []
    while not stop.is_set():
        started = time.perf_counter()
        client.post(path, json=body).raise_for_status()
        finished = time.perf_counter()
        taken.append((finished, finished - started))
    with timeline.lock:
        timeline.evaluations += taken


def write_and_probe(
    client: httpx.Client, base: str, number: int, timeline: Timeline, timeout: float = 120.0
) -> float:
    """Blocks a new address; returns seconds from the write's answer until an evaluation
    of that address came back MALICIOUS."""
    address = f"probe-{number}-{time.time_ns()}@fresh.example"
    body = {"pattern": address, "pattern_type": "EMAIL", "is_regex": False}
    client.post(f"{base}/settings/block_senders", json=body).raise_for_status()
    answered = time.perf_counter()
    probe = evaluate_body(address)
    while time.perf_counter() - answered < timeout:
        verdict = client.post(f"{base}/evaluate", json=probe).json()["result"]
        if verdict["recipients"][0]["disposition"] == "MALICIOUS":
            applied = time.perf_counter()
            with timeline.lock:
                timeline.windows.append((answered, applied))
            return applied - answered
    raise RuntimeError(f"the write of {address} did not apply within {timeout} s")


def latency_row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | | | | | |"
    ms = sorted(value * 1000 for value in values)
    slow = sum(1 for value in values if value > SLOW)
    return (
        f"| {label} | {len(ms):,} | {percentile(ms, 0.5):.2f} | {percentile(ms, 0.99):.2f} | "
        f"{percentile(ms, 0.999):.2f} | {max(ms):.2f} | {slow} |"
    )


def run(size: int, args: argparse.Namespace, scratch: Path) -> None:
    print(f"size {size:,}: making the database", file=sys.stderr, flush=True)
    url = make_database(size, scratch)
    token = token_for(url)
    server = ServerProcess(url, scratch / f"server-{size}.log")
    server.start()
    try:
        base = f"{server.base_url}/client/v4/accounts/{ACCOUNT}/email-security"
        headers = {"Authorization": f"Bearer {token}"}
        clients = [httpx.Client(headers=headers, timeout=300) for _ in range(args.streams + 1)]
        started = time.perf_counter()
        clients[0].post(f"{base}/evaluate", json=evaluate_body(QUIET_SENDER)).raise_for_status()
        print(
            f"  first evaluation (the build): {time.perf_counter() - started:.2f} s",
            file=sys.stderr,
            flush=True,
        )
        timeline = Timeline()
        stop = threading.Event()
        threads = [
            threading.Thread(target=stream, args=(client, f"{base}/evaluate", stop, timeline))
            for client in clients[1:]
        ]
        for thread in threads:
            thread.start()
        applied = []
        try:
            time.sleep(args.gap)
            for number in range(args.writes):
                applied.append(write_and_probe(clients[0], base, number, timeline))
                time.sleep(args.gap)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for client in clients:
                client.close()
    finally:
        server.stop()
    everything = [taken for _, taken in timeline.evaluations]
    in_windows = [
        taken
        for finished, taken in timeline.evaluations
        if any(answered <= finished <= done + SLOW for answered, done in timeline.windows)
    ]
    print(f"\n### {size:,} entries\n")
    print("| evaluations | count | p50 ms | p99 ms | p99.9 ms | max ms | > 100 ms |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    print(latency_row("the whole run", everything))
    print(latency_row("while a change applies", in_windows))
    print(
        f"\nChange applied after (s): median {statistics.median(applied):.3f}, "
        f"max {max(applied):.3f} over {len(applied)} writes "
        f"({', '.join(f'{value:.3f}' for value in applied)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between writes")
    args = parser.parse_args()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {cpu_model()}, "
        f"{os.cpu_count()} CPUs; engine {'compiled' if COMPILED else 'plain Python'}; "
        f"SQLite, one worker; {args.streams} evaluation streams, {args.writes} writes "
        f"{args.gap} s apart"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for size in (int(value) for value in args.sizes.split(",")):
            run(size, args, Path(scratch))


if __name__ == "__main__":
    main()
