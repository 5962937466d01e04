"""POST .../email-security/evaluate: verdicts over HTTP from stored settings, and the cache."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from tests.factories import allow_policy
from tests.support import Account, Api, assert_error

EVALUATE = "/client/v4/accounts/{account}/email-security/evaluate"
SENDER = "ann@partner.example"


def evaluate(api: Api, body: Any = None, **kwargs: Any) -> httpx.Response:
    url = EVALUATE.format(account=api.account.id)
    if body is not None:
        kwargs["json"] = body
    return api.client.post(url, headers=api.headers(kwargs.pop("headers", None)), **kwargs)


def message(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"header_from": SENDER, "recipients": ["bob@ours.example"]}
    body.update(overrides)
    return body


def only_verdict(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    result = api.ok(evaluate(api, body))
    [verdict] = result["recipients"]
    return verdict


def block(api: Api, pattern: str = "partner.example") -> dict[str, Any]:
    body = {"pattern": pattern, "pattern_type": "DOMAIN", "is_regex": False}
    return api.ok(api.post("block_senders", json=body), 201)


class TestVerdicts:
    def test_no_settings_delivers(self, api: Api) -> None:
        verdict = only_verdict(api, message())
        assert verdict == {
            "recipient": "bob@ours.example",
            "protected_domain": None,
            "disposition": "NONE",
            "action": "deliver",
            "attributes": [],
            "matches": [],
            "client_ip": None,
            "rewrite_links": True,
        }

    def test_blocked_sender_is_explained(self, api: Api) -> None:
        entry = block(api)
        verdict = only_verdict(api, message())
        assert (verdict["disposition"], verdict["action"]) == ("MALICIOUS", "quarantine")
        assert verdict["attributes"] == ["CUSTOM_BLOCK_LIST"]
        [match] = verdict["matches"]
        assert match["resource"] == "block_senders"
        assert match["id"] == entry["id"]
        assert (match["field"], match["honored"]) == ("header_from", True)

    def test_exempt_recipient_beats_the_block(self, api: Api) -> None:
        block(api)
        exempt = allow_policy(
            pattern="abuse@ours.example", is_trusted_sender=False, is_exempt_recipient=True
        )
        api.ok(api.post("allow_policies", json=exempt), 201)
        result = api.ok(
            evaluate(api, message(recipients=["bob@ours.example", "abuse@ours.example"]))
        )
        bob, abuse = result["recipients"]
        assert bob["disposition"] == "MALICIOUS"
        assert abuse["disposition"] == "NONE"
        assert {(m["resource"], m["honored"]) for m in abuse["matches"]} == {
            ("allow_policies", True),
            ("block_senders", False),
        }

    def test_protected_domain_drop_dispositions(self, api: Api) -> None:
        domain = {
            "domain": "ours.example",
            "allowed_delivery_modes": ["DIRECT"],
            "drop_dispositions": ["SPAM"],
            "ip_restrictions": [],
            "regions": ["GLOBAL"],
        }
        created = api.ok(api.post("domains", json=domain), 201)
        verdict = only_verdict(api, message(detections=["SPAM"]))
        assert verdict["protected_domain"] == created["id"]
        assert (verdict["disposition"], verdict["action"]) == ("SPAM", "drop")

    def test_a_message_without_a_body_has_no_links(self, api: Api) -> None:
        result = api.ok(evaluate(api, message()))
        assert (result["links"], result["body_truncated"]) == ([], False)

    def test_settings_version_is_reported(self, api: Api) -> None:
        before = api.ok(evaluate(api, message()))["settings_version"]
        block(api)
        assert api.ok(evaluate(api, message()))["settings_version"] == before + 1


class TestRawMessage:
    RAW = (
        b"Return-Path: <ann@partner.example>\r\n"
        b"Received: from mx.partner.example (mx.partner.example [198.51.100.7])\r\n"
        b"\tby mx.ours.example with ESMTPS; Thu, 26 Nov 2026 10:00:00 +0000\r\n"
        b"From: Ann Lee <ann@partner.example>\r\n"
        b"To: Bob <bob@ours.example>, carol@ours.example\r\n"
        b"Subject: hello\r\n\r\nbody\r\n"
    )

    def post_raw(self, api: Api, raw: bytes, **kwargs: Any) -> httpx.Response:
        return evaluate(api, content=raw, headers={"content-type": "message/rfc822"}, **kwargs)

    def test_recipients_and_client_ip_come_from_the_headers(self, api: Api) -> None:
        result = api.ok(self.post_raw(api, self.RAW))
        recipients = [(r["recipient"], r["client_ip"]) for r in result["recipients"]]
        assert recipients == [
            ("bob@ours.example", "198.51.100.7"),
            ("carol@ours.example", "198.51.100.7"),
        ]

    def test_recipient_parameters_override_the_headers(self, api: Api) -> None:
        result = api.ok(self.post_raw(api, self.RAW, params={"recipient": ["dan@ours.example"]}))
        assert [r["recipient"] for r in result["recipients"]] == ["dan@ours.example"]

    def test_blocked_client_ip(self, api: Api) -> None:
        body = {"pattern": "198.51.100.0/24", "pattern_type": "IP", "is_regex": False}
        api.ok(api.post("block_senders", json=body), 201)
        result = api.ok(self.post_raw(api, self.RAW))
        assert {r["disposition"] for r in result["recipients"]} == {"MALICIOUS"}
        assert result["recipients"][0]["matches"][0]["field"] == "client_ip"

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"   \r\n",
            b"just some words",
            b"Subject: no sender\r\nTo: bob@ours.example\r\n\r\n",
        ],
    )
    def test_unreadable_messages_are_400(self, api: Api, raw: bytes) -> None:
        assert_error(self.post_raw(api, raw), 400, "message")

    def test_no_recipients_anywhere_is_400(self, api: Api) -> None:
        raw = b"From: ann@partner.example\r\nSubject: x\r\n\r\nbody\r\n"
        assert_error(self.post_raw(api, raw), 400, "recipients")


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"recipients": ["bob@ours.example"]}, "envelope_from"),
            (message(recipients=[]), "recipients"),
            (message(recipients="bob@ours.example"), "recipients"),
            (message(header_from="not an address"), "header_from"),
            (message(client_ip="999.1.1.1"), "client_ip"),
            (message(tls="true"), "tls"),
            (message(detections=["EVIL"]), "detections"),
            (message(sender_domain_age_days=-1), "sender_domain_age_days"),
            (message(sender_domain_age_days="3"), "sender_domain_age_days"),
            (message(auth={"spf": {"result": "maybe"}}), "auth.spf.result"),
            (message(colour="red"), "colour"),
            (message(header_from_name="a\x00b"), "header_from_name"),
        ],
    )
    def test_invalid_messages_are_400(self, api: Api, body: dict[str, Any], fragment: str) -> None:
        assert_error(evaluate(api, body), 400, fragment)

    def test_malformed_json(self, api: Api) -> None:
        response = evaluate(
            api, content=b'{"recipients": [', headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "Malformed JSON")

    def test_other_content_types_are_refused(self, api: Api) -> None:
        response = evaluate(api, content=b"hello", headers={"content-type": "text/plain"})
        assert_error(response, 400, "Content-Type")


class TestAccess:
    def test_read_only_tokens_may_evaluate(self, api: Api, account: Account) -> None:
        reader = api.with_token(account.read_token)
        assert reader.ok(evaluate(reader, message()))["recipients"][0]["action"] == "deliver"

    def test_no_token_is_401(self, api: Api) -> None:
        assert_error(evaluate(api.with_token(None), message()), 401)

    def test_foreign_token_is_403_and_reveals_nothing(
        self, api: Api, other_account: Account
    ) -> None:
        block(api)
        response = evaluate(api.with_token(other_account.token), message())
        assert_error(response, 403)
        assert "partner.example" not in response.text


class TestIndexCache:
    def test_index_is_built_once_and_then_updated(self, api: Api, app: FastAPI) -> None:
        cache = app.state.index_cache
        only_verdict(api, message())
        builds, updates = cache.builds, cache.updates
        for _ in range(3):
            only_verdict(api, message())
        assert (cache.builds, cache.updates) == (builds, updates)
        block(api)
        assert only_verdict(api, message())["disposition"] == "MALICIOUS"
        assert (cache.builds, cache.updates) == (builds, updates + 1)

    def test_every_kind_of_write_invalidates(self, api: Api) -> None:
        entry = block(api, "elsewhere.example")
        assert only_verdict(api, message())["disposition"] == "NONE"
        api.ok(api.patch(f"block_senders/{entry['id']}", json={"pattern": "partner.example"}))
        assert only_verdict(api, message())["disposition"] == "MALICIOUS"
        api.ok(api.delete(f"block_senders/{entry['id']}"))
        assert only_verdict(api, message())["disposition"] == "NONE"
        batch = {
            "deletes": [],
            "patches": [],
            "puts": [],
            "posts": [{"pattern": SENDER, "pattern_type": "EMAIL", "is_regex": False}],
        }
        api.ok(api.post("block_senders/batch", json=batch))
        assert only_verdict(api, message())["disposition"] == "MALICIOUS"


def content_policy(api: Api, pattern: str, *targets: str, enabled: bool = True) -> dict[str, Any]:
    body = {"name": f"policy {pattern}", "pattern": pattern, "targets": list(targets)}
    return api.ok(api.post("content_policies", json={**body, "enabled": enabled}), 201)


class TestContent:
    def test_a_content_policy_in_the_subject_is_explained(self, api: Api) -> None:
        policy = content_policy(api, r"invoice\s+overdue", "SUBJECT")
        verdict = only_verdict(api, message(subject="Your INVOICE  overdue"))
        assert (verdict["disposition"], verdict["action"]) == ("MALICIOUS", "quarantine")
        assert verdict["attributes"] == ["CONTENT_POLICY"]
        [match] = verdict["matches"]
        assert (match["resource"], match["id"], match["field"]) == (
            "content_policies",
            policy["id"],
            "subject",
        )

    def test_a_body_only_policy_reads_the_html_text_not_the_subject(self, api: Api) -> None:
        content_policy(api, "gift cards", "BODY")
        assert only_verdict(api, message(subject="gift cards"))["disposition"] == "NONE"
        html = "<p>Buy <b>gift</b> cards</p><script>gift cards</script>"
        verdict = only_verdict(api, message(body_html=html))
        assert verdict["disposition"] == "MALICIOUS"
        assert [m["field"] for m in verdict["matches"]] == ["body"]

    def test_a_disabled_policy_is_absent_until_enabled(self, api: Api) -> None:
        policy = content_policy(api, "wire transfer", "BODY", enabled=False)
        body = message(body="Please make the wire transfer today")
        assert only_verdict(api, body) == only_verdict(api, message())
        api.ok(api.patch(f"content_policies/{policy['id']}", json={"enabled": True}))
        assert only_verdict(api, body)["disposition"] == "MALICIOUS"

    def test_links_and_url_ignore_patterns(self, api: Api) -> None:
        ignored = api.ok(
            api.post("url_ignore_patterns", json={"pattern": r"https://intranet\.example/.*"}),
            201,
        )
        body = "See https://intranet.example/wiki, and https://evil.example/?u=https://intranet.example/x."
        html = '<a href="https://intranet.example/wiki">again</a><a href="mailto:a@b">mail</a>'
        result = api.ok(evaluate(api, message(body=body, body_html=html)))
        assert result["links"] == [
            {
                "url": "https://intranet.example/wiki",
                "rewrite": False,
                "ignored_by": {"id": ignored["id"], "pattern": ignored["pattern"]},
            },
            {
                "url": "https://evil.example/?u=https://intranet.example/x",
                "rewrite": True,
                "ignored_by": None,
            },
        ]
        assert [r["rewrite_links"] for r in result["recipients"]] == [True]

    def test_a_raw_message_is_read_for_subject_body_and_links(self, api: Api) -> None:
        content_policy(api, "password expires", "SUBJECT")
        raw = (
            b"From: ann@partner.example\r\nTo: bob@ours.example\r\n"
            b"Subject: =?utf-8?q?Your_password_expires?=\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b'<a href="https://login.evil.example/">renew</a>\r\n'
        )
        response = evaluate(api, content=raw, headers={"content-type": "message/rfc822"})
        result = api.ok(response)
        assert result["recipients"][0]["attributes"] == ["CONTENT_POLICY"]
        assert [link["url"] for link in result["links"]] == ["https://login.evil.example/"]

    def test_a_body_beyond_the_limit_is_cut_and_said(
        self, database_url: str, database: Database, api: Api
    ) -> None:
        content_policy(api, "hidden", "BODY")
        app = create_app(
            Settings(database_url=database_url, body_text_limit=100), database=database
        )
        with TestClient(app) as client:
            small = Api(client, api.account, api.token)
            early = api_verdict(small, message(body="hidden" + "." * 200))
            late = api_verdict(small, message(body="." * 200 + "hidden"))
        assert (early["body_truncated"], early["recipients"][0]["disposition"]) == (
            True,
            "MALICIOUS",
        )
        assert (late["body_truncated"], late["recipients"][0]["disposition"]) == (True, "NONE")


def api_verdict(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = api.ok(evaluate(api, body))
    return result
