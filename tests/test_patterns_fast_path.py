"""The fast paths of `normalise_email` and `normalise_domain` agree with the full validators.

`email_security.patterns` answers plain ASCII addresses and host names from their shape and
leaves everything else to email-validator and idna. Each fast path is held to the module's
long way (`_library_*`: the libraries, as before the fast paths), so a fast path that
accepts, refuses or normalises anything differently, or words a refusal differently, fails.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from email_security import patterns
from email_security.patterns import PatternError, normalise_domain, normalise_email

MANY = settings(max_examples=3000, derandomize=True, deadline=None)


def full_email(text: str) -> str:
    return patterns._library_email(text.strip())


def full_domain(text: str) -> str:
    name = text.strip()
    return patterns._library_domain(name[:-1] if name.endswith(".") else name)


def outcome(normalise: object, text: str) -> tuple[str, str]:
    """("ok", value) or ("refused", message): what a caller can observe."""
    assert callable(normalise)
    try:
        return "ok", normalise(text)
    except PatternError as exc:
        return "refused", str(exc)


# --- the pieces addresses and names are made of ------------------------------------------

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
LDH = string.ascii_letters + string.digits + "-"
# Characters a fast path must not take for plain ones: specials, whitespace, controls,
# look-alikes of "@" and ".", combining marks, letters that fold to ASCII ("K" Kelvin,
# "ſ" long s, "ﬁ"), full-width forms, right-to-left letters, a non-character.
ODD = (
    ' "(),:;<>[]\\@.\t\n\r\x00\x7f\u00a0\u00ad\u0301\u0338\u200b\u200c\u200d\u2028\u202e'
    "\u212a\u017f\ufb01\u0130\uff21\uff0e\u3002\uff20\ufe6b\u0660\u05d0\u0627\ufdd0\U0001f600"
)
UNICODE_LETTERS = "äöüßéçñøåæœÄÖÜÉÇÑıİστάξιмирκόσμε中文日本語한국어ไทย"

labels = st.one_of(
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12),
    st.text(alphabet=LDH, min_size=1, max_size=12),
    st.text(alphabet=LDH, min_size=60, max_size=66),  # around the 63-character limit
    st.text(alphabet=LDH + UNICODE_LETTERS, min_size=1, max_size=10),
    st.text(alphabet=LDH + ODD, min_size=0, max_size=6),
    st.sampled_from(
        (
            "xn--bcher-kva",
            "XN--BCHER-KVA",
            "xn--",
            "xn--a",
            "xn---bbk",
            "ab--cd",
            "a--b",
            "-a",
            "a-",
            "-",
            "1",
            "123",
            "0x1",
            "a" * 63,
            "a" * 64,
            "Ab",
            "exAMple",
            "co",
            "bücher",
            "mañana",
            "例え",
            "ſ",
            "K",
            "ﬁ",
        )
    ),
)
tops = st.one_of(
    labels,
    st.sampled_from(
        (
            "com",
            "COM",
            "org",
            "example",
            "io",
            "de",
            "xn--p1ai",
            "рф",
            "test",
            "TEST",
            "local",
            "localhost",
            "onion",
            "invalid",
            "arpa",
            "Arpa",
            "c0m",
            "com1",
            "1com",
            "123",
            "a",
            "x-y",
        )
    ),
)
domains = st.one_of(
    st.builds(lambda parts, top: ".".join([*parts, top]), st.lists(labels, max_size=4), tops),
    # long names, near 253 characters
    st.builds(
        lambda size, count, top: ".".join(["a" * size] * count + [top]),
        st.integers(1, 63),
        st.integers(1, 8),
        tops,
    ),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses().map(lambda address: f"[{address}]"),
    st.ip_addresses(v=6).map(lambda address: f"[IPv6:{address}]"),
    st.text(max_size=20),
)
locals_ = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12),
    st.lists(st.text(alphabet=ATEXT, min_size=1, max_size=8), min_size=1, max_size=4).map(".".join),
    st.text(alphabet=ATEXT + ".", min_size=0, max_size=12),  # leading, trailing, double dots
    st.text(alphabet=ATEXT + ODD + UNICODE_LETTERS, min_size=0, max_size=10),
    st.text(alphabet=string.ascii_letters, min_size=60, max_size=70),  # around 64
    st.text(alphabet=ATEXT + ' @."\\', max_size=10).map(lambda text: f'"{text}"'),  # quoted
    st.sampled_from(
        (
            "Info",
            "INFO",
            "info",
            "Postmaster",
            "postMaster",
            "abuse",
            "NOC",
            "www",
            "user+tag",
            "first.last",
            "a",
            "_",
            "o'neil",
            "x" * 64,
            "x" * 65,
            '"a b"',
            '"a"',
            '"a\\"b"',
            '""',
            "Ünïcode",
            "用户",
        )
    ),
)
plain_labels = st.text(alphabet=LDH, min_size=1, max_size=14).filter(
    lambda label: not label.startswith("-") and not label.endswith("-")
)
plain_domains = st.builds(
    lambda parts, top: ".".join([*parts, top]),
    st.lists(plain_labels, min_size=1, max_size=4),
    st.one_of(st.text(alphabet=string.ascii_letters, min_size=1, max_size=6), tops),
)
plain_locals = st.lists(
    st.text(alphabet=ATEXT, min_size=1, max_size=10), min_size=1, max_size=3
).map(".".join)


@st.composite
def nearly_plain(draw: st.DrawFn) -> str:
    """A plain address, often with one character put in, replaced or taken out."""
    address = f"{draw(plain_locals)}@{draw(plain_domains)}"
    change = draw(st.integers(0, 3))
    if change == 0:
        return address
    at = draw(st.integers(0, len(address)))
    char = draw(st.sampled_from(ODD + ".-@_+" + UNICODE_LETTERS + string.ascii_uppercase))
    if change == 1:
        return address[:at] + char + address[at:]
    if change == 2:
        return address[:at] + char + address[at + 1 :]
    return address[:at] + address[at + 1 :]


spaces = st.sampled_from(("", "", "", " ", "\t", "\n", "  ", "\u00a0", "\u2003", "\r\n"))


@st.composite
def addresses(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(spaces) + draw(nearly_plain()) + draw(spaces)
    local = draw(locals_)
    domain = draw(domains)
    shape = draw(st.integers(0, 9))
    if shape == 0:
        address = f"{local}{domain}"  # no "@"
    elif shape == 1:
        address = f"{local}@{domain}@{draw(domains)}"  # two
    elif shape == 2:
        address = f"Name <{local}@{domain}>"  # a display name
    else:
        address = f"{local}@{domain}"
    return draw(spaces) + address + draw(spaces)


@st.composite
def at_the_length_limits(draw: st.DrawFn) -> str:
    """Addresses of 252 to 256 characters, domains of 252 to 255, labels of 62 to 64."""
    total = draw(st.integers(252, 256))
    top = draw(st.sampled_from(("com", "example", "io")))
    domain_length = draw(st.integers(min(total - 2, 250), min(total - 2, 255)))
    labels_left = domain_length - len(top) - 1
    parts: list[str] = []
    while labels_left > 0:
        size = min(draw(st.integers(1, 64)), labels_left)
        if labels_left - size == 1:  # no room for ".x": one label more or less
            size = labels_left
        parts.append(draw(st.sampled_from("abcXYZ019")) * size)
        labels_left -= size + 1
    domain = ".".join([*parts, top]).lstrip(".")
    local_length = max(1, total - len(domain) - 1)
    local = draw(st.sampled_from(("u", "user.name", "a+b"))) * local_length
    return f"{local[:local_length]}@{domain}"


names = st.one_of(
    domains,
    plain_domains,
    nearly_plain().map(lambda address: address.rpartition("@")[2]),
    domains.map(lambda name: name + "."),  # a trailing dot
    domains.map(lambda name: name + ".."),
    domains.map(lambda name: "." + name),
    domains.map(str.upper),
    st.builds(lambda left, name, right: left + name + right, spaces, domains, spaces),
    st.builds(
        lambda size, count: ".".join(["b" * size] * count),
        st.integers(1, 64),
        st.integers(1, 9),
    ),
)


# --- the properties ------------------------------------------------------------------------


@MANY
@given(addresses())
@example("user1@crm1.example")
@example("Info@Example.COM")
@example("a..b@example.com")
@example(".a@example.com")
@example("a.@example.com")
@example("a@example.com.")
@example("a@-example.com")
@example("a@exa--mple.com")
@example("a@xn--bcher-kva.example")
@example("a@example.test")
@example("a@example.c0m")
@example("a@example.123")
@example("a@localhost")
@example("a@[192.0.2.1]")
@example("a@b")
@example("a@exampl\u212a.com")
@example(" a@example.com ")
def test_normalise_email_agrees_with_email_validator(text: str) -> None:
    assert outcome(normalise_email, text) == outcome(full_email, text)


@MANY
@given(at_the_length_limits())
def test_normalise_email_agrees_at_the_length_limits(text: str) -> None:
    assert outcome(normalise_email, text) == outcome(full_email, text)


@MANY
@given(st.text(max_size=40))
def test_normalise_email_agrees_on_any_text(text: str) -> None:
    assert outcome(normalise_email, text) == outcome(full_email, text)


@MANY
@given(names)
@example("mail1.billing.example")
@example("EXAMPLE.COM.")
@example("example..com")
@example("a" * 63 + ".com")
@example("a" * 64 + ".com")
@example("1.2.3.4")
@example("localhost")
@example("xn--bcher-kva.example")
@example("ab--cd.example")
@example("exampl\u212a.com")
@example(" ")
@example(".")
def test_normalise_domain_agrees_with_idna(text: str) -> None:
    assert outcome(normalise_domain, text) == outcome(full_domain, text)


@MANY
@given(st.text(max_size=40))
def test_normalise_domain_agrees_on_any_text(text: str) -> None:
    assert outcome(normalise_domain, text) == outcome(full_domain, text)


@pytest.mark.parametrize(
    "text",
    [
        "user1@crm1.example",
        "First.Last+tag@Mail.Example.COM",
        "o'neil@example.co.uk",
        "Info@example.com",
        "x" * 64 + "@" + "a" * 63 + ".com",
    ],
)
def test_plain_addresses_take_the_fast_path(text: str) -> None:
    assert patterns._fast_email(text) == full_email(text)


@pytest.mark.parametrize(
    "text", ["mail1.billing.example", "Example.COM", "a" * 63 + ".io", "localhost"]
)
def test_plain_names_take_the_fast_path(text: str) -> None:
    assert patterns._fast_domain(text) == full_domain(text)


@pytest.mark.parametrize(
    "text",
    [
        "a@xn--bcher-kva.example",
        "a@bücher.example",
        '"a b"@example.com',
        "a@[192.0.2.1]",
        "a@example.test",
        "a@example.123",
        "a@example",
        "a..b@example.com",
    ],
)
def test_the_rest_take_the_full_path(text: str) -> None:
    assert patterns._fast_email(text) is None


def full_ip(text: str) -> str:
    return patterns._library_ip(text)


octets = st.one_of(
    st.integers(0, 255).map(str),
    st.sampled_from(("256", "300", "00", "01", "010", "0x1", "1a", " 1", "", "+1", "٣", "１")),
)
ip_texts = st.builds(
    lambda left, parts, right: left + ".".join(parts) + right,
    spaces,
    st.lists(octets, min_size=3, max_size=5),
    st.sampled_from(("", "", "", "/32", "/24", "/0", "/33", ".", "%1")),
)


@MANY
@given(st.one_of(ip_texts, st.ip_addresses().map(str), st.text(max_size=20)))
@example("198.51.100.7")
@example("10.0.0.1")
@example("192.0.0.255")
@example("192.0.1.0")
@example("255.255.255.255")
@example("0.0.0.0")
@example("01.2.3.4")
@example("1.2.3.4 ")
def test_normalise_ip_agrees_with_ipaddress(text: str) -> None:
    assert outcome(patterns.normalise_ip, text) == outcome(full_ip, text)


def test_public_ipv4_takes_the_fast_path() -> None:
    assert patterns._fast_ip("198.51.100.7") == "198.51.100.7"
    assert patterns._fast_ip("10.0.0.1") is None
