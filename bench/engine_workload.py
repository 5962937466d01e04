"""The engine benchmarks' workload: settings and messages, generated from a fixed seed.

bench/engine.py and bench/engine_versus.py share it; bench/engine.py's docstring and
bench/README.md say what it holds.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    BlockedSender,
    ContentPolicy,
    ImpersonationEntry,
    Message,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    TrustedDomain,
    UrlIgnorePattern,
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
    """An endless, deterministic stream of new messages against one catalog.

    With `bodies`, each message also has a subject and a body (BodyMaker); its other fields
    are those the same seed gives without.
    """

    def __init__(self, catalog: Catalog, seed: int, *, bodies: bool = False) -> None:
        self._rng = random.Random(seed)
        self._bodies = BodyMaker(seed) if bodies else None
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
        message = Message(
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
        return message if self._bodies is None else self._bodies.fill(message)


def single_recipient(messages: list[Message]) -> list[Message]:
    return [dataclasses.replace(m, recipients=m.recipients[:1]) for m in messages]


# --- subjects and bodies --------------------------------------------------------------------

# (name, pattern, targets, enabled): in the shapes accounts write, two of them off.
CONTENT_POLICIES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("gift cards", r"gift\s*cards?", ("SUBJECT", "BODY"), True),
    ("urgent wire", r"(urgent|immediate)\s+wire\s+transfer", ("SUBJECT", "BODY"), True),
    ("credential lure", r"(verify|confirm|validate)\s+your\s+(account|password|mailbox)",
     ("SUBJECT", "BODY"), True),
    ("crypto wallet", r"\b(bitcoin|btc|usdt)\s+wallet\b", ("BODY",), True),
    ("invoice overdue", r"invoice\s*#?\d{5,8}\s+(is\s+)?overdue", ("SUBJECT", "BODY"), True),
    ("mailbox full", r"mailbox\s+(is\s+)?(full|over\s*quota)", ("SUBJECT",), True),
    ("payroll change",
     r"(change|update)\s+(my|the)\s+(direct\s+deposit|payroll|bank\s+details)", ("BODY",), True),
    ("prize", r"you\s+(have\s+)?won\s+\$?[0-9][0-9,]*", ("SUBJECT", "BODY"), True),
    ("e-signature lure", r"docu-?sign.{0,40}(review|sign)\s+(the\s+)?document", ("BODY",), True),
    ("shared file", r"shared\s+(a\s+)?(file|document)\s+with\s+you", ("SUBJECT",), True),
    ("tax refund", r"tax\s+refund", ("SUBJECT", "BODY"), True),
    ("W-2 request", r"\bW-?2\s+forms?\b", ("BODY",), True),
    ("voicemail", r"new\s+voice\s*mail\s+(message|received)", ("SUBJECT",), True),
    ("account locked", r"account\s+(has\s+been\s+)?(suspended|locked|disabled)",
     ("SUBJECT", "BODY"), True),
    ("project names", r"project\s+(falcon|orion)", ("BODY",), True),
    ("code word", r"\bACME-SECRET-[0-9]{4}\b", ("BODY",), True),
    ("card numbers", r"\b4[0-9]{3}([ -]?[0-9]{4}){3}\b", ("BODY",), True),
    ("pay now", r"pay\s+now", ("SUBJECT",), True),
    ("newsletters", r"newsletter", ("SUBJECT", "BODY"), False),
    ("unsubscribe", r"unsubscribe", ("BODY",), False),
)  # fmt: skip
URL_IGNORE_PATTERNS = (
    r"https://(www\.)?acme\.example/.*",
    r"https://[a-z0-9-]+\.sharepoint\.com/.*",
    r"https://docs\.google\.com/.*",
    r"https://(www\.)?linkedin\.com/.*",
    r"https://([a-z0-9]+\.)?zoom\.us/j/[0-9]+.*",
    r"https?://(www\.)?contoso\.com/.*",
    r"https://status\.[a-z0-9-]+\.io/.*",
    r"https://github\.com/acme/.*",
    r"https://(eu|us)\.portal\.northwind\.example/.*",
    r"https://cdn\.fabrikam\.co\.uk/.*\.(png|jpg|gif)",
)
# Phrases a policy above finds, by the policies they trip.
LURES = (
    "please buy three gift cards for the client",
    "we need an urgent wire transfer today",
    "verify your account within 24 hours",
    "send it to this bitcoin wallet",
    "invoice #4823911 is overdue",
    "update the direct deposit details before Friday",
    "you have won $5,000",
    "tax refund pending",
    "account has been suspended",
)
WITH_LURE = 0.03  # messages with one of the phrases, in the subject (a third) or the body
WITH_HTML = 0.6  # messages with an HTML body besides the plain one (multipart/alternative)
_WORDS = (
    "the", "a", "to", "and", "of", "for", "in", "on", "with", "we", "you", "our", "your",
    "is", "are", "be", "this", "that", "please", "thanks", "regards", "meeting", "project",
    "update", "report", "team", "review", "attached", "schedule", "next", "week", "monday",
    "quarter", "budget", "client", "proposal", "draft", "agenda", "notes", "call", "follow",
    "up", "question", "about", "order", "delivery", "shipment", "contract", "renewal",
    "account", "invoice", "payment", "support", "ticket", "release", "version", "feedback",
    "launch", "campaign", "event", "registration", "office", "travel", "booking", "hotel",
    "flight", "confirmed", "pending", "approved", "figures", "sales", "numbers", "forecast",
    "deadline", "friday", "tomorrow", "today", "morning", "afternoon", "available", "time",
)  # fmt: skip
_LINK_HOSTS = (
    "acme.example", "www.acme.example", "acme.sharepoint.com", "docs.google.com",
    "www.linkedin.com", "zoom.us", "contoso.com", "status.tailspin.io",
)  # fmt: skip


def with_content(settings: Settings) -> Settings:
    """The settings with CONTENT_POLICIES and URL_IGNORE_PATTERNS added."""
    return dataclasses.replace(
        settings,
        content_policies=tuple(
            ContentPolicy(f"cp{i}", name, pattern, targets, enabled)
            for i, (name, pattern, targets, enabled) in enumerate(CONTENT_POLICIES)
        ),
        url_ignore_patterns=tuple(
            UrlIgnorePattern(f"u{i}", pattern) for i, pattern in enumerate(URL_IGNORE_PATTERNS)
        ),
    )


class BodyMaker:
    """Subjects of 3 to 9 words; plain bodies of 1.4 to 5.1 KB in paragraphs, with 3 to 8
    links (a third of them to hosts URL_IGNORE_PATTERNS name); in WITH_HTML of the messages
    also the same text as HTML (styled paragraphs in a table, the links as `a` elements, a
    style sheet), 4.6 KB on average; WITH_LURE of them carry a phrase a content policy
    finds."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed ^ 0xB0D1E5)

    def fill(self, message: Message) -> Message:
        rng = self._rng
        subject = " ".join(rng.choices(_WORDS, k=rng.randint(3, 9))).capitalize()
        paragraphs = [self._sentences(rng) for _ in range(rng.randint(4, 12))]
        links = [self._url(rng) for _ in range(rng.randint(3, 8))]
        for url in links:
            at = rng.randrange(len(paragraphs))
            paragraphs[at] = f"{paragraphs[at]} See {url} for details."
        if rng.random() < WITH_LURE:
            lure = rng.choice(LURES)
            if rng.random() < 1 / 3:
                subject = f"{subject}: {lure}"
            else:
                at = rng.randrange(len(paragraphs))
                paragraphs[at] = f"{paragraphs[at]} Also, {lure}."
        body = "\n\n".join(paragraphs) + "\n"
        html = None
        if rng.random() < WITH_HTML:
            html = self._html(paragraphs, links)
        return dataclasses.replace(message, subject=subject, body=body, body_html=html)

    @staticmethod
    def _sentences(rng: random.Random) -> str:
        count = rng.randint(60, 90) * 5 // 7  # about 350 to 500 characters
        words = rng.choices(_WORDS, k=count)
        return " ".join(words).capitalize() + "."

    @staticmethod
    def _url(rng: random.Random) -> str:
        host = rng.choice(_LINK_HOSTS) if rng.random() < 1 / 3 else random_domain(rng)
        path = "/".join(word(rng, 2) for _ in range(rng.randint(1, 3)))
        query = f"?id={rng.getrandbits(40):x}" if rng.random() < 0.5 else ""
        return f"https://{host}/{path}{query}"

    @staticmethod
    def _html(paragraphs: list[str], links: list[str]) -> str:
        style = "font-family:Arial,sans-serif;font-size:14px;line-height:1.5;color:#222"
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
            "body{margin:0}.btn{background:#0a66c2;color:#fff;padding:8px 16px}"
            "td{padding:4px 8px}</style></head><body>",
            f"<table role='presentation' width='100%'><tr><td style='{style}'>",
        ]
        for paragraph in paragraphs:
            text = paragraph.replace("&", "&amp;").replace("<", "&lt;")
            for url in links:
                text = text.replace(url, f"<a href='{url}' style='color:#0a66c2'>{url}</a>")
            parts.append(f"<p style='{style}'>{text}</p>")
        parts.append("</td></tr></table></body></html>")
        return "".join(parts)
