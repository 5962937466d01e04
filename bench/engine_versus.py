"""The engine against itself at an earlier commit: evaluations interleaved in one process.

    .venv/bin/python bench/engine_versus.py REV [--size 100000] [--messages 40000]

A shared machine's speed drifts by tens of percent within minutes, so absolute figures from
two runs cannot be compared. Here both engines evaluate the same messages, in alternating
batches of 250 (the order flipped every other batch), on one pinned core; the ratio of
their CPU times is what to read. The engine at REV is extracted with `git show` into a
temporary package and compiled from the same settings; it runs as plain Python, while the
engine now runs compiled when `make install` compiled it (the report says which).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from email_security.engine import COMPILED, compile_settings, evaluate
from engine import SEED, MessageStream, make_settings

ENGINE = "src/email_security/engine"
BATCH = 250


def engine_at(rev: str, into: Path) -> Any:
    """The engine package as it was at `rev`, importable as `engine_at_rev`."""
    package = into / "engine_at_rev"
    package.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{rev}:{ENGINE}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        if not name.endswith(".py"):
            continue
        source = subprocess.run(
            ["git", "show", f"{rev}:{ENGINE}/{name}"], check=True, capture_output=True, text=True
        ).stdout
        source = source.replace("email_security.engine.", "engine_at_rev.")
        source = source.replace("from email_security.engine import", "from engine_at_rev import")
        (package / name).write_text(source)
    sys.path.insert(0, str(into))
    return importlib.import_module("engine_at_rev")


class Collections:
    """Full (oldest-generation) garbage collections, by the engine running when they came."""

    def __init__(self) -> None:
        self.running: str | None = None
        self.full: dict[str, tuple[int, float]] = {}
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or self.running is None:
            return
        if phase == "start":
            self._started = time.process_time()
            return
        count, spent = self.full.get(self.running, (0, 0.0))
        self.full[self.running] = (count + 1, spent + time.process_time() - self._started)

    def stop(self) -> None:
        gc.callbacks.remove(self._observe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the earlier commit, e.g. 7b6f02b")
    parser.add_argument("--size", type=int, default=100_000, help="mixed settings entries")
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})

    with tempfile.TemporaryDirectory() as scratch:
        earlier = engine_at(args.rev, Path(scratch))
        settings, catalog = make_settings(args.size)
        builds: dict[str, float] = {}
        engines: dict[str, tuple[Callable[..., Any], Any]] = {}
        for name, compile_, run in (
            (args.rev, earlier.compile_settings, earlier.evaluate),
            ("now", compile_settings, evaluate),
        ):
            began = time.process_time()
            engines[name] = (run, compile_(settings))
            builds[name] = time.process_time() - began
        stream = MessageStream(catalog, SEED + 7)
        for message in stream.batch(3000):  # warm-up, as bench/engine.py does
            for run, compiled in engines.values():
                run(message, compiled)
        messages = stream.batch(args.messages)
        # The messages live through the run: collect once now, so that their promotion to
        # the oldest generation does not set off a full collection inside one engine's turn.
        gc.collect()
        seconds: dict[str, list[float]] = {name: [] for name in engines}
        collections = Collections()
        order = list(engines.items())
        for start in range(0, len(messages), BATCH):
            batch = messages[start : start + BATCH]
            for name, (run, compiled) in order if start // BATCH % 2 else order[::-1]:
                collections.running = name
                began = time.process_time()
                for message in batch:
                    run(message, compiled)
                seconds[name].append((time.process_time() - began) / len(batch))
            collections.running = None
        collections.stop()

    print(f"{args.size:,} mixed entries, {args.messages:,} new messages, batches of {BATCH}")
    print(f"  the engine now runs {'compiled (mypyc)' if COMPILED else 'as plain Python'}")
    for name, per_message in seconds.items():
        mean = statistics.mean(per_message)
        full, spent = collections.full.get(name, (0, 0.0))
        print(
            f"  {name:>10}: {mean * 1e6:7.1f} µs per evaluation, {1 / mean:8,.0f} per CPU-second;"
            f" compile_settings {builds[name]:.2f} s; {full} full garbage collections"
            f" while it ran ({spent:.2f} s)"
        )
    ratios = [a / b for a, b in zip(seconds[args.rev], seconds["now"], strict=True)]
    overall = sum(seconds[args.rev]) / sum(seconds["now"])
    quartiles = statistics.quantiles(ratios, n=4)
    print(
        f"  speed-up now vs {args.rev}: {overall:.2f}x "
        f"(per batch: median {statistics.median(ratios):.2f}x, "
        f"quartiles {quartiles[0]:.2f}x-{quartiles[2]:.2f}x)"
    )


if __name__ == "__main__":
    main()
