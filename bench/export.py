"""Export over HTTP at 100,000 and 1,000,000 entries: rows per second and the server's memory.

    python bench/export.py [--sizes 100000,1000000] [--repeat 2] [--databases sqlite,postgres]

One account grows to each size in turn (allow policies, added with `email-security import`,
as bench/listing.py makes them). At each size a real `email-security serve` process (one
uvicorn worker) answers `GET /allow_policies/export` in JSON Lines and in CSV, `--repeat`
times each (after exporting a small account in both), to a client that reads the stream as
it comes and counts its rows. Before each export the server's peak resident memory is reset
(`/proc/PID/clear_refs`); the growth is its peak during the export (VmHWM) over its resident
memory just before (VmRSS).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from harness import Target, run_each_database
from listing import grow
from tests.server_process import ServerProcess

EXPORT = "/client/v4/accounts/{account}/email-security/settings/allow_policies/export"
FORMATS = ("jsonl", "csv")
WARM_UP_ENTRIES = 3_000  # exported once in each format before anything is measured


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of the process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def timed_export(
    client: httpx.Client, path: str, export_format: str, pid: int
) -> tuple[int, float, int]:
    """(rows, seconds, the server's peak memory growth in kB) of one export."""
    reset_peak(pid)
    before = memory_kb(pid)["VmRSS"]
    started = time.perf_counter()
    lines = 0
    with client.stream("GET", path, params={"format": export_format}) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    rows = lines - 1 if export_format == "csv" else lines  # the header; no cell spans lines
    return rows, elapsed, memory_kb(pid)["VmHWM"] - before


def measure(
    target: Target, account: str, token: str, size: int, args: argparse.Namespace
) -> dict[str, list[tuple[int, float, int]]]:
    results: dict[str, list[tuple[int, float, int]]] = {name: [] for name in FORMATS}
    process = ServerProcess(target.url, target.scratch / f"export-server-{size}.log")
    try:
        base = process.start()
        assert process.process is not None
        pid = process.process.pid
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            path = EXPORT.format(account=account)
            warm_account, warm_token = args.warm
            warm = {"Authorization": f"Bearer {warm_token}"}
            for export_format in FORMATS:  # the first requests load code and start threads
                response = client.get(
                    EXPORT.format(account=warm_account),
                    params={"format": export_format},
                    headers=warm,
                )
                response.raise_for_status()
            for _ in range(args.repeat):
                for export_format in FORMATS:  # interleaved, so that noise hits both
                    rows, seconds, growth = timed_export(client, path, export_format, pid)
                    if rows != size:
                        raise RuntimeError(f"{export_format}: {rows} rows exported, not {size}")
                    results[export_format].append((rows, seconds, growth))
            rss = memory_kb(pid)["VmRSS"]
    finally:
        process.stop()
    print(f"  server VmRSS after the exports: {rss / 1024:.0f} MB", flush=True)
    return results


def run(target: Target, args: argparse.Namespace) -> None:
    account, token = target.new_token()
    args.warm = target.new_token()
    grow(target, args.warm[0], 0, WARM_UP_ENTRIES, seed=0)
    sizes = [int(size) for size in args.sizes.split(",")]
    table = []
    grown = 0
    for size in sizes:
        seconds = grow(target, account, grown, size, seed=0)
        print(f"{target.label}: imported {size - grown:,} entries in {seconds:.1f} s", flush=True)
        grown = size
        for export_format, runs in measure(target, account, token, size, args).items():
            rate = statistics.median(rows / seconds for rows, seconds, _ in runs)
            median_seconds = statistics.median(seconds for _, seconds, _ in runs)
            growth = max(growth for _, _, growth in runs) / 1024
            table.append((size, export_format, median_seconds, rate, growth))
    print(f"\n{target.label}: export of one account, medians of {args.repeat}")
    print("| entries | format | seconds | rows/s | server peak RSS growth (MB, max) |")
    print("|--:|---|--:|--:|--:|")
    for size, export_format, seconds, rate, growth in table:
        print(f"| {size:,} | {export_format} | {seconds:.1f} | {rate:,.0f} | {growth:.1f} |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=2)
    run_each_database(parser, run)


if __name__ == "__main__":
    main()
