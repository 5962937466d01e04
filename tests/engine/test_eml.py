"""parse_message: what the engine reads from a raw RFC 5322 message, as docs/ENGINE.md states it.

Every fixture is built here, from literal header lines or with email.message.EmailMessage.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from email_security.engine import (
    AllowPolicy,
    AuthResult,
    AuthResults,
    ContentPolicy,
    ImpersonationEntry,
    Message,
    MessageError,
    ProtectedDomain,
    SendingDomainRestriction,
    Settings,
    UrlIgnorePattern,
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


# --- subject and body ----------------------------------------------------------------------------


def part(content_type: str, payload: bytes, *headers: str) -> bytes:
    """One MIME part: its header lines, a blank line, the payload as it goes on the wire."""
    lines = [f"Content-Type: {content_type}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload


def multipart(subtype: str, *parts: bytes, boundary: str = "b1") -> bytes:
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    return head + body + f"--{boundary}--\r\n".encode()


def with_body(mime: bytes, *headers: str) -> Message:
    """A message from Ann to Bob whose MIME structure (from Content-Type on) is `mime`."""
    head = "\r\n".join((FROM, TO, "MIME-Version: 1.0", *headers)) + "\r\n"
    return parse_message(head.encode("ascii") + mime)


def text_part(text: str, charset: str = "utf-8", subtype: str = "plain", *headers: str) -> bytes:
    return part(
        f"text/{subtype}; charset={charset}",
        base64.encodebytes(text.encode(charset)),
        "Content-Transfer-Encoding: base64",
        *headers,
    )


@pytest.mark.parametrize(
    ("subject", "decoded"),
    [
        pytest.param("Lunch on Friday?", "Lunch on Friday?", id="ascii"),
        pytest.param("=?utf-8?q?Caf=C3=A9_tomorrow?=", "Café tomorrow", id="utf-8-q"),
        pytest.param("=?UTF-8?B?WsO8cmljaCDinIg=?=", "Zürich ✈", id="utf-8-b"),
        pytest.param("=?iso-8859-1?q?R=E9sum=E9?= attached", "Résumé attached", id="latin-1"),
        pytest.param(
            "=?utf-8?q?Gift?= =?utf-8?q?_cards?= now", "Gift cards now", id="adjacent-words"
        ),
        pytest.param("=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは", id="iso-2022-jp"),
        pytest.param("Invoice\r\n overdue", "Invoice overdue", id="folded"),
    ],
)
def test_subject_is_decoded(subject: str, decoded: str) -> None:
    assert parse_message(eml(FROM, TO, f"Subject: {subject}")).subject == decoded


def test_without_subject_it_is_none() -> None:
    assert parse_message(eml(FROM, TO)).subject is None


def test_the_first_subject_and_return_path_count_whatever_follows() -> None:
    raw = eml(
        "Return-Path: <first@sender.example>",
        "Return-Path: =?x-unknown?q?=ZZ?= <\u00e9@",
        FROM,
        TO,
        "Subject: Two  spaces",
        "Subject: =?utf-8?b?broken?=",
    )
    message = parse_message(raw)
    assert (message.subject, message.envelope_from) == ("Two  spaces", "first@sender.example")


@pytest.mark.parametrize(
    ("mime", "body"),
    [
        pytest.param(
            part(
                "text/plain; charset=utf-8",
                b"Caf=C3=A9 au lait, a long line that the sender wra=\r\npped =3D softly\r\n",
                "Content-Transfer-Encoding: quoted-printable",
            ),
            "Café au lait, a long line that the sender wrapped = softly\n",
            id="quoted-printable",
        ),
        pytest.param(
            text_part("Grüße aus Köln\r\nzweite Zeile\r\n"),
            "Grüße aus Köln\nzweite Zeile\n",
            id="base64",
        ),
        pytest.param(
            part("text/plain; charset=iso-8859-1", "Caf\xe9 cr\xe8me\r\n".encode("latin-1")),
            "Café crème\n",
            id="latin-1-8bit",
        ),
        pytest.param(
            part("text/plain; charset=windows-1252", b"\x93quoted\x94 \x80 5\r\n"),
            "\u201cquoted\u201d \u20ac 5\n",
            id="windows-1252",
        ),
        pytest.param(
            text_part("請求書を確認してください", "shift_jis"),
            "請求書を確認してください",
            id="shift-jis",
        ),
        pytest.param(
            part("text/plain; charset=iso-2022-jp", "お支払い".encode("iso-2022-jp")),
            "お支払い",
            id="iso-2022-jp",
        ),
        pytest.param(text_part("发票已逾期", "gb2312"), "发票已逾期", id="gb2312"),
        pytest.param(text_part("송장 확인", "euc-kr"), "송장 확인", id="euc-kr"),
        pytest.param(part("text/plain", "naïve\r\n".encode()), "naïve\n", id="no-charset-is-utf-8"),
    ],
)
def test_text_part_is_decoded_from_its_transfer_encoding_and_charset(
    mime: bytes, body: str
) -> None:
    message = with_body(mime)
    assert (message.body, message.body_html) == (body, None)


@pytest.mark.parametrize(
    ("mime", "body"),
    [
        pytest.param(
            part("text/plain; charset=x-no-such-charset", b"caf\xc3\xa9 and caf\xe9"),
            "café and caf\ufffd",
            id="unknown-charset-read-as-utf-8",
        ),
        pytest.param(part("text/plain; charset=rot13", b"uryyb"), "uryyb", id="not-a-text-codec"),
        pytest.param(part("text/plain; charset=idna", b"xn--caf-dma"), "xn--caf-dma", id="idna"),
        pytest.param(
            part("text/plain; charset=utf-8", b"bad \xff byte"), "bad \ufffd byte", id="bad-byte"
        ),
        pytest.param(
            part(
                "text/plain; charset=utf-8",
                b"SGVsbG8g!!d29y\r\n",
                "Content-Transfer-Encoding: base64",
            ),
            None,
            id="broken-base64",
        ),
        pytest.param(
            part(
                "text/plain; charset=utf-8",
                b"broken =ZZ escape=",
                "Content-Transfer-Encoding: quoted-printable",
            ),
            "broken =ZZ escape",
            id="broken-quoted-printable",
        ),
    ],
)
def test_undecodable_text_is_read_leniently_never_raising(mime: bytes, body: str | None) -> None:
    message = with_body(mime)
    assert message.body is not None
    if body is not None:
        assert message.body == body


def test_multipart_alternative_gives_the_plain_body_and_the_html() -> None:
    message = with_body(
        multipart(
            "alternative",
            text_part("Please pay the invoice.\r\n"),
            text_part("<p>Please pay the <b>invoice</b>.</p>\r\n", subtype="html"),
        )
    )
    assert message.body == "Please pay the invoice.\n"
    assert message.body_html == "<p>Please pay the <b>invoice</b>.</p>\n"


def test_html_only_message() -> None:
    message = with_body(text_part("<p>Hello</p>", "iso-8859-1", "html"))
    assert (message.body, message.body_html) == (None, "<p>Hello</p>")


def test_nested_multiparts_are_read_all_the_way_down_in_order() -> None:
    message = with_body(
        multipart(
            "mixed",
            multipart(
                "related",
                multipart(
                    "alternative",
                    text_part("first plain"),
                    text_part("<p>first html</p>", subtype="html"),
                    boundary="b3",
                ),
                part(
                    "image/png", base64.encodebytes(b"\x89PNG"), "Content-Transfer-Encoding: base64"
                ),
                boundary="b2",
            ),
            text_part("second plain", "iso-8859-1", "plain", "Content-Disposition: inline"),
        )
    )
    assert message.body == "first plain\nsecond plain"
    assert message.body_html == "<p>first html</p>"


def test_attachments_are_not_read() -> None:
    forwarded = part(
        "message/rfc822",
        b"From: x@evil.example\r\nSubject: inner\r\n\r\nattached message text https://in.example/\r\n",
        "Content-Disposition: attachment",
    )
    message = with_body(
        multipart(
            "mixed",
            text_part("the body"),
            text_part(
                "attached text",
                "utf-8",
                "plain",
                'Content-Disposition: attachment; filename="a.txt"',
            ),
            text_part("<p>attached html</p>", "utf-8", "html", "Content-Disposition: attachment"),
            forwarded,
        )
    )
    assert (message.body, message.body_html) == ("the body", None)


def test_a_message_shown_inline_is_read() -> None:
    inline = part("message/rfc822", b"From: x@partner.example\r\n\r\nforwarded text\r\n")
    message = with_body(multipart("mixed", text_part("see below"), inline))
    assert message.body == "see below\nforwarded text\n"


def test_message_without_text_parts_has_no_body() -> None:
    message = with_body(
        multipart(
            "mixed",
            part(
                "application/pdf", base64.encodebytes(b"%PDF"), "Content-Transfer-Encoding: base64"
            ),
        )
    )
    assert (message.body, message.body_html) == (None, None)


def test_message_without_content_type_is_plain_text() -> None:
    assert parse_message(eml(FROM, TO, body="Hello.\r\nBye.\r\n")).body == "Hello.\nBye.\n"


def test_html_scripts_and_styles_are_not_matched_and_entities_are_decoded() -> None:
    settings = Settings(
        content_policies=(
            ContentPolicy("cp-script", "Script", r"stolen", ("BODY",)),
            ContentPolicy("cp-entities", "Entities", r"R&D <secret>", ("BODY",)),
        ),
        url_ignore_patterns=(UrlIgnorePattern("url-ours", r"https://ours\.example/.*"),),
    )
    html = (
        "<html><head><style>p.stolen{color:red}</style></head><body>"
        "<script>var stolen = 1;</script><p>Our R&amp;D &lt;secret&gt; plan: "
        '<a href="https://ours.example/plan">plan</a>, <a href="https://evil.example/">more</a></p>'
        "</body></html>"
    )
    message = with_body(text_part(html, subtype="html"))
    verdict = evaluate(message, compile_settings(settings))
    (bob,) = verdict.recipients
    assert [(m.id, m.field) for m in bob.matches] == [("cp-entities", "body")]
    assert [(link.url, link.rewrite) for link in verdict.links] == [
        ("https://ours.example/plan", False),
        ("https://evil.example/", True),
    ]


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
