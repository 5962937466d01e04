"""Benchmark of the milter and the policy service on real mail: what they cost Postfix.

    .venv/bin/python bench/mailflow.py [--sizes 1000,100000] [--messages 2000] [--sessions 10]
        [--message-bytes 4096] [--rounds 3] [--latency-messages 300] [--hit-counting]

Runs as root, with Postfix (and its smtp-source) installed and pymilter importable. Two
private Postfix instances (tests/mailflow/postfix.py) run side by side, each relaying to its
own in-process SMTP sink: one calls the policy service at RCPT and the milter at end of data,
the other calls neither ("Postfix alone"), so the difference is the services' cost and
nothing else. For each size, an SQLite database gets that many allow policies and blocked
senders from the engine benchmark's workload (bench/engine_workload.py: 90% exact addresses
and domains, 5% IPs and CIDRs, 5% RE2 regexes; 40% allow policies, 60% blocked senders)
through `email-security import`, plus the protected domain ours.example; no entry matches
the benchmark's sender or client, so every message is evaluated and delivered.

- Throughput: smtp-source sends the messages over parallel sessions, one message per
  connection as an MX receives them, timed from its start until the sink has every message
  (queueing and delivery included). The two configurations alternate in rounds, the order
  reversed every other round, because the machine is shared: medians and the ratio
  with/alone are taken within the one run.
- Latency: one smtplib client sends messages one at a time, each timed from MAIL FROM to
  the reply to the end of DATA (the policy service answers at RCPT, the milter before that
  reply), alternating the configurations in the same rounds. "Added" is the difference of
  the percentiles.
- Memory: the milter's and the policy service's VmRSS after the settings load and after
  the run, and their peak (VmHWM).
- CPU per message, to say where the time goes: the milter's and the policy service's own
  (/proc/PID/stat), smtp-source's and the sink's, and the whole machine's busy time (the
  rest is Postfix, and whatever else ran).
- Hit counting (`--hit-counting`): the database also gets a trusted allow policy for the
  benchmark's sender, so every message honours one entry, and a third Postfix with its own
  services joins the rounds: the services of "with" count no hits
  (EMAIL_SECURITY_HIT_FLUSH_SECONDS=0), those of "counting" count them and write them
  every 10 s (the default). Both judge the same messages the same way; the ratio
  counting / with is their difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from engine_workload import SEED, make_settings  # noqa: E402
from tests.mailflow.postfix import PrivatePostfix, Sink, postfix_missing  # noqa: E402
from tests.mailflow.services import MailServices  # noqa: E402
from tests.server_process import CLI, free_port  # noqa: E402

from email_security.engine import COMPILED  # noqa: E402
from email_security.kit.db import Database  # noqa: E402
from email_security.migrations import upgrade  # noqa: E402
from email_security.resources.allow_policies import AllowPolicy  # noqa: E402
from engine import cpu_model  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
ACCOUNT = "bench"
SENDER = "from@sender.example"
RECIPIENT = "rcpt@ours.example"
WARM_UP_MESSAGES = 100
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ALONE, WITH, COUNTING = "alone", "with", "counting"
FLUSH_SECONDS = "EMAIL_SECURITY_HIT_FLUSH_SECONDS"


# --- settings -------------------------------------------------------------------------------


def write_entries(size: int, folder: Path, hit: bool = False) -> dict[str, Path]:
    """JSON Lines of API create bodies, one file per resource; with `hit`, an allow policy
    that trusts the benchmark's sender too (a hit per message)."""
    settings, _catalog = make_settings(size)
    allow = [
        {
            "pattern": entry.pattern,
            "pattern_type": entry.pattern_type,
            "is_regex": entry.is_regex,
            "is_acceptable_sender": entry.is_acceptable_sender,
            "is_exempt_recipient": entry.is_exempt_recipient,
            "is_trusted_sender": entry.is_trusted_sender,
            "verify_sender": entry.verify_sender,
            "comments": None,
        }
        for entry in settings.allow_policies
    ]
    if hit:
        allow.append(
            {
                "pattern": SENDER,
                "pattern_type": "EMAIL",
                "is_regex": False,
                "is_acceptable_sender": False,
                "is_exempt_recipient": False,
                "is_trusted_sender": True,
                "verify_sender": False,
                "comments": "the benchmark's sender: a hit per message",
            }
        )
    blocked = [
        {
            "pattern": entry.pattern,
            "pattern_type": entry.pattern_type,
            "is_regex": entry.is_regex,
            "comments": None,
        }
        for entry in settings.block_senders
    ]
    domains = [
        {
            "domain": "ours.example",
            "allowed_delivery_modes": ["DIRECT"],
            "drop_dispositions": ["MALICIOUS"],
            "ip_restrictions": [],
            "regions": ["GLOBAL"],
        }
    ]
    files = {}
    for name, bodies in (
        ("domains", domains),
        ("allow_policies", allow),
        ("block_senders", blocked),
    ):
        path = folder / f"{name}-{size}.jsonl"
        path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
        files[name] = path
    return files


def make_database(size: int, folder: Path, hit: bool = False) -> str:
    path = folder / f"settings-{size}.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
    env["EMAIL_SECURITY_DATABASE_URL"] = url
    for name, entries in write_entries(size, folder, hit).items():
        result = subprocess.run(
            [*CLI, "import", name, str(entries), "--account", ACCOUNT],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"import {name}: {result.stderr}{result.stdout}")
        print(f"  {result.stdout.strip()}", file=sys.stderr, flush=True)
    return url


# --- measuring ------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def own_cpu_seconds() -> tuple[float, float]:
    """This process (the sinks) and its waited-for children (smtp-source)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def memory_kb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as status:
        return {
            name: int(value.split()[0])
            for name, _, value in (line.partition(":") for line in status)
            if name in ("VmRSS", "VmHWM")
        }


@dataclass
class CpuSample:
    """CPU seconds spent so far, by whom."""

    milter: float
    policy: float
    sink: float
    source: float
    machine: float

    @classmethod
    def now(cls, services: MailServices | None) -> CpuSample:
        sink, source = own_cpu_seconds()
        milter = process_cpu_seconds(services.milter.pid) if services else 0.0
        policy = process_cpu_seconds(services.policy.pid) if services else 0.0
        return cls(milter, policy, sink, source, machine_busy_seconds())

    def __sub__(self, other: CpuSample) -> CpuSample:
        return CpuSample(
            self.milter - other.milter,
            self.policy - other.policy,
            self.sink - other.sink,
            self.source - other.source,
            self.machine - other.machine,
        )

    def __add__(self, other: CpuSample) -> CpuSample:
        return CpuSample(
            self.milter + other.milter,
            self.policy + other.policy,
            self.sink + other.sink,
            self.source + other.source,
            self.machine + other.machine,
        )


@dataclass
class Configuration:
    label: str
    postfix: PrivatePostfix
    services: MailServices | None
    rates: list[float] = field(default_factory=list)  # messages/s, per round
    cpu: CpuSample = field(default_factory=lambda: CpuSample(0, 0, 0, 0, 0))
    messages: int = 0  # of the throughput rounds, for CPU per message
    latencies: list[float] = field(default_factory=list)  # seconds, per message


def wait_delivered(sink: Sink, target: int, timeout: float) -> None:
    with sink.arrived:
        if not sink.arrived.wait_for(lambda: sink.received >= target, timeout):
            raise RuntimeError(f"the sink has {sink.received} of {target} after {timeout:.0f} s")


def burst(config: Configuration, count: int, sessions: int, size: int) -> float:
    """Messages per second, smtp-source's start to the last delivery."""
    sink = config.postfix.sink
    target = sink.received + count
    command = [SMTP_SOURCE, "-m", str(count), "-s", str(sessions), "-l", str(size)]
    command += ["-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{config.postfix.port}"]
    before = CpuSample.now(config.services)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"smtp-source ({config.label}): {result.stderr}{result.stdout}")
    wait_delivered(sink, target, timeout=60 + count / 5)
    elapsed = time.perf_counter() - started
    config.cpu = config.cpu + (CpuSample.now(config.services) - before)
    return count / elapsed


def message_text(size: int) -> bytes:
    headers = [
        f"From: Sender <{SENDER}>",
        f"To: <{RECIPIENT}>",
        "Subject: Quarterly figures",
        f"Message-ID: <{uuid.uuid4().hex}@sender.example>",
        "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
    ]
    line = "The figures for the quarter are below; please check them before Friday.\r\n"
    body = line * (size // len(line) + 1)
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def sequential(config: Configuration, count: int, size: int) -> None:
    """`count` messages one after the other over one session, each timed."""
    sink = config.postfix.sink
    target = sink.received + count
    with smtplib.SMTP("127.0.0.1", config.postfix.port, timeout=60) as client:
        client.ehlo("client.bench.example")
        for _ in range(count):
            content = message_text(size)
            started = time.perf_counter()
            code, reply = client.mail(SENDER)
            if code == 250:
                code, reply = client.rcpt(RECIPIENT)
            if code == 250:
                code, reply = client.data(content)
            elapsed = time.perf_counter() - started
            if code != 250:
                raise RuntimeError(f"{config.label}: {code} {reply.decode(errors='replace')}")
            config.latencies.append(elapsed)
    wait_delivered(sink, target, timeout=60 + count / 5)


def alternate(
    configs: list[Configuration], rounds: int, run: Callable[[Configuration], None]
) -> None:
    for round_ in range(rounds):
        for config in configs if round_ % 2 == 0 else configs[::-1]:
            run(config)


@dataclass
class SizeResult:
    size: int
    alone: Configuration
    with_services: Configuration
    milter_memory_loaded: dict[str, int]
    milter_memory_after: dict[str, int]
    policy_memory_after: dict[str, int]
    import_seconds: float
    counting: Configuration | None = None  # with --hit-counting


def new_postfix(
    *, services: bool, milter_port: int, policy_port: int, milter_address: str | None = None
) -> PrivatePostfix:
    root = Path(tempfile.mkdtemp(prefix="email-security-bench-postfix-"))
    os.chmod(root, 0o755)  # Postfix's own user must reach its queue
    postfix = PrivatePostfix(
        root,
        milter_port,
        policy_port,
        milter=services,
        policy=services,
        milter_address=milter_address,
    )
    postfix.sink.keep = False
    postfix.start()
    return postfix


def sender_hits(url: str) -> int:
    """The hits written for the allow policy of the benchmark's sender."""
    database = Database(url)
    try:
        with database.read() as connection:
            return int(
                connection.scalar(
                    select(AllowPolicy.hit_count).where(
                        AllowPolicy.account_id == ACCOUNT, AllowPolicy.pattern == SENDER
                    )
                )
                or 0
            )
    finally:
        database.dispose()


def start_services(
    url: str, folder: Path, args: argparse.Namespace, env: dict[str, str]
) -> tuple[MailServices, PrivatePostfix]:
    """Started services and the Postfix that calls them, on ports of their own."""
    milter_port, policy_port = free_port(), free_port()
    folder.mkdir()
    milter_address = f"inet:127.0.0.1:{milter_port}"
    if args.milter_socket == "unix":
        os.chmod(folder, 0o755)  # Postfix's own user must reach the socket
        milter_address = f"unix:{folder / 'milter.sock'}"
    services = MailServices(
        url,
        [ACCOUNT],
        milter_port,
        policy_port,
        folder,
        milter_listen=milter_address,
        env=env,
        count_hits="refused",  # paired as docs/MAIL-FLOW.md sets them up
    )
    services.start()
    try:
        postfix = new_postfix(
            services=True,
            milter_port=milter_port,
            policy_port=policy_port,
            milter_address=milter_address,
        )
    except BaseException:
        services.stop()
        raise
    return services, postfix


def measure_size(
    size: int, alone: PrivatePostfix, folder: Path, args: argparse.Namespace
) -> SizeResult:
    print(f"{size:,} entries: importing ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    url = make_database(size, folder, hit=args.hit_counting)
    import_seconds = time.monotonic() - started
    variants = {WITH: {}} if not args.hit_counting else {WITH: {FLUSH_SECONDS: "0"}, COUNTING: {}}
    started_services: list[tuple[MailServices, PrivatePostfix]] = []
    try:
        print(f"{size:,} entries: starting the services ...", file=sys.stderr, flush=True)
        configs = [Configuration(ALONE, alone, None)]
        for label, env in variants.items():
            services, postfix = start_services(url, folder / f"{label}-{size}", args, env)
            started_services.append((services, postfix))
            configs.append(Configuration(label, postfix, services))
        loaded = memory_kb(started_services[0][0].milter.pid)
        for config in configs:
            burst(config, WARM_UP_MESSAGES, args.sessions, args.message_bytes)
            config.cpu = CpuSample(0, 0, 0, 0, 0)

        def throughput(config: Configuration) -> None:
            rate = burst(config, args.messages, args.sessions, args.message_bytes)
            config.rates.append(rate)
            config.messages += args.messages
            print(f"  {config.label}: {rate:,.0f} messages/s", file=sys.stderr, flush=True)

        print(f"{size:,} entries: throughput ...", file=sys.stderr, flush=True)
        alternate(configs, args.rounds, throughput)
        per_round = max(1, args.latency_messages // args.rounds)
        print(f"{size:,} entries: latency ...", file=sys.stderr, flush=True)
        alternate(configs, args.rounds, lambda c: sequential(c, per_round, args.message_bytes))
        with_services = started_services[0][0]
        milter_after = memory_kb(with_services.milter.pid)
        policy_after = memory_kb(with_services.policy.pid)
    except BaseException:
        for services, postfix in started_services:
            print(services.logs()[-5000:], file=sys.stderr)
            print(postfix.log()[-5000:], file=sys.stderr)
        raise
    finally:
        codes = []
        for services, postfix in started_services:
            postfix.stop()
            shutil.rmtree(postfix.root, ignore_errors=True)
            codes += services.stop()
    if any(codes):
        logs = "".join(services.logs()[-5000:] for services, _ in started_services)
        raise RuntimeError(f"services exited with {codes}: {logs}")
    if args.hit_counting:
        sent = WARM_UP_MESSAGES + args.rounds * (args.messages + per_round)
        written = sender_hits(url)
        print(f"  hits written: {written:,} for {sent:,} messages counted", file=sys.stderr)
        if written != sent:
            raise RuntimeError(f"{written} hits written for {sent} messages")
    return SizeResult(
        size,
        configs[0],
        configs[1],
        loaded,
        milter_after,
        policy_after,
        import_seconds,
        configs[2] if args.hit_counting else None,
    )


# --- report ---------------------------------------------------------------------------------


def postfix_version() -> str:
    result = subprocess.run(["postconf", "-d", "mail_version"], capture_output=True, text=True)
    return result.stdout.partition("=")[2].strip() or "unknown"


def percentile(values: list[float], share: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


def spread(rates: list[float]) -> str:
    return f"±{(max(rates) - min(rates)) / statistics.median(rates) * 50:.0f}%"


def report(results: list[SizeResult]) -> None:
    header = " | ".join(f"{r.size:,} entries" for r in results)
    print(f"| | {header} |")
    print("|---|" + "--:|" * len(results))

    def row(name: str, cell: Callable[[SizeResult], str]) -> None:
        print(f"| {name} | " + " | ".join(cell(r) for r in results) + " |")

    def rate(config: Configuration) -> str:
        return f"{statistics.median(config.rates):,.0f} {spread(config.rates)}"

    def ratio(r: SizeResult) -> float:
        return statistics.median(r.with_services.rates) / statistics.median(r.alone.rates)

    def ms(config: Configuration, share: int) -> float:
        return percentile(config.latencies, share) * 1000

    def cpu_ms(config: Configuration, part: str) -> str:
        return f"{getattr(config.cpu, part) / config.messages * 1000:.2f}"

    def sink_and_source_ms(config: Configuration) -> str:
        return f"{(config.cpu.sink + config.cpu.source) / config.messages * 1000:.2f}"

    def rest_ms(config: Configuration) -> str:
        cpu = config.cpu
        rest = cpu.machine - cpu.milter - cpu.policy - cpu.sink - cpu.source
        return f"{rest / config.messages * 1000:.2f}"

    row("throughput, Postfix alone (msg/s, median)", lambda r: rate(r.alone))
    row("throughput, with milter + policy (msg/s, median)", lambda r: rate(r.with_services))
    row("with / alone", lambda r: f"{ratio(r):.2f}")
    for share in (50, 99):
        row(f"latency p{share}, alone (ms)", lambda r, s=share: f"{ms(r.alone, s):.2f}")
        row(f"latency p{share}, with (ms)", lambda r, s=share: f"{ms(r.with_services, s):.2f}")
        row(
            f"added p{share} (ms)",
            lambda r, s=share: f"{ms(r.with_services, s) - ms(r.alone, s):.2f}",
        )
    row("milter VmRSS, settings loaded (MB)", lambda r: mb(r.milter_memory_loaded["VmRSS"]))
    row("milter VmRSS, after the run (MB)", lambda r: mb(r.milter_memory_after["VmRSS"]))
    row("milter VmHWM (MB)", lambda r: mb(r.milter_memory_after["VmHWM"]))
    row("policy VmRSS, after the run (MB)", lambda r: mb(r.policy_memory_after["VmRSS"]))
    row("CPU ms/msg, machine, alone", lambda r: cpu_ms(r.alone, "machine"))
    row("CPU ms/msg, machine, with", lambda r: cpu_ms(r.with_services, "machine"))
    row("  of which milter", lambda r: cpu_ms(r.with_services, "milter"))
    row("  of which policy", lambda r: cpu_ms(r.with_services, "policy"))
    row("  of which sink + smtp-source", lambda r: sink_and_source_ms(r.with_services))
    row("  of which Postfix and the rest", lambda r: rest_ms(r.with_services))
    row("  Postfix and the rest, alone", lambda r: rest_ms(r.alone))
    if all(r.counting is not None for r in results):
        counting_rows(row, rate, ms, cpu_ms)
    row("import (s)", lambda r: f"{r.import_seconds:.1f}")
    print()
    for result in results:
        cost = 1 - ratio(result)
        verdict = "more" if cost > 0.25 else "less"
        print(
            f"{result.size:,} entries: the milter and the policy service cost {cost:.0%} of "
            f"Postfix-alone throughput ({verdict} than 25%)"
        )
        if result.counting is not None:
            slower = 1 - paired_ratio(result)
            verdict = "more than" if slower > 0.05 else "within"
            print(
                f"{result.size:,} entries: counting hits costs {slower:.1%} of the "
                f"throughput without, round by round ({verdict} 5%)"
            )


def counting_ratio(result: SizeResult) -> float:
    assert result.counting is not None
    return statistics.median(result.counting.rates) / statistics.median(result.with_services.rates)


def paired_ratio(result: SizeResult) -> float:
    """counting / with within each round (the two ran back to back): steadier than the
    ratio of the medians when the machine's load drifts."""
    assert result.counting is not None
    pairs = zip(result.counting.rates, result.with_services.rates, strict=True)
    return statistics.median(counting / without for counting, without in pairs)


def counting_rows(
    row: Callable[[str, Callable[[SizeResult], str]], None],
    rate: Callable[[Configuration], str],
    ms: Callable[[Configuration, int], float],
    cpu_ms: Callable[[Configuration, str], str],
) -> None:
    """The rows of `--hit-counting`: "with" counts no hits, "counting" does."""

    def counting(r: SizeResult) -> Configuration:
        assert r.counting is not None
        return r.counting

    row("throughput, with, counting hits (msg/s, median)", lambda r: rate(counting(r)))
    row("counting / with", lambda r: f"{counting_ratio(r):.3f}")
    row("counting / with, per round (median)", lambda r: f"{paired_ratio(r):.3f}")
    for share in (50, 99):
        row(
            f"latency p{share}, counting hits (ms)",
            lambda r, s=share: f"{ms(counting(r), s):.2f}",
        )
    row("CPU ms/msg, milter, counting hits", lambda r: cpu_ms(counting(r), "milter"))
    row("CPU ms/msg, policy, counting hits", lambda r: cpu_ms(counting(r), "policy"))


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="settings entries, comma-separated")
    parser.add_argument("--messages", type=int, default=2000, help="per throughput round")
    parser.add_argument("--sessions", type=int, default=10, help="smtp-source's parallel sessions")
    parser.add_argument("--message-bytes", type=int, default=4096, help="body size")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--latency-messages", type=int, default=300, help="sequential messages")
    parser.add_argument(
        "--milter-socket",
        choices=("unix", "inet"),
        default="unix",
        help="how Postfix reaches the milter (inet: on loopback TCP)",
    )
    parser.add_argument(
        "--hit-counting",
        action="store_true",
        help="also measure the services counting hits against the same services not counting",
    )
    args = parser.parse_args()
    reason = postfix_missing()
    if reason is None and not Path(SMTP_SOURCE).exists():
        reason = f"{SMTP_SOURCE} is missing (it comes with postfix)"
    if reason:
        sys.exit(reason)
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores (not pinned: Postfix is many processes)")
    print(f"Python {platform.python_version()}, Postfix {postfix_version()}")
    print(f"engine: {'compiled (mypyc)' if COMPILED else 'plain Python'}; seed {SEED}")
    print(f"milter reached over {args.milter_socket} socket")
    if args.hit_counting:
        print("hit counting: on in 'counting', off in 'with'; every message honours one entry")
    print(
        f"throughput: {args.messages:,} messages of {args.message_bytes:,} bytes per round, "
        f"{args.sessions} sessions, one message per connection, {args.rounds} rounds; "
        f"latency: {args.latency_messages} sequential messages over one session per round"
    )
    print()

    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="email-security-bench-mailflow-"))
    os.chmod(folder, 0o755)  # Postfix's own user must reach the milter's socket
    alone = new_postfix(services=False, milter_port=free_port(), policy_port=free_port())
    results = []
    try:
        for size in sizes:
            results.append(measure_size(size, alone, folder, args))
    finally:
        alone.stop()
        shutil.rmtree(alone.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    report(results)
    print(f"\nwall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
