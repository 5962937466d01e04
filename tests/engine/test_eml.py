"""parse_message: what the engine reads from a raw RFC 5322 message, as docs/ENGINE.md states it.

Every fixture is built here, from literal header lines or with email.message.EmailMessage.
"""

from __future__ import annotations

from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    ImpersonationEntry,
    Message,
    MessageError,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    compile_settings,
    evaluate,
    parse_message,
)

FROM = "From: Ann Lee <ann@partner.example>"
TO = "To: bob@ours.example"
DATE = "Mon, 1 Jan 2024 10:00:00 +0000"


def eml(*headers: str, body: str = "Hello.\r\n") -> bytes:
    """A message from literal header lines (CRLF line ends, as on the wire)."""
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def received(client: str, by: str = "mx.ours.example", protocol: str = "ESMTPS") -> str:
    """A Postfix-style Received header for one hop."""
    return f"Received: from {client} by {by} (Postfix) with {protocol} id 4Xyz; {DATE}"


def parse_or_refuse(raw: bytes) -> Message | None:
    """The parsed message, or None when it is refused with MessageError (and nothing else)."""
    try:
        return parse_message(raw)
    except MessageError:
        return None


# --- sender: Return-Path, From, Reply-To ----------------------------------------------------------


def test_return_path_is_the_envelope_from() -> None:
    message = parse_message(eml("Return-Path: <bounce@lists.partner.example>", FROM, TO))
    assert message.envelope_from == "bounce@lists.partner.example"


def test_null_return_path_of_a_bounce_leaves_the_envelope_from_unknown() -> None:
    message = parse_message(eml("Return-Path: <>", FROM, TO))
    assert message.envelope_from is None
    assert message.header_from == "ann@partner.example"


def test_without_return_path_the_envelope_from_is_unknown() -> None:
    assert parse_message(eml(FROM, TO)).envelope_from is None


def test_return_path_alone_is_enough_of_a_sender() -> None:
    message = parse_message(eml("Return-Path: <bounce@partner.example>", TO))
    assert (message.envelope_from, message.header_from) == ("bounce@partner.example", None)


def test_from_gives_the_address_and_the_display_name() -> None:
    message = parse_message(eml(FROM, TO))
    assert (message.header_from, message.header_from_name) == ("ann@partner.example", "Ann Lee")


def test_from_without_display_name() -> None:
    message = parse_message(eml("From: ann@partner.example", TO))
    assert (message.header_from, message.header_from_name) == ("ann@partner.example", None)


@pytest.mark.parametrize(
    ("from_header", "display_name"),
    [
        pytest.param("=?utf-8?q?Ann_L=C3=A9e?= <ann@x.example>", "Ann Lée", id="utf-8-q"),
        pytest.param("=?UTF-8?B?Wm/DqyDDnG5hbA==?= <zoe@x.example>", "Zoë Ünal", id="utf-8-b"),
        pytest.param(
            "=?iso-8859-1?q?Ren=E9e?= Faure <renee@x.example>", "Renée Faure", id="latin1"
        ),
        pytest.param("=?utf-8?q?Lee=2C_Ann?= <ann@x.example>", "Lee, Ann", id="encoded-comma"),
        pytest.param('"Lee, Ann" <ann@x.example>', "Lee, Ann", id="quoted-comma"),
        pytest.param("=?utf-8?q?=D0=90nn_Lee?= <ann@x.example>", "\u0410nn Lee", id="cyrillic"),
    ],
)
def test_from_display_name_is_decoded(from_header: str, display_name: str) -> None:
    message = parse_message(eml(f"From: {from_header}", TO))
    assert message.header_from_name == display_name
    assert message.header_from is not None
    assert message.header_from.endswith("@x.example")


def test_from_display_name_written_by_email_message() -> None:
    built = EmailMessage()
    built["From"] = Address("Zoë Ann", "zoe", "partner.example")
    built["To"] = "bob@ours.example"
    built.set_content("Hello.")
    message = parse_message(built.as_bytes())
    assert (message.header_from, message.header_from_name) == ("zoe@partner.example", "Zoë Ann")


def test_reply_to_address() -> None:
    message = parse_message(eml(FROM, TO, 'Reply-To: "Accounts" <pay@evil.example>'))
    assert message.reply_to == "pay@evil.example"


def test_without_reply_to() -> None:
    assert parse_message(eml(FROM, TO)).reply_to is None


# --- recipients -----------------------------------------------------------------------------------


def test_recipients_from_delivered_to_over_to_and_cc() -> None:
    raw = eml("Delivered-To: carol@ours.example", FROM, TO, "Cc: dave@ours.example")
    assert parse_message(raw).recipients == ("carol@ours.example",)


def test_recipients_from_every_delivered_to() -> None:
    raw = eml("Delivered-To: carol@ours.example", "Delivered-To: dave@ours.example", FROM, TO)
    assert parse_message(raw).recipients == ("carol@ours.example", "dave@ours.example")


def test_recipients_from_to_and_cc_without_delivered_to() -> None:
    raw = eml(
        FROM,
        'To: "Bob B." <bob@ours.example>, carol@ours.example',
        "Cc: Dave <dave@ours.example>, bob@ours.example",
    )
    assert set(parse_message(raw).recipients) == {
        "bob@ours.example",
        "carol@ours.example",
        "dave@ours.example",
    }


def test_recipients_from_cc_alone() -> None:
    assert parse_message(eml(FROM, "Cc: dave@ours.example")).recipients == ("dave@ours.example",)


def test_given_recipients_win_over_the_headers() -> None:
    raw = eml("Delivered-To: carol@ours.example", FROM, TO)
    message = parse_message(raw, recipients=("erin@ours.example",))
    assert message.recipients == ("erin@ours.example",)


def test_given_recipients_stand_in_for_missing_recipient_headers() -> None:
    message = parse_message(eml(FROM), recipients=("erin@ours.example",))
    assert message.recipients == ("erin@ours.example",)


# --- the Received chain ---------------------------------------------------------------------------


def test_received_chain_is_read_nearest_hop_first() -> None:
    raw = eml(
        received("mail.partner.example (mail.partner.example [192.0.2.25])"),
        received("internal.partner.example (internal [198.51.100.7])", by="mail.partner.example"),
        FROM,
        TO,
    )
    assert parse_message(raw).received_ips == ("192.0.2.25", "198.51.100.7")


@pytest.mark.parametrize(
    ("from_clause", "client_ip"),
    [
        pytest.param(
            "mail.partner.example (mail.partner.example [192.0.2.25])", "192.0.2.25", id="ipv4"
        ),
        pytest.param(
            "mx.partner.example (mx.partner.example [IPv6:2001:db8::25])",
            "2001:db8::25",
            id="ipv6-in-brackets",
        ),
        pytest.param("mx.partner.example ([IPv6:::ffff:192.0.2.25])", "192.0.2.25", id="mapped"),
        pytest.param("mail.partner.example (192.0.2.25)", "192.0.2.25", id="bare-ipv4"),
        pytest.param("mail.partner.example (mail.partner.example)", None, id="no-ip"),
    ],
)
def test_client_ip_of_a_hop(from_clause: str, client_ip: str | None) -> None:
    assert parse_message(eml(received(from_clause), FROM, TO)).received_ips == (client_ip,)


def test_received_header_folded_over_several_lines() -> None:
    raw = eml(
        "Received: from mail.partner.example (mail.partner.example [192.0.2.25])\r\n"
        "\tby mx.ours.example (Postfix) with ESMTPS id 4Xyz\r\n"
        f"\tfor <bob@ours.example>; {DATE}",
        FROM,
        TO,
    )
    message = parse_message(raw)
    assert (message.received_ips, message.received_tls) == (("192.0.2.25",), (True,))


def test_without_received_headers_client_ip_and_tls_are_unknown() -> None:
    message = parse_message(eml(FROM, TO))
    verdict = evaluate(message, compile_settings(Settings())).recipients[0]
    assert (message.received_ips, message.received_tls, message.tls) == ((), (), None)
    assert verdict.client_ip is None


@pytest.mark.parametrize(
    ("protocol", "tls"),
    [
        pytest.param("ESMTPS", True),
        pytest.param("ESMTPSA", True),
        pytest.param("UTF8SMTPS", True),
        pytest.param("ESMTP", False),
        pytest.param("SMTP", False),
        pytest.param("ESMTP (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)", True, id="note"),
    ],
)
def test_tls_of_a_hop_from_its_with_clause(protocol: str, tls: bool) -> None:
    raw = eml(received("mx.partner.example ([192.0.2.25])", protocol=protocol), FROM, TO)
    assert parse_message(raw).received_tls == (tls,)


def test_postfix_tls_note_before_with_esmtps() -> None:
    raw = eml(
        "Received: from mx.partner.example (mx.partner.example [192.0.2.25])\r\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
        f"\tby mx.ours.example (Postfix) with ESMTPS id 4Xyz; {DATE}",
        FROM,
        TO,
    )
    assert parse_message(raw).received_tls == (True,)


def test_hop_without_a_with_clause_has_unknown_tls() -> None:
    raw = eml(f"Received: from mx.partner.example ([192.0.2.25]) by mx.ours.example; {DATE}", FROM)
    assert parse_message(raw, recipients=("bob@ours.example",)).received_tls == (None,)


def chain_settings(lookback_hops: int) -> Settings:
    return Settings(
        domains=(
            ProtectedDomain(
                "dom-ours",
                "ours.example",
                ip_restrictions=("192.0.2.0/24",),
                lookback_hops=lookback_hops,
            ),
        ),
        sending_domain_restrictions=(SendingDomainRestriction("sdr-partner", "partner.example"),),
    )


TWO_HOPS = eml(
    received("relay.ours.example (relay.ours.example [198.51.100.1])", protocol="ESMTP"),
    received("mail.partner.example (mail.partner.example [192.0.2.25])", by="relay.ours.example"),
    FROM,
    TO,
)


@pytest.mark.parametrize(
    ("lookback_hops", "client_ip", "action", "attributes"),
    [
        pytest.param(
            1,
            "198.51.100.1",
            "drop",
            ("SENDING_DOMAIN_RESTRICTION", "IP_RESTRICTION"),
            id="nearest-hop-plain-esmtp-outside",
        ),
        pytest.param(2, "192.0.2.25", "deliver", (), id="second-hop-esmtps-inside"),
    ],
)
def test_client_ip_and_tls_are_read_lookback_hops_deep(
    lookback_hops: int, client_ip: str, action: str, attributes: tuple[str, ...]
) -> None:
    verdict = evaluate(parse_message(TWO_HOPS), compile_settings(chain_settings(lookback_hops)))
    (bob,) = verdict.recipients
    assert (bob.client_ip, bob.action) == (client_ip, action)
    assert set(bob.attributes) == set(attributes)


def test_client_ip_is_the_connecting_ip_not_a_helo_address_literal() -> None:
    raw = eml(received("[192.0.2.25] (unknown [198.51.100.9])", protocol="ESMTP"), FROM, TO)
    assert parse_message(raw).received_ips == ("198.51.100.9",)


# --- Authentication-Results -----------------------------------------------------------------------


def test_authentication_results_give_each_method_its_result_and_domain() -> None:
    raw = eml(
        "Authentication-Results: mx.ours.example;\r\n"
        "\tspf=pass smtp.mailfrom=bounce@lists.partner.example;\r\n"
        "\tdkim=pass header.d=partner.example header.s=s1;\r\n"
        "\tdkim=fail header.d=esp.example;\r\n"
        "\tdmarc=pass header.from=partner.example",
        FROM,
        TO,
    )
    assert parse_message(raw).auth == AuthResults(
        spf=AuthResult("pass", "lists.partner.example"),
        dkim=(AuthResult("pass", "partner.example"), AuthResult("fail", "esp.example")),
        dmarc=AuthResult("pass", "partner.example"),
    )


def test_spf_domain_falls_back_to_helo() -> None:
    raw = eml(
        "Authentication-Results: mx.ours.example; spf=pass smtp.helo=mx.partner.example", FROM
    )
    auth = parse_message(raw, recipients=("bob@ours.example",)).auth
    assert auth.spf == AuthResult("pass", "mx.partner.example")


def test_only_the_topmost_authentication_results_count() -> None:
    raw = eml(
        "Authentication-Results: mx.ours.example; spf=fail smtp.mailfrom=partner.example",
        "Authentication-Results: forged.example; spf=pass smtp.mailfrom=partner.example;"
        " dkim=pass header.d=partner.example; dmarc=pass header.from=partner.example",
        FROM,
        TO,
    )
    assert parse_message(raw).auth == AuthResults(spf=AuthResult("fail", "partner.example"))


def test_without_authentication_results_nothing_passed() -> None:
    assert parse_message(eml(FROM, TO)).auth == AuthResults()


def test_unreadable_authentication_results_are_ignored_not_fatal() -> None:
    message = parse_message(eml("Authentication-Results: ;;; spf== =;", FROM, TO))
    assert message.auth.spf is None or message.auth.spf.result != "pass"
    assert all(dkim.result != "pass" for dkim in message.auth.dkim)


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b" \r\n\t\r\n", id="whitespace"),
        pytest.param(b"Just some text, no header fields at all.\r\n", id="no-headers"),
        pytest.param(b"\xff\xfe\x00\x01", id="binary"),
        pytest.param(eml(TO, "Subject: hi"), id="no-sender"),
        pytest.param(eml("From: undisclosed", TO), id="from-without-address"),
        pytest.param(eml("Return-Path: <>", TO), id="null-return-path-and-no-from"),
        pytest.param(eml(FROM, "Subject: hi"), id="no-recipients"),
        pytest.param(eml(FROM, "To: undisclosed-recipients:;"), id="empty-recipient-group"),
    ],
)
def test_what_is_not_a_message_is_refused_with_message_error(raw: bytes) -> None:
    with pytest.raises(MessageError):
        parse_message(raw)


def test_message_error_is_a_value_error() -> None:
    assert issubclass(MessageError, ValueError)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(eml('From: "', TO), id="from-lone-quote"),
        pytest.param(eml("From: x:;b(", TO), id="from-group-then-comment"),
        pytest.param(eml("From: :<", TO), id="from-unclosed-angle"),
        pytest.param(eml(FROM, 'To: "'), id="to-lone-quote"),
        pytest.param(eml(FROM, TO, 'Reply-To: "'), id="reply-to-lone-quote"),
    ],
)
def test_malformed_address_header_raises_nothing_but_message_error(raw: bytes) -> None:
    parse_or_refuse(raw)


# --- end to end -----------------------------------------------------------------------------------


def test_verified_trusted_partner_is_delivered_despite_upstream_spam() -> None:
    settings = Settings(
        domains=(ProtectedDomain("dom-ours", "ours.example"),),
        allow_policies=(
            AllowPolicy(
                "allow-trust-partner",
                "partner.example",
                "DOMAIN",
                is_trusted_sender=True,
                verify_sender=True,
            ),
        ),
    )
    raw = eml(
        "Return-Path: <bounce@esp.example>",
        "Authentication-Results: mx.ours.example; spf=pass smtp.mailfrom=bounce@esp.example;"
        " dkim=pass header.d=mail.partner.example; dmarc=fail header.from=partner.example",
        received("mail.esp.example (mail.esp.example [192.0.2.25])"),
        FROM,
        TO,
    )
    message = parse_message(raw)
    verdict = evaluate(replace(message, detections=("SPAM",)), compile_settings(settings))
    (bob,) = verdict.recipients
    assert (bob.recipient, bob.disposition, bob.action) == ("bob@ours.example", "NONE", "deliver")
    (match,) = bob.matches
    assert (match.id, match.field, match.honored) == ("allow-trust-partner", "header_from", True)
    assert "DKIM" in match.reason


def test_unverified_trusted_partner_is_not_honoured() -> None:
    settings = Settings(
        allow_policies=(
            AllowPolicy(
                "allow-trust-partner",
                "partner.example",
                "DOMAIN",
                is_trusted_sender=True,
                verify_sender=True,
            ),
        ),
        impersonation_registry=(ImpersonationEntry("imp-ann", "Ann Lee", "ann@ours.example"),),
    )
    raw = eml(
        "Authentication-Results: mx.ours.example; spf=fail smtp.mailfrom=partner.example;"
        " dkim=pass header.d=evil.example; dmarc=fail header.from=partner.example",
        FROM,
        TO,
    )
    (bob,) = evaluate(parse_message(raw), compile_settings(settings)).recipients
    assert (bob.disposition, bob.action, bob.attributes) == (
        "MALICIOUS-BEC",
        "quarantine",
        ("BEC",),
    )
    assert {(m.resource, m.honored) for m in bob.matches} == {
        ("allow_policies", False),
        ("impersonation_registry", True),
    }


def test_encoded_impersonating_name_to_several_delivered_to_recipients() -> None:
    settings = Settings(
        domains=(
            ProtectedDomain("dom-ours", "ours.example"),
            ProtectedDomain("dom-eu", "eu.ours.example", drop_dispositions=("MALICIOUS-BEC",)),
        ),
        impersonation_registry=(ImpersonationEntry("imp-ann", "Ann Lee", "ann@ours.example"),),
    )
    raw = eml(
        "Delivered-To: bob@ours.example",
        "Delivered-To: carol@eu.ours.example",
        "From: =?utf-8?q?Lee=2C_=D0=90nn?= <ceo.office@evil.example>",
        "To: everyone@ours.example",
    )
    verdicts = evaluate(parse_message(raw), compile_settings(settings)).recipients
    assert [(v.recipient, v.disposition, v.action) for v in verdicts] == [
        ("bob@ours.example", "MALICIOUS-BEC", "quarantine"),
        ("carol@eu.ours.example", "MALICIOUS-BEC", "drop"),
    ]
