"""Benchmark of the policy engine: evaluations per second, index build time and memory.

    .venv/bin/python bench/engine.py [--sizes 1000,100000,1000000] [--seconds N]

Everything is generated from a fixed seed. Settings of each size are 90% exact addresses and
domains, 5% IPs and CIDRs and 5% RE2 regexes, spread over allow policies and blocked
senders, plus a fixed handful of trusted domains, impersonation entries, protected domains
and sending domain restrictions. Messages come as a stream: each one is new (generated
outside the timed sections), drawn from the mix in MESSAGE_MIX. The process is pinned to one
core; every configuration is measured in several interleaved rounds so that the noise of a
shared machine falls on all of them alike, and ratios are taken within the one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import ipaddress
import os
import platform
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from email_security.engine import (
    COMPILED,
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    CompiledSettings,
    ImpersonationEntry,
    Message,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    TrustedDomain,
    compile_settings,
    evaluate,
)

SEED = 20_251_126

# What each generated message is, by weight (percent).
MESSAGE_MIX: tuple[tuple[str, int], ...] = (
    ("nothing", 58),  # an unknown sender: no entry matches
    ("regular", 10),  # one of 5,000 regular correspondents (repeats), no entry matches
    ("exact_email", 8),  # envelope or header From is an EMAIL entry
    ("exact_domain", 7),  # the sender's domain is, or lies below, a DOMAIN entry
    ("cidr", 5),  # client_ip inside an IP/CIDR entry
    ("regex", 5),  # an address, domain or IP that an RE2 entry matches
    ("bec", 2),  # display name of a registry person, from another address
    ("lookalike", 2),  # sender domain confusable with a protected domain
    ("restricted", 2),  # sender under a sending domain restriction
    ("internal", 1),  # sender in one of the account's protected domains
)
# Independent of the kind above, as fractions of all messages.
WITH_DISPLAY_NAME = 0.6
WITH_AUTH = 0.8
WITH_REPLY_TO = 0.1
WITH_DETECTIONS = 0.1
WITH_DOMAIN_AGE = 0.2
RECIPIENT_COUNTS = ((1, 65), (2, 15), (3, 10), (5, 7), (10, 3))  # count, percent

_SYLLABLES = tuple(
    c + v + e
    for c in ("b", "br", "c", "d", "f", "g", "gr", "k", "l", "m", "n", "p", "r", "s", "t", "v")
    for v in ("a", "e", "i", "o", "u", "ai", "ou")
    for e in ("", "n", "r", "l", "x")
)
_TLDS = ("com", "com", "com", "net", "org", "io", "de", "co.uk", "fr", "com.au", "nl", "ch")
_POPULAR = tuple(
    f"{name}.{tld}"
    for name, tld in (
        ("gmail", "com"),
        ("outlook", "com"),
        ("yahoo", "com"),
        ("icloud", "com"),
        ("hotmail", "com"),
        ("gmx", "de"),
        ("web", "de"),
        ("orange", "fr"),
        ("btinternet", "com"),
        ("proton", "me"),
        ("mail", "com"),
        ("aol", "com"),
    )
)
_FIRST = ("ann", "bob", "chen", "dara", "eve", "femi", "gus", "hana", "ivan", "jo", "kim", "lena")
_LAST = ("lee", "smith", "garcia", "okafor", "novak", "tanaka", "muller", "rossi", "khan", "diaz")
_FIRST_OCTETS = tuple(o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198))
# Prefix lengths seen in block and allow lists, with their weights.
_V4_PREFIXES = ((32, 30), (24, 35), (16, 4), (20, 5), (22, 6), (23, 4), (25, 4), (27, 5),
                (28, 4), (29, 3))  # fmt: skip
_V6_PREFIXES = ((128, 20), (64, 40), (48, 30), (32, 10))


def _weighted(rng: random.Random, pairs: tuple[tuple[int, int], ...]) -> int:
    return rng.choices([v for v, _ in pairs], [w for _, w in pairs])[0]


def word(rng: random.Random, syllables: int = 3) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables))


def random_domain(rng: random.Random) -> str:
    sub = f"{rng.choice(('mail', 'mx', 'news', 'eu'))}." if rng.random() < 0.15 else ""
    return f"{sub}{word(rng, rng.randint(2, 4))}.{rng.choice(_TLDS)}"


def random_local(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.5:
        return f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{rng.randint(1, 999)}"
    if shape < 0.8:
        return word(rng, rng.randint(2, 3))
    return f"{rng.choice(('info', 'noreply', 'billing', 'news', 'support'))}{rng.randint(1, 99)}"


def random_ipv4(rng: random.Random) -> ipaddress.IPv4Address:
    first = rng.choice(_FIRST_OCTETS)
    return ipaddress.IPv4Address((first << 24) | rng.getrandbits(24))


def random_ipv6(rng: random.Random) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))


# --- settings -------------------------------------------------------------------------------


@dataclass
class Catalog:
    """What the settings hold, so that messages can be made to match it."""

    emails: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    regex_samples: list[Callable[[random.Random], tuple[str, str]]] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    restricted: list[str] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)  # display name, address


def _regex_entry(
    rng: random.Random, i: int
) -> tuple[str, str, Callable[[random.Random], tuple[str, str]]]:
    """An RE2 pattern, its type, and a maker of (field, text) that it matches."""
    w = f"{word(rng, 2)}{i}"
    tld = rng.choice(("com", "net", "org", "io"))
    shape = rng.random()
    if shape < 0.2:
        return (
            rf".*@(.*\.)?{w}\.{tld}",
            "EMAIL",
            lambda r: ("address", f"{random_local(r)}@{r.choice(('', 'mail.'))}{w}.{tld}"),
        )
    if shape < 0.35:
        return (
            rf"(billing|invoice|payments?)@{w}\.{tld}",
            "EMAIL",
            lambda r: ("address", f"{r.choice(('billing', 'invoice', 'payment'))}@{w}.{tld}"),
        )
    if shape < 0.5:
        return (
            rf"{w}[-._]?[0-9]+@.*",
            "EMAIL",
            lambda r: ("address", f"{w}{r.randint(1, 9999)}@{random_domain(r)}"),
        )
    if shape < 0.6:
        return (
            rf"[a-z0-9._%+-]+@{w}-(mail|mx|smtp)\.{tld}",
            "EMAIL",
            lambda r: ("address", f"{random_local(r)}@{w}-mx.{tld}"),
        )
    if shape < 0.72:
        return (
            rf"(.*\.)?{w}\.{tld}",
            "DOMAIN",
            lambda r: ("address", f"{random_local(r)}@news.{w}.{tld}"),
        )
    if shape < 0.82:
        return (
            rf"{w}[0-9]*\.(com|net|org)",
            "DOMAIN",
            lambda r: ("address", f"{random_local(r)}@{w}{r.randint(1, 99)}.net"),
        )
    if shape < 0.88:
        return (
            rf"mail[0-9]*\.{w}\.{tld}",
            "DOMAIN",
            lambda r: ("address", f"{random_local(r)}@mail2.{w}.{tld}"),
        )
    if shape < 0.9:
        return (
            rf".*{w}.*",
            "DOMAIN",
            lambda r: ("address", f"{random_local(r)}@x{w}y.{r.choice(_TLDS)}"),
        )
    a = random_ipv4(rng).packed
    return (
        rf"{a[0]}\.{a[1]}\.{a[2]}\.[0-9]{{1,3}}",
        "IP",
        lambda r: ("ip", f"{a[0]}.{a[1]}.{a[2]}.{r.randint(0, 255)}"),
    )


def make_settings(
    size: int, *, exact_only: bool = False, seed: int = SEED
) -> tuple[Settings, Catalog]:
    """`size` allow-policy and blocked-sender entries (plus a fixed handful of the rest)."""
    rng = random.Random(seed)
    catalog = Catalog()
    n_regex = 0 if exact_only else size // 20
    n_cidr = 0 if exact_only else size // 20
    n_exact = size - n_regex - n_cidr
    patterns: list[tuple[str, str, bool]] = []
    for _ in range(n_exact):
        if rng.random() < 0.55:
            address = f"{random_local(rng)}@{random_domain(rng)}"
            catalog.emails.append(address)
            patterns.append((address, "EMAIL", False))
        else:
            domain = random_domain(rng)
            catalog.domains.append(domain)
            patterns.append((domain, "DOMAIN", False))
    for _ in range(n_cidr):
        if rng.random() < 0.8:
            prefix = _weighted(rng, _V4_PREFIXES)
            network: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                (random_ipv4(rng), prefix), strict=False
            )
        else:
            prefix = _weighted(rng, _V6_PREFIXES)
            network = ipaddress.IPv6Network((random_ipv6(rng), prefix), strict=False)
        catalog.networks.append(network)
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        patterns.append((text, "IP", False))
    for i in range(n_regex):
        pattern, kind, sample = _regex_entry(rng, i)
        catalog.regex_samples.append(sample)
        patterns.append((pattern, kind, True))
    rng.shuffle(patterns)

    protected = [f"{name}.example" for name in ("acme", "acme-corp", "acmelabs", "northwind")]
    protected += ["contoso.com", "fabrikam.co.uk", "tailspin.de", "wingtiptoys.io"]
    catalog.protected = protected
    allow: list[AllowPolicy] = []
    blocked: list[BlockedSender] = []
    for i, (pattern, kind, is_regex) in enumerate(patterns):
        ident = f"{i:032x}"
        if rng.random() < 0.6:
            blocked.append(BlockedSender(ident, pattern, kind, is_regex))
            continue
        role = rng.random()
        if role < 0.15 and kind == "EMAIL" and not is_regex:
            # Exempt recipients are addresses of the account's own domains.
            local = pattern.partition("@")[0]
            allow.append(
                AllowPolicy(
                    ident, f"{local}@{rng.choice(protected)}", kind, is_exempt_recipient=True
                )
            )
            continue
        trusted = role < 0.6
        allow.append(
            AllowPolicy(
                ident,
                pattern,
                kind,
                is_regex,
                is_trusted_sender=trusted,
                is_acceptable_sender=not trusted,
                verify_sender=rng.random() < 0.5,
            )
        )

    domains = tuple(
        ProtectedDomain(
            f"d{i}",
            name,
            ip_restrictions=("203.0.113.0/24", "2001:db8::/32") if i == 3 else (),
            lookback_hops=2 if i == 2 else 1,
            drop_dispositions=("MALICIOUS", "SPOOF") if i % 2 else (),
        )
        for i, name in enumerate(protected)
    )
    restricted = ["bank-partner.com", "payroll.example", "hr-provider.net", "legal.example"]
    catalog.restricted = restricted
    restrictions = tuple(
        SendingDomainRestriction(f"r{i}", name, exclude=(f"news.{name}",) if i % 2 else ())
        for i, name in enumerate(restricted)
    )
    trusted_domains = tuple(
        TrustedDomain(f"t{i}", name, is_recent=i % 2 == 0, is_similarity=i % 3 != 0)
        for i, name in enumerate(
            (
                "acme-partner.com",
                "acmepay.com",
                "contoso-events.com",
                "northwind-traders.net",
                "fabrikam-hr.co.uk",
                "tailspin-toys.de",
                "acme.co",
                "c0ntoso.com",
            )
        )
    ) + (TrustedDomain("t-re", r"(.*\.)?acme-[a-z]+\.example", is_regex=True, is_similarity=True),)
    people = []
    registry = []
    for i in range(40):
        first, last = _FIRST[i % len(_FIRST)].title(), _LAST[i % len(_LAST)].title()
        name = f"{first} {last}" if i < 20 else f"{first} {last} {i}"
        address = f"{first.lower()}.{last.lower()}@{protected[i % len(protected)]}"
        people.append((name, address))
        if i == 39:
            registry.append(ImpersonationEntry(f"i{i}", name, r".*@acme\.example", True))
        else:
            registry.append(
                ImpersonationEntry(f"i{i}", name, f"{address},{first.lower()}@gmail.com")
            )
    catalog.people = people
    settings = Settings(
        allow_policies=tuple(allow),
        block_senders=tuple(blocked),
        trusted_domains=trusted_domains,
        impersonation_registry=tuple(registry),
        domains=domains,
        sending_domain_restrictions=restrictions,
        version=size,
    )
    return settings, catalog


# --- messages -------------------------------------------------------------------------------


class MessageStream:
    """An endless, deterministic stream of new messages against one catalog."""

    def __init__(self, catalog: Catalog, seed: int) -> None:
        self._rng = random.Random(seed)
        self._catalog = catalog
        self._kinds = [k for k, _ in MESSAGE_MIX]
        self._weights = [w for _, w in MESSAGE_MIX]
        regular_rng = random.Random(seed ^ 0x5EED)
        self._regulars = [
            f"{random_local(regular_rng)}@{self._sender_domain(regular_rng)}" for _ in range(5000)
        ]
        self._recipients = [
            f"{random_local(regular_rng)}@{regular_rng.choice(catalog.protected)}"
            for _ in range(2000)
        ]

    @staticmethod
    def _sender_domain(rng: random.Random) -> str:
        return rng.choice(_POPULAR) if rng.random() < 0.4 else random_domain(rng)

    def batch(self, count: int) -> list[Message]:
        return [self._message() for _ in range(count)]

    def _message(self) -> Message:
        rng, catalog = self._rng, self._catalog
        kind = rng.choices(self._kinds, self._weights)[0]
        sender = f"{random_local(rng)}@{self._sender_domain(rng)}"
        client_ip = str(random_ipv4(rng) if rng.random() < 0.85 else random_ipv6(rng))
        name = None
        tls: bool | None = rng.random() < 0.9
        if kind == "regular":
            sender = rng.choice(self._regulars)
        elif kind == "exact_email" and catalog.emails:
            sender = rng.choice(catalog.emails)
            if rng.random() < 0.2:
                sender = sender.upper()
        elif kind == "exact_domain" and catalog.domains:
            domain = rng.choice(catalog.domains)
            sub = rng.choice(("", "", "mail.", "eu.news."))
            sender = f"{random_local(rng)}@{sub}{domain}"
        elif kind == "cidr" and catalog.networks:
            network = rng.choice(catalog.networks)
            offset = rng.randrange(min(network.num_addresses, 1 << 32))
            client_ip = str(network.network_address + offset)
        elif kind == "regex" and catalog.regex_samples:
            where, text = rng.choice(catalog.regex_samples)(rng)
            if where == "ip":
                client_ip = text
            else:
                sender = text
        elif kind == "bec":
            name = rng.choice(catalog.people)[0]
            if rng.random() < 0.5:
                name = ", ".join(reversed(name.split(" ", 1)))
        elif kind == "lookalike":
            target = rng.choice(catalog.protected)
            label, _, suffix = target.partition(".")
            swapped = label.replace("o", "0", 1) if "o" in label else label[:-1]
            sender = f"{random_local(rng)}@{swapped}.{rng.choice((suffix, 'com', 'net'))}"
        elif kind == "restricted":
            sub = rng.choice(("", "news.", "mx."))
            sender = f"{random_local(rng)}@{sub}{rng.choice(catalog.restricted)}"
            tls = rng.choice((False, None, True))
        elif kind == "internal":
            person_name, sender = rng.choice(catalog.people)
            name = person_name
        if name is None and rng.random() < WITH_DISPLAY_NAME:
            name = f"{rng.choice(_FIRST).title()} {rng.choice(_LAST).title()}"
        header_from = sender
        envelope_from = sender
        if rng.random() < 0.15:  # a bounce address of a mailing service
            envelope_from = f"bounce-{rng.getrandbits(32):x}@{self._sender_domain(rng)}"
        sender_domain = header_from.rpartition("@")[2]
        auth = AuthResults()
        if rng.random() < WITH_AUTH:
            ok = rng.random() < 0.75
            auth = AuthResults(
                spf=AuthResult("pass" if ok else "softfail", envelope_from.rpartition("@")[2]),
                dkim=(AuthResult("pass" if ok else "fail", sender_domain),)
                + ((AuthResult("pass", "sendgrid.net"),) if rng.random() < 0.3 else ()),
                dmarc=AuthResult("pass" if ok else "fail", sender_domain),
            )
        count = _weighted(rng, RECIPIENT_COUNTS)
        recipients = tuple(rng.choice(self._recipients) for _ in range(count))
        return Message(
            recipients=recipients,
            envelope_from=envelope_from,
            header_from=header_from,
            header_from_name=name,
            reply_to=f"{random_local(rng)}@{self._sender_domain(rng)}"
            if rng.random() < WITH_REPLY_TO
            else None,
            client_ip=client_ip,
            tls=tls,
            auth=auth,
            detections=(rng.choice(("SPAM", "BULK", "SPOOF", "SUSPICIOUS")),)
            if rng.random() < WITH_DETECTIONS
            else (),
            sender_domain_age_days=rng.randint(0, 400) if rng.random() < WITH_DOMAIN_AGE else None,
        )


def single_recipient(messages: list[Message]) -> list[Message]:
    return [dataclasses.replace(m, recipients=m.recipients[:1]) for m in messages]


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
    single: bool
    evaluations: list[int] = field(default_factory=list)  # per round
    seconds: list[float] = field(default_factory=list)  # per round, perf_counter
    cpu_seconds: list[float] = field(default_factory=list)  # per round, this thread's CPU time
    full_collections: int = 0  # of the oldest generation, while this configuration was timed
    collection_seconds: float = 0.0

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
        yield single_recipient(batch) if config.single else batch


class FullCollections:
    """Collections of the oldest generation, charged to the configuration being timed: they
    walk every object alive, the other configurations' indexes included."""

    timing: Config | None = None
    _started = 0.0

    @classmethod
    def observe(cls, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or cls.timing is None:
            return
        if phase == "start":
            cls._started = time.perf_counter()
        else:
            cls.timing.full_collections += 1
            cls.timing.collection_seconds += time.perf_counter() - cls._started


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
            for message in part:
                evaluate(message, compiled)
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
        "--regex-calls",
        type=int,
        metavar="SIZE",
        help="instead: time the regex prefilter's calls against SIZE mixed entries, within "
        "evaluations, then on the same texts in a tight loop and after evicting the CPU caches",
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
        profile(args.profile)
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
        for single in (False, True):
            stream = MessageStream(catalog, SEED + size + single)
            configs.append(Config(label, compiled, stream, single))
        del settings, catalog
    print("measuring ...", file=sys.stderr, flush=True)
    gc.collect()
    rss_before = rss_bytes()
    measure(configs, args.seconds, args.rounds)

    rss_after = rss_bytes()
    report(configs, builds, sizes, exact_sizes)
    print(
        f"\nRSS before measuring {mb(rss_before)} MB, after {mb(rss_after)} MB "
        f"(RE2 DFA states built lazily, LRU caches filling); peak RSS {mb(max_rss())} MB"
    )


def profile(size: int, count: int = 10_000) -> None:
    """The hot path: all recipients, new messages, after the usual warm-up."""
    settings, catalog = make_settings(size)
    compiled = compile_settings(settings)
    stream = MessageStream(catalog, SEED + size)
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
    rows = {(c.label, c.single): c for c in configs}
    mean = sum(n * w for n, w in RECIPIENT_COUNTS) / sum(w for _, w in RECIPIENT_COUNTS)
    print(
        "| settings | build s | tracemalloc peak MB | tracemalloc kept MB | RSS + MB "
        f"| evaluations/s, all recipients (mean {mean:.1f}) | µs/evaluation "
        "| evaluations/s, one recipient | µs/evaluation | CPU share |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for label, measured in builds.items():
        every, one = rows[label, False], rows[label, True]
        share = (every.cpu_share() + one.cpu_share()) / 2
        print(
            f"| {label} | {measured.seconds:.2f} | {mb(measured.traced_peak)} "
            f"| {mb(measured.traced_kept)} | {mb(measured.rss_delta)} "
            f"| {rate_cell(every)} | {1e6 / every.rate():.1f} "
            f"| {rate_cell(one)} | {1e6 / one.rate():.1f} | {share:.0%} |"
        )
    collected = [c for c in configs if c.full_collections]
    print(
        "\nfull garbage collections while timed: "
        + (
            ", ".join(
                f"{c.label} {'one' if c.single else 'all'}: {c.full_collections} "
                f"({c.collection_seconds:.2f} s)"
                for c in collected
            )
            or "none"
        )
    )
    print()
    if 100_000 in sizes:
        mixed = rows["mixed 100,000", False]
        rate = mixed.rate()
        verdict = "met" if rate >= 20_000 else "MISSED"
        print(
            f"target >= 20,000 evaluations/s at 100,000 mixed entries: {rate:,.0f}/s "
            f"({mixed.cpu_rate():,.0f} per CPU-second): {verdict}"
        )
    if len(exact_sizes) == 2:
        small, large = (f"exact {s:,}" for s in exact_sizes)
        for single in (False, True):
            fast, slow = rows[small, single], rows[large, single]
            ratio = fast.rate() / slow.rate()
            cpu_ratio = fast.cpu_rate() / slow.cpu_rate()
            per_round = [a / b for a, b in zip(fast.round_rates(), slow.round_rates(), strict=True)]
            verdict = "met" if ratio <= 2 else "MISSED"
            which = "one recipient" if single else "all recipients"
            print(
                f"{small} vs {large} entries, {which}: {ratio:.2f}x slower "
                f"(per round {min(per_round):.2f}-{max(per_round):.2f}; {cpu_ratio:.2f}x in CPU "
                f"time); target <= 2x: {verdict}"
            )


def max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    main()
