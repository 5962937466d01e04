"""Benchmark of the policy engine: evaluations per second, index build time and memory.

    .venv/bin/python bench/engine.py [--sizes 1000,100000,1000000] [--seconds N]

Everything is generated from a fixed seed (bench/engine_workload.py). Settings of each size
are 90% exact addresses and domains, 5% IPs and CIDRs and 5% RE2 regexes, spread over allow
policies and blocked senders, plus a fixed handful of trusted domains, impersonation
entries, protected domains and sending domain restrictions. Messages come as a stream: each
one is new (generated outside the timed sections), drawn from the mix in MESSAGE_MIX, with
no subject and no body. The "with bodies" column evaluates the same kind of messages, each
with a subject and a plain body of 1.4 to 5 KB (3 to 8 links; in 60% of them also the same
text as HTML, 4.6 KB on average; 3% with a phrase a content policy finds), against the same
settings plus 20 content policies (2 of them off) and 10 URL ignore patterns
(engine_workload.BodyMaker, CONTENT_POLICIES, URL_IGNORE_PATTERNS). The process is pinned to
one core; every configuration is measured in several interleaved rounds so that the noise
of a shared machine falls on all of them alike, and ratios are taken within the one run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine_workload import (
    MESSAGE_MIX,
    RECIPIENT_COUNTS,
    SEED,
    WITH_AUTH,
    WITH_DETECTIONS,
    WITH_DISPLAY_NAME,
    WITH_DOMAIN_AGE,
    WITH_REPLY_TO,
    MessageStream,
    make_settings,
    single_recipient,
    with_content,
)

from email_security.engine import (
    COMPILED,
    CompiledSettings,
    Message,
    Settings,
    compile_settings,
    evaluate,
)

# The timed columns: every recipient, the first recipient only, and messages with bodies.
COLUMNS = ("all", "one", "bodies")


# --- measuring ------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Build:
    seconds: float  # compile_settings, wall clock
    traced_peak: int  # bytes: tracemalloc peak during compile_settings (Python objects only)
    traced_kept: int  # bytes: tracemalloc, still allocated after it (the index itself)
    rss_delta: int  # bytes: resident set growth over compile_settings (includes RE2's C++)


def build(settings: Settings) -> tuple[CompiledSettings, float]:
    gc.collect()
    started = time.perf_counter()
    compiled = compile_settings(settings)
    return compiled, time.perf_counter() - started


def memory_of(size: int, exact_only: bool) -> tuple[int, int, int]:
    """tracemalloc peak and kept, and RSS growth, of compile_settings in a fresh process.

    A fresh process, so that memory freed by earlier sizes is not reused and hidden.
    """
    kind = "exact" if exact_only else "mixed"
    command = [sys.executable, __file__, "--memory-of", f"{kind}:{size}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    peak, kept, rss = (int(v) for v in output.split())
    return peak, kept, rss


def memory_child(spec: str) -> None:
    kind, size = spec.split(":")
    settings, _catalog = make_settings(int(size), exact_only=kind == "exact")
    gc.collect()
    rss_before = rss_bytes()
    compiled = compile_settings(settings)
    gc.collect()
    rss_delta = rss_bytes() - rss_before
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    traced = compile_settings(settings)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del compiled, traced
    print(peak - before, kept - before, rss_delta)


@dataclass
class Config:
    """One thing to time: a compiled index and a stream of messages against it."""

    label: str
    compiled: CompiledSettings
    stream: MessageStream
    column: str  # one of COLUMNS
    evaluations: list[int] = field(default_factory=list)  # per round
    seconds: list[float] = field(default_factory=list)  # per round, perf_counter
    cpu_seconds: list[float] = field(default_factory=list)  # per round, this thread's CPU time
    full_collections: int = 0  # of the oldest generation, while this configuration was timed
    collection_seconds: float = 0.0
    # Every collection while timed: (generation, seconds); and each evaluation's seconds.
    collections: list[tuple[int, float]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def rate(self) -> float:
        return sum(self.evaluations) / sum(self.seconds)

    def cpu_rate(self) -> float:
        """Evaluations per second of CPU time: what an idle core would do."""
        return sum(self.evaluations) / sum(self.cpu_seconds)

    def cpu_share(self) -> float:
        """How much of the wall-clock time this thread had the CPU (1.0 on an idle core)."""
        return sum(self.cpu_seconds) / sum(self.seconds)

    def round_rates(self) -> list[float]:
        return [n / s for n, s in zip(self.evaluations, self.seconds, strict=True)]


CHUNK = 2048  # messages generated at a time, outside the clock
CHECK = 64  # evaluations between two looks at the clock


def messages_of(config: Config) -> Iterator[list[Message]]:
    while True:
        batch = config.stream.batch(CHUNK)
        yield single_recipient(batch) if config.column == "one" else batch


class FullCollections:
    """Collections of the oldest generation, charged to the configuration being timed: they
    walk every object alive, the other configurations' indexes included."""

    timing: Config | None = None
    _started = 0.0

    @classmethod
    def observe(cls, phase: str, info: dict[str, int]) -> None:
        if cls.timing is None:
            return
        if phase == "start":
            cls._started = time.perf_counter()
            return
        taken = time.perf_counter() - cls._started
        cls.timing.collections.append((info["generation"], taken))
        if info["generation"] == 2:
            cls.timing.full_collections += 1
            cls.timing.collection_seconds += taken


def run_for(config: Config, seconds: float) -> None:
    """Evaluate new messages until `seconds` of evaluation time have passed."""
    compiled = config.compiled
    done = 0
    spent = cpu = 0.0
    for batch in messages_of(config):
        for start in range(0, len(batch), CHECK):
            part = batch[start : start + CHECK]
            cpu_started = time.thread_time()
            started = time.perf_counter()
            FullCollections.timing = config
            clock = time.perf_counter
            latencies = config.latencies
            for message in part:
                began = clock()
                evaluate(message, compiled)
                latencies.append(clock() - began)
            FullCollections.timing = None
            spent += time.perf_counter() - started
            cpu += time.thread_time() - cpu_started
            done += len(part)
            if spent >= seconds:
                config.evaluations.append(done)
                config.seconds.append(spent)
                config.cpu_seconds.append(cpu)
                return


def warm_up(config: Config, count: int) -> None:
    for message in config.stream.batch(count):
        evaluate(message, config.compiled)


def measure(configs: list[Config], seconds: float, rounds: int) -> None:
    """Interleaved rounds, the order reversed every other round."""
    for config in configs:
        warm_up(config, 2000)
    gc.callbacks.append(FullCollections.observe)
    for round_ in range(rounds):
        order = configs if round_ % 2 == 0 else configs[::-1]
        for config in order:
            run_for(config, seconds / rounds)


# --- report ---------------------------------------------------------------------------------


def cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def percentile(ordered: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def mb(value: int) -> str:
    return f"{value / 1e6:,.1f}" if abs(value) < 10e6 else f"{value / 1e6:,.0f}"


def rate_cell(config: Config) -> str:
    """Evaluations/s over all rounds, with half the spread between the rounds."""
    rate = config.rate()
    rates = config.round_rates()
    spread = (max(rates) - min(rates)) / rate * 50 if len(rates) > 1 else 0.0
    return f"{rate:,.0f} ±{spread:.0f}%"


def describe_mix() -> str:
    kinds = ", ".join(f"{kind} {weight}%" for kind, weight in MESSAGE_MIX)
    counts = ", ".join(f"{n}: {w}%" for n, w in RECIPIENT_COUNTS)
    mean = sum(n * w for n, w in RECIPIENT_COUNTS) / sum(w for _, w in RECIPIENT_COUNTS)
    return (
        f"messages: {kinds}\n"
        f"  display name {WITH_DISPLAY_NAME:.0%}, SPF/DKIM/DMARC results {WITH_AUTH:.0%} "
        f"(75% pass), Reply-To {WITH_REPLY_TO:.0%}, upstream detections "
        f"{WITH_DETECTIONS:.0%}, domain age {WITH_DOMAIN_AGE:.0%}\n"
        f"  recipients per message {counts} (mean {mean:.2f}); every message is new "
        f"(generated outside the clock)\n"
        f"  settings 'exact N' hold exact entries only: there the cidr and regex kinds match "
        f"nothing"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per column")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="SIZE",
        help="instead: profile 10,000 evaluations against SIZE mixed entries "
        "(pyinstrument when importable, else cProfile)",
    )
    parser.add_argument(
        "--bodies", action="store_true", help="with --profile: the messages of the bodies column"
    )
    parser.add_argument(
        "--regex-calls",
        type=int,
        metavar="SIZE",
        help="instead: time the regex prefilter's calls against SIZE mixed entries, within "
        "evaluations, then on the same texts in a tight loop and after evicting the CPU caches",
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the indexes in the garbage collector's reach (the service freezes them)",
    )
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # internal: KIND:SIZE
    args = parser.parse_args()
    if args.memory_of:
        memory_child(args.memory_of)
        return
    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    else:
        cpu = -1
    if args.profile:
        profile(args.profile, bodies=args.bodies)
        return
    if args.regex_calls:
        regex_calls(args.regex_calls)
        return
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, pinned to core {cpu}")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), {sys.platform}"
    )
    print(f"engine: {'compiled (mypyc)' if COMPILED else 'plain Python'}")
    print(f"seed {SEED}; {args.seconds:g} s timed per column in {args.rounds} interleaved rounds")
    print(describe_mix())
    print()

    configs: list[Config] = []
    builds: dict[str, Build] = {}
    exact_sizes = sorted({min(sizes), max(sizes)})
    plan = [(f"mixed {size:,}", size, False) for size in sizes]
    plan += [(f"exact {size:,}", size, True) for size in exact_sizes]
    for label, size, exact_only in plan:
        print(f"building {label} ...", file=sys.stderr, flush=True)
        settings, catalog = make_settings(size, exact_only=exact_only)
        compiled, seconds = build(settings)
        builds[label] = Build(seconds, *memory_of(size, exact_only))
        for offset, column in enumerate(COLUMNS):
            stream = MessageStream(catalog, SEED + size + offset, bodies=column == "bodies")
            if column == "bodies":
                compiled = compile_settings(with_content(settings))
            configs.append(Config(label, compiled, stream, column))
        del settings, catalog, compiled
    print("measuring ...", file=sys.stderr, flush=True)
    gc.collect()
    if not args.no_freeze:
        gc.freeze()  # as the service does after compiling an index (evaluation/cache.py)
    rss_before = rss_bytes()
    measure(configs, args.seconds, args.rounds)

    rss_after = rss_bytes()
    report(configs, builds, sizes, exact_sizes)
    print(f"\n{full_collection_pauses(frozen=not args.no_freeze)}")
    print(
        f"\nRSS before measuring {mb(rss_before)} MB, after {mb(rss_after)} MB "
        f"(RE2 DFA states built lazily, LRU caches filling); peak RSS {mb(max_rss())} MB"
    )


def full_collection_pauses(frozen: bool) -> str:
    """What one full collection costs now, with every index alive: the pause it would put
    in the mail path (frozen: also with the indexes back in the collector's reach)."""
    started = time.perf_counter()
    gc.collect()
    pause = time.perf_counter() - started
    if not frozen:
        return f"a full collection now takes {pause:.3f} s (indexes in the collector's reach)"
    gc.unfreeze()
    started = time.perf_counter()
    gc.collect()
    reach = time.perf_counter() - started
    return (
        f"a full collection now takes {pause:.3f} s with the indexes frozen, "
        f"{reach:.3f} s with them in the collector's reach"
    )


def profile(size: int, count: int = 10_000, *, bodies: bool = False) -> None:
    """The hot path: all recipients, new messages, after the usual warm-up."""
    settings, catalog = make_settings(size)
    compiled = compile_settings(with_content(settings) if bodies else settings)
    stream = MessageStream(catalog, SEED + size, bodies=bodies)
    for message in stream.batch(2000):
        evaluate(message, compiled)
    messages = stream.batch(count)
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        with cProfile.Profile() as profiler:
            for message in messages:
                evaluate(message, compiled)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    sampler = Profiler(interval=0.0002)
    sampler.start()
    for message in messages:
        evaluate(message, compiled)
    sampler.stop()
    print(sampler.output_text(unicode=True, color=False))


def regex_calls(size: int, count: int = 20_000) -> None:
    """What one regex prefilter call costs in an evaluation, warm, and on a cold CPU cache."""
    from email_security.engine import _index

    settings, catalog = make_settings(size)
    compiled = compile_settings(settings)
    kinds = {id(s._prefilter): kind for kind, s in compiled.senders._regexes.items()}
    stream = MessageStream(catalog, SEED + size)
    for message in stream.batch(2000):
        evaluate(message, compiled)
    within: dict[str, list[int]] = {}
    texts: dict[str, list[str]] = {}
    original = _index._Prefilter.matches

    def timed(prefilter: _index._Prefilter, text: str) -> list[int] | None:
        started = time.perf_counter_ns()
        found = original(prefilter, text)
        kind = kinds.get(id(prefilter), "recipient")
        within.setdefault(kind, []).append(time.perf_counter_ns() - started)
        texts.setdefault(kind, []).append(text)
        return found

    messages = stream.batch(count)
    setattr(_index._Prefilter, "matches", timed)  # noqa: B010 (mypy refuses assigning a method)
    started = time.perf_counter_ns()
    for message in messages:
        evaluate(message, compiled)
    total = time.perf_counter_ns() - started
    setattr(_index._Prefilter, "matches", original)  # noqa: B010

    evict = bytearray(32 << 20)  # larger than the last-level cache
    print(f"{size:,} mixed entries, {count:,} new messages: {total / count / 1000:.1f} µs each")
    print("| texts | calls per message | µs per call in evaluations | warm | cold | share |")
    print("|---|--:|--:|--:|--:|--:|")
    for kind, spent in within.items():
        regexes = compiled.senders._regexes.get(kind)
        prefilter = regexes._prefilter if regexes is not None else None
        warm = cold = float("nan")
        if prefilter is not None:
            sample = texts[kind][:5000]
            began = time.perf_counter_ns()
            for text in sample:
                prefilter.matches(text)
            warm = (time.perf_counter_ns() - began) / len(sample) / 1000
            cold_ns = 0
            for text in sample[:2000]:
                evict[::64] = b"\x01" * len(evict[::64])
                began = time.perf_counter_ns()
                prefilter.matches(text)
                cold_ns += time.perf_counter_ns() - began
            cold = cold_ns / 2000 / 1000
        print(
            f"| {kind} | {len(spent) / count:.2f} | {sum(spent) / len(spent) / 1000:.1f} "
            f"| {warm:.1f} | {cold:.1f} | {sum(spent) / total:.0%} |"
        )


def report(
    configs: list[Config], builds: dict[str, Build], sizes: list[int], exact_sizes: list[int]
) -> None:
    rows = {(c.label, c.column): c for c in configs}
    mean = sum(n * w for n, w in RECIPIENT_COUNTS) / sum(w for _, w in RECIPIENT_COUNTS)
    print(
        "| settings | build s | tracemalloc peak MB | tracemalloc kept MB | RSS + MB "
        f"| evaluations/s, all recipients (mean {mean:.1f}) | µs/evaluation "
        "| evaluations/s, one recipient | µs/evaluation "
        "| evaluations/s, with bodies | µs/evaluation | CPU share |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for label, measured in builds.items():
        every, one, bodies = (rows[label, column] for column in COLUMNS)
        share = (every.cpu_share() + one.cpu_share() + bodies.cpu_share()) / 3
        print(
            f"| {label} | {measured.seconds:.2f} | {mb(measured.traced_peak)} "
            f"| {mb(measured.traced_kept)} | {mb(measured.rss_delta)} "
            f"| {rate_cell(every)} | {1e6 / every.rate():.1f} "
            f"| {rate_cell(one)} | {1e6 / one.rate():.1f} "
            f"| {rate_cell(bodies)} | {1e6 / bodies.rate():.1f} | {share:.0%} |"
        )
    print(
        "\n| settings | column | p50 µs | p99 µs | p99.9 µs | max µs "
        "| collections while timed (generation: count, longest ms) |"
    )
    print("|---|---|--:|--:|--:|--:|---|")
    for c in configs:
        ordered = sorted(c.latencies)
        by_generation: dict[int, tuple[int, float]] = {}
        for generation, taken in c.collections:
            count, longest = by_generation.get(generation, (0, 0.0))
            by_generation[generation] = (count + 1, max(longest, taken))
        kinds = ", ".join(
            f"{g}: {n}, {longest * 1000:.1f}" for g, (n, longest) in sorted(by_generation.items())
        )
        print(
            f"| {c.label} | {c.column} | {percentile(ordered, 0.5) * 1e6:.0f} "
            f"| {percentile(ordered, 0.99) * 1e6:.0f} | {percentile(ordered, 0.999) * 1e6:.0f} "
            f"| {ordered[-1] * 1e6:.0f} | {kinds or 'none'} |"
        )
    collected = [c for c in configs if c.full_collections]
    print(
        "\nfull garbage collections while timed: "
        + (
            ", ".join(
                f"{c.label} {c.column}: {c.full_collections} ({c.collection_seconds:.2f} s)"
                for c in collected
            )
            or "none"
        )
    )
    print()
    if 100_000 in sizes:
        mixed = rows["mixed 100,000", "all"]
        rate = mixed.rate()
        verdict = "met" if rate >= 20_000 else "MISSED"
        print(
            f"target >= 20,000 evaluations/s at 100,000 mixed entries: {rate:,.0f}/s "
            f"({mixed.cpu_rate():,.0f} per CPU-second): {verdict}"
        )
    if len(exact_sizes) == 2:
        small, large = (f"exact {s:,}" for s in exact_sizes)
        for column in ("all", "one"):
            fast, slow = rows[small, column], rows[large, column]
            ratio = fast.rate() / slow.rate()
            cpu_ratio = fast.cpu_rate() / slow.cpu_rate()
            per_round = [a / b for a, b in zip(fast.round_rates(), slow.round_rates(), strict=True)]
            verdict = "met" if ratio <= 2 else "MISSED"
            which = "one recipient" if column == "one" else "all recipients"
            print(
                f"{small} vs {large} entries, {which}: {ratio:.2f}x slower "
                f"(per round {min(per_round):.2f}-{max(per_round):.2f}; {cpu_ratio:.2f}x in CPU "
                f"time); target <= 2x: {verdict}"
            )


def max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    main()
