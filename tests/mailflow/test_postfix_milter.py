"""Real mail through a private Postfix with the milter and the policy service: what the
settings do to each message, seen where it ends up (the sink, the hold queue, the reply)."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Iterator

import pytest

from tests import factories
from tests.mailflow.postfix import PrivatePostfix
from tests.mailflow.services import TRUSTED_AUTHSERV_ID, MailServices
from tests.support import Api

HEADER = "X-Email-Security"


@pytest.fixture
def flow(postfix: PrivatePostfix, mail_services: MailServices, api: Api) -> Iterator[Flow]:
    flow = Flow(postfix, mail_services, api)
    try:
        yield flow
    except BaseException:
        print(mail_services.logs(), postfix.log()[-5000:])  # noqa: T201 (shown on failure)
        raise


class Flow:
    def __init__(self, postfix: PrivatePostfix, services: MailServices, api: Api) -> None:
        self.postfix = postfix
        self.services = services
        self.api = api
        self.tag = uuid.uuid4().hex[:10]

    def address(self, name: str, domain: str = "ours.example") -> str:
        """An address unique to this test, so queue and sink entries are this test's own."""
        return f"{name}.{self.tag}@{domain}"

    def add(self, resource: str, body: dict[str, object]) -> dict[str, object]:
        return self.api.ok(self.api.post(resource, json=body), 201)  # type: ignore[no-any-return]

    def start(self) -> None:
        self.services.start()


def message(
    header_from: str,
    to: list[str],
    subject: str = "Quarterly figures",
    body: str = "Please find the figures below.\n",
    extra_headers: tuple[str, ...] = (),
) -> str:
    headers = [
        f"From: {header_from}",
        f"To: {', '.join(to)}",
        f"Subject: {subject}",
        f"Message-ID: <{uuid.uuid4().hex}@sender.example>",
        *extra_headers,
    ]
    return "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")


def send(
    client: smtplib.SMTP, envelope_from: str, recipients: list[str], content: str
) -> tuple[int, str]:
    """The reply to the end of DATA (recipients refused at RCPT left out of it)."""
    code, reply = client.mail(envelope_from)
    assert code == 250, reply
    accepted = [r for r in recipients if client.rcpt(r)[0] == 250]
    if not accepted:
        client.rset()
        return 0, "no recipient accepted"
    code, reply = client.data(content.encode())
    return code, reply.decode(errors="replace")


def test_clean_message_is_delivered_with_one_verdict_header_and_the_forged_one_gone(
    flow: Flow,
) -> None:
    flow.start()
    bob = flow.address("bob")
    content = message(
        "Alice <alice@sender.example>",
        [bob],
        extra_headers=(f"{HEADER}: disposition=NONE; action=deliver; forged=yes",),
    )
    with flow.postfix.smtp() as client:
        code, reply = send(client, "alice@sender.example", [bob], content)
    assert code == 250, reply
    delivered = flow.postfix.sink.wait_for(bob)
    (verdict,) = delivered.headers(HEADER)
    assert verdict.startswith("disposition=NONE; action=deliver; settings-version=")
    assert "forged" not in verdict


def test_blocked_header_from_is_held(flow: Flow) -> None:
    blocked = flow.add("block_senders", factories.blocked_sender(pattern="boss@evil.example"))
    flow.start()
    bob = flow.address("bob")
    with flow.postfix.smtp() as client:
        code, reply = send(
            client, "bounces@mailer.example", [bob], message("boss@evil.example", [bob])
        )
    assert code == 250, reply
    (held,) = flow.postfix.held_for(bob)
    assert held["sender"] == "bounces@mailer.example"
    assert flow.postfix.sink.to(bob) == []
    assert blocked["id"] not in reply


def test_blocked_envelope_sender_is_held(flow: Flow) -> None:
    flow.add("block_senders", factories.blocked_sender(pattern="spam@bulk.example"))
    flow.start()
    bob = flow.address("bob")
    with flow.postfix.smtp() as client:
        code, reply = send(client, "spam@bulk.example", [bob], message("news@fine.example", [bob]))
    assert code == 250, reply
    assert len(flow.postfix.held_for(bob)) == 1
    assert flow.postfix.sink.to(bob) == []


def test_sending_domain_restriction_refuses_plain_text_and_delivers_over_starttls(
    flow: Flow,
) -> None:
    flow.add(
        "sending_domain_restrictions",
        factories.sending_domain_restriction(domain="partner.example", exclude=[]),
    )
    flow.start()
    plain, encrypted = flow.address("plain"), flow.address("tls")
    with flow.postfix.smtp() as client:
        client.mail("billing@partner.example")
        code, reply = client.rcpt(plain)
    assert code // 100 == 5, reply
    assert b"5.7.1" in reply
    with flow.postfix.smtp(tls=True) as client:
        content = message("billing@partner.example", [encrypted])
        code, text = send(client, "billing@partner.example", [encrypted], content)
    assert code == 250, text
    flow.postfix.sink.wait_for(encrypted)


def test_recipient_dropped_by_its_domain_while_the_other_is_delivered(flow: Flow) -> None:
    # A lookalike of ours.example in the From header: SPOOF for both recipients, which only
    # ours.example drops.
    flow.add("domains", factories.protected_domain("ours.example", drop_dispositions=["SPOOF"]))
    flow.start()
    dropped, kept = flow.address("ann"), flow.address("ben", "other.example")
    content = message("ceo@ourz.example", [dropped, kept])
    with flow.postfix.smtp() as client:
        code, reply = send(client, "bounces@mailer.example", [dropped, kept], content)
    assert code == 250, reply
    delivered = flow.postfix.sink.wait_for(kept)
    assert delivered.recipients == [kept]
    (verdict,) = delivered.headers(HEADER)
    assert verdict.startswith("disposition=SPOOF; action=deliver;")
    assert flow.postfix.sink.to(dropped) == []
    assert flow.postfix.held_for(dropped) == []


def test_the_milter_judges_by_the_client_address_postfix_saw(flow: Flow) -> None:
    """The session's XCLIENT address is the client IP: an allow policy for it matches."""
    policy = flow.add(
        "allow_policies",
        factories.allow_policy(pattern="203.0.113.7", pattern_type="IP", verify_sender=False),
    )
    flow.start()
    known, other = flow.address("known"), flow.address("other")
    for recipient, client_ip in ((known, "203.0.113.7"), (other, "203.0.113.8")):
        with flow.postfix.smtp(client_ip) as client:
            content = message("a@b.example", [recipient])
            code, reply = send(client, "bounces@mailer.example", [recipient], content)
        assert code == 250, reply
    (verdict,) = flow.postfix.sink.wait_for(known).headers(HEADER)
    assert f"matched=allow_policies/{policy['id']}" in verdict
    (verdict,) = flow.postfix.sink.wait_for(other).headers(HEADER)
    assert "matched=" not in verdict


def test_every_recipient_dropped_is_refused_with_550_naming_no_entry(flow: Flow) -> None:
    domain = flow.add(
        "domains", factories.protected_domain("ours.example", drop_dispositions=["SPOOF"])
    )
    flow.start()
    ann, ben = flow.address("ann"), flow.address("ben")
    with flow.postfix.smtp() as client:
        code, reply = send(
            client, "bounces@mailer.example", [ann, ben], message("ceo@ourz.example", [ann, ben])
        )
    assert code == 550, reply
    assert reply.startswith("5.7.1")
    assert str(domain["id"]) not in reply
    assert "ours.example" not in reply
    assert flow.postfix.sink.to(ann) == []
    assert flow.postfix.held_for(ann) == []


def test_authentication_results_are_believed_only_from_the_trusted_authserv_id(
    flow: Flow,
) -> None:
    flow.add(
        "impersonation_registry",
        factories.impersonation_entry(name="Pat Chief", email="pat.chief@ours.example"),
    )
    flow.add(
        "allow_policies",
        factories.allow_policy(pattern="partner.example", pattern_type="DOMAIN"),
    )
    flow.start()
    verified, forged = flow.address("verified"), flow.address("forged")
    for recipient, authserv_id in ((verified, TRUSTED_AUTHSERV_ID), (forged, "relay.evil.example")):
        results = f"Authentication-Results: {authserv_id}; dmarc=pass header.from=partner.example"
        content = message("Pat Chief <pat@partner.example>", [recipient], extra_headers=(results,))
        with flow.postfix.smtp() as client:
            code, reply = send(client, "pat@partner.example", [recipient], content)
        assert code == 250, reply
    (verdict,) = flow.postfix.sink.wait_for(verified).headers(HEADER)
    assert verdict.startswith("disposition=NONE;")
    (held,) = flow.postfix.held_for(forged)
    assert flow.postfix.sink.to(forged) == []


# The milter reads bodies only while some content policy does: the BODY case is one.
@pytest.mark.parametrize(
    ("target", "flagged", "other_part"),
    [
        ("SUBJECT", {"subject": "Invoice   OVERDUE: pay now"}, {"body": "invoice overdue\n"}),
        ("BODY", {"body": "Your invoice\n  OVERDUE: pay now.\n"}, {"subject": "invoice overdue"}),
    ],
    ids=["subject", "body"],
)
def test_content_policy_holds_what_its_target_matches(
    flow: Flow, target: str, flagged: dict[str, str], other_part: dict[str, str]
) -> None:
    """A match in the part the policy targets holds the message; the same words in the
    other part do not."""
    flow.add("content_policies", factories.content_policy(targets=[target]))
    flow.start()
    bob, carl = flow.address("bob"), flow.address("carl")
    with flow.postfix.smtp() as client:
        content = message("ap@vendor.example", [bob], **flagged)
        assert send(client, "ap@vendor.example", [bob], content)[0] == 250
        content = message("ap@vendor.example", [carl], **other_part)
        assert send(client, "ap@vendor.example", [carl], content)[0] == 250
    assert len(flow.postfix.held_for(bob)) == 1
    flow.postfix.sink.wait_for(carl)


def test_a_block_added_through_the_api_applies_to_the_next_message(flow: Flow) -> None:
    flow.start()
    before, after = flow.address("before"), flow.address("after")
    with flow.postfix.smtp() as client:
        content = message("promo@later.example", [before])
        assert send(client, "bounces@mailer.example", [before], content)[0] == 250
    flow.postfix.sink.wait_for(before)
    flow.add("block_senders", factories.blocked_sender(pattern="promo@later.example"))
    time.sleep(0.5)  # the write reaches the milter's process by NOTIFY or data_version
    with flow.postfix.smtp() as client:
        content = message("promo@later.example", [after])
        assert send(client, "bounces@mailer.example", [after], content)[0] == 250
    assert len(flow.postfix.held_for(after)) == 1


MALFORMED = (
    b"From: =?utf-8?b?broken\xff\xfe?= <\xc3(bad@sender.example>\r\n"
    b"To: <REPLACE>\r\n"
    b"Subject: =?x-unknown?q?=ZZ?= " + b"A" * 200_000 + b"\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="never-closed"\r\n'
    b"\r\n"
    b"--never-closed\r\n"
    b"Content-Type: text/plain; charset=no-such-charset\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"!!!not base64\xff\xff\r\n"
    b"--never-closed\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"\x00\x01\x02 junk\r\n"
)


def test_a_malformed_message_does_not_stop_the_next_one(flow: Flow) -> None:
    flow.start()
    broken, good = flow.address("broken"), flow.address("good")
    with flow.postfix.smtp() as client:
        client.mail("junk@sender.example")
        assert client.rcpt(broken)[0] == 250
        code, reply = client.data(MALFORMED.replace(b"REPLACE", broken.encode()))
        assert code == 250, reply
        content = message("alice@sender.example", [good])
        code, text = send(client, "alice@sender.example", [good], content)
        assert code == 250, text
    assert flow.postfix.sink.wait_for(good).headers(HEADER)
    assert flow.postfix.sink.wait_for(broken).headers(HEADER)
    assert flow.services.milter.poll() is None


def test_distinct_verdicts_get_a_header_each_naming_their_recipients(flow: Flow) -> None:
    exempt, other = flow.address("exempt"), flow.address("other")
    flow.add("domains", factories.protected_domain("ours.example", drop_dispositions=[]))
    exemption = factories.allow_policy(
        pattern=exempt, is_exempt_recipient=True, is_trusted_sender=False, verify_sender=False
    )
    policy = flow.add("allow_policies", exemption)
    flow.start()
    with flow.postfix.smtp() as client:
        content = message("ceo@ourz.example", [exempt, other])
        assert send(client, "bounces@mailer.example", [exempt, other], content)[0] == 250
    headers = sorted(flow.postfix.sink.wait_for(other).headers(HEADER))
    assert len(headers) == 2
    none, spoof = headers
    assert none.startswith("disposition=NONE; action=deliver;")
    assert f"allow_policies/{policy['id']}" in none.partition("matched=")[2]
    assert none.endswith(f"; recipients={exempt}")
    assert spoof.startswith("disposition=SPOOF; action=deliver;")
    assert spoof.endswith(f"; recipients={other}")


def test_drop_discard_accepts_and_delivers_nothing(flow: Flow) -> None:
    flow.add("domains", factories.protected_domain("ours.example", drop_dispositions=["SPOOF"]))
    flow.services.drop = "discard"
    flow.start()
    ann = flow.address("ann")
    with flow.postfix.smtp() as client:
        code, reply = send(
            client, "bounces@mailer.example", [ann], message("ceo@ourz.example", [ann])
        )
    assert code == 250, reply
    assert flow.postfix.held_for(ann) == []
    time.sleep(1)  # a delivery, were there one, would have reached the sink by now
    assert flow.postfix.sink.to(ann) == []
    assert "milter-discard" in flow.postfix.log()


def test_the_milter_serves_a_unix_socket_too(flow: Flow) -> None:
    flow.add("block_senders", factories.blocked_sender(pattern="boss@evil.example"))
    flow.services.milter_listen = f"unix:{flow.postfix.milter_socket}"
    flow.start()
    clean, blocked = flow.address("clean"), flow.address("blocked")
    with flow.postfix.smtp(port=flow.postfix.unix_milter_port) as client:
        assert (
            send(client, "a@sender.example", [clean], message("a@sender.example", [clean]))[0]
            == 250
        )
        content = message("boss@evil.example", [blocked])
        assert send(client, "a@sender.example", [blocked], content)[0] == 250
    assert flow.postfix.sink.wait_for(clean).headers(HEADER)
    assert len(flow.postfix.held_for(blocked)) == 1


def test_each_recipient_is_judged_by_the_account_protecting_its_domain(
    flow: Flow, other_api: Api
) -> None:
    # The second account protects other.example and blocks the sender; the first, the
    # default, knows nothing of it.
    other_api.ok(other_api.post("domains", json=factories.protected_domain("other.example")), 201)
    blocked = factories.blocked_sender(pattern="promo@sender.example")
    block = other_api.ok(other_api.post("block_senders", json=blocked), 201)
    flow.services.accounts.append(other_api.account.id)
    flow.start()
    ours, theirs = flow.address("ann"), flow.address("ben", "other.example")
    with flow.postfix.smtp() as client:
        content = message("promo@sender.example", [ours, theirs])
        assert send(client, "bounces@mailer.example", [ours, theirs], content)[0] == 250
    # other.example drops MALICIOUS (the factory's default): its recipient is removed.
    delivered = flow.postfix.sink.wait_for(ours)
    assert delivered.recipients == [ours]
    (verdict,) = delivered.headers(HEADER)
    assert verdict.startswith("disposition=NONE; action=deliver; settings-version=0")
    assert flow.postfix.sink.to(theirs) == []
    assert flow.postfix.held_for(theirs) == []
    assert "deleted=1" in flow.services.milter_log.read_text()
    assert block["id"] not in verdict
