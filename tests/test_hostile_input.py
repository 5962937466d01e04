"""Hostile input: every bad request is a 4xx in the Cloudflare envelope, reveals nothing of
the implementation, and leaves the stored settings exactly as they were.

Each test starts from an account holding one entry of every resource and compares every
listing, and the account's settings version, before and after the bad requests.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from email_security.kit.errors import ServiceUnavailable
from tests.factories import allow_policy
from tests.resources.cases import CASES
from tests.support import (
    Account,
    Api,
    LiveServer,
    assert_error,
    fresh_postgres_database,
    settings_operations,
)

EVALUATE = "/client/v4/accounts/{account}/email-security/evaluate"
CASES_BY_NAME = {case.name: case for case in CASES}
RESOURCES = tuple(CASES_BY_NAME)
# Per resource, a searched field that holds any printable text.
FREE_TEXT = {case.name: case.free_text for case in CASES if case.free_text}
INTERNALS = ("traceback", "sqlalchemy", "psycopg", "sqlite3", "site-packages", "/work/")
MESSAGE = {"header_from": "ann@partner.example", "recipients": ["bob@ours.example"]}


def create_body(resource: str, n: int = 0) -> dict[str, Any]:
    """A valid create body; `n` makes names that must be unique differ."""
    return CASES_BY_NAME[resource].body(n)


@dataclass
class Seeded:
    """An account with one entry of every resource (`ids`), and its clients."""

    api: Api
    ids: dict[str, str]

    @property
    def evaluate_url(self) -> str:
        return EVALUATE.format(account=self.api.account.id)

    def url(self, path: str) -> str:
        """`path` under the settings, `{id}` being the entry of the resource it names;
        EVALUATE as it is."""
        if path == EVALUATE:
            return self.evaluate_url
        resource = path.split("/")[0]
        return f"{self.api.base}/{path.format(id=self.ids.get(resource, ''))}"

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.api.headers(kwargs.pop("headers", None))
        return self.api.client.request(method, self.url(path), headers=headers, **kwargs)

    def evaluate(self, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.send("POST", EVALUATE, json=body, **kwargs)

    def snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            resource: self.api.ok(self.api.get(resource, params={"per_page": 1000}))
            for resource in RESOURCES
        }
        # Any committed write moves the version, even one that changed no entry.
        state["settings_version"] = self.api.ok(self.evaluate(MESSAGE))["settings_version"]
        return state


def seed(api: Api) -> Seeded:
    ids = {}
    for resource in RESOURCES:
        ids[resource] = api.ok(api.post(resource, json=create_body(resource)), 201)["id"]
    return Seeded(api, ids)


@pytest.fixture
def seeded(api: Api) -> Seeded:
    return seed(api)


@contextmanager
def unchanged(*accounts: Seeded) -> Iterator[None]:
    before = [account.snapshot() for account in accounts]
    yield
    assert [account.snapshot() for account in accounts] == before


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text
    lowered = text.lower()
    for word in INTERNALS:
        assert word not in lowered, text
    assert "SELECT " not in text, text


def refused(
    response: httpx.Response, status: int, *fragments: str, case: str = ""
) -> list[dict[str, Any]]:
    """A 4xx failure envelope (`assert_error`) with the status, revealing no internals."""
    assert 400 <= status < 500
    try:
        errors = assert_error(response, status, *fragments)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["messages"] == []
        for error in errors:
            assert isinstance(error["code"], int)
        assert_no_internals(response)
    except AssertionError as exc:
        if not case:
            raise
        raise AssertionError(f"{case}: {exc}") from exc
    return errors


# --- what every write endpoint takes --------------------------------------------------------

# (method, path) of every operation that takes a body, read from the app; `{id}` is the
# seeded entry of the resource the path starts with.
WRITES = [
    *(
        (method, re.sub(r"\{[^}]+\}", "{id}", template))
        for method, template in settings_operations()
        if method != "GET"
        and not (method == "DELETE" and "{" in template)  # deletes of one entry take no body
    ),
    ("POST", EVALUATE),
]


_DOCUMENT = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()


def takes_json(write: tuple[str, str]) -> bool:
    """Whether the operation's documented body is JSON (an import's is a file: other types
    are refused with 415, tests/test_export_import.py)."""
    method, path = write
    if path == EVALUATE:
        return True
    for template, operations in _DOCUMENT["paths"].items():
        if re.sub(r"\{[^}]+\}", "{id}", template).endswith(f"/settings/{path}"):
            body = operations[method.lower()].get("requestBody", {})
            return "application/json" in body.get("content", {"application/json": None})
    raise AssertionError(f"{write} is not in the document")


JSON_WRITES = [write for write in WRITES if takes_json(write)]


def write_id(write: tuple[str, str]) -> str:
    method, path = write
    return f"{method} {'evaluate' if path == EVALUATE else path}"


def valid_body(seeded: Seeded, method: str, path: str) -> Any:
    """A body the endpoint would accept (the tests spoil it and expect it refused)."""
    if path == EVALUATE:
        return dict(MESSAGE)
    case = CASES_BY_NAME[path.split("/")[0]]
    if path.endswith("/batch"):
        operations = case.resource.batch_operations
        body = {name: [] for name in ("deletes", "patches", "puts", "posts") if name in operations}
        if "posts" in body:
            body["posts"] = [case.body(1)]
        return body
    if method == "DELETE":
        return [{"id": seeded.ids[case.name]}]
    if method == "PUT":
        return case.put_body(1)
    if method == "PATCH":
        return dict(case.change)
    return case.body(1)


def send_raw(seeded: Seeded, method: str, path: str, raw: bytes) -> httpx.Response:
    return seeded.send(method, path, content=raw, headers={"Content-Type": "application/json"})


MALFORMED = {
    "truncated": b'{"pattern": ',
    "single quotes": b"{'pattern': 'a.example'}",
    "trailing comma": b'{"comments": "x",}',
    "bare word": b"nul",
    "two documents": b"{} {}",
    "invalid UTF-8": b'{"comments": "\xff\xfe\xc0\xaf"}',
    "UTF-16": '{"comments": "x"}'.encode("utf-16"),
    "NaN": b'{"lookback_hops": NaN}',
    "Infinity": b'{"lookback_hops": -Infinity}',
    "100,000 nested arrays": b"[" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000,
    "integer of 5000 digits": b'{"lookback_hops": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("write", JSON_WRITES, ids=write_id)
def test_malformed_json_is_refused(seeded: Seeded, write: tuple[str, str]) -> None:
    with unchanged(seeded):
        for case, raw in MALFORMED.items():
            refused(send_raw(seeded, *write, raw), 400, "Malformed JSON body", case=case)


@pytest.mark.parametrize("write", JSON_WRITES, ids=write_id)
def test_repeated_json_keys_are_refused(seeded: Seeded, write: tuple[str, str]) -> None:
    method, path = write
    body = valid_body(seeded, method, path)
    text = json.dumps(body[0] if isinstance(body, list) else body)
    key = next(iter(json.loads(text)))
    # The same key twice, the first time with a value of the right type.
    spoiled = text[0] + f"{json.dumps(key)}: {json.dumps(json.loads(text)[key])}, " + text[1:]
    raw = f"[{spoiled}]" if isinstance(body, list) else spoiled
    with unchanged(seeded):
        refused(send_raw(seeded, method, path, raw.encode()), 400, f"the key {key!r} is repeated")


@pytest.mark.parametrize("write", JSON_WRITES, ids=write_id)
def test_unknown_fields_are_refused(seeded: Seeded, write: tuple[str, str]) -> None:
    method, path = write
    body = valid_body(seeded, method, path)
    extra = {"unexpected": 1}
    body = [{**body[0], **extra}] if isinstance(body, list) else {**body, **extra}
    with unchanged(seeded):
        refused(seeded.send(method, path, json=body), 400, "unexpected")


@pytest.mark.parametrize("write", JSON_WRITES, ids=write_id)
def test_bodies_of_the_wrong_shape_are_refused(seeded: Seeded, write: tuple[str, str]) -> None:
    with unchanged(seeded):
        refused(seeded.send(*write), 400, case="no body")
        for body in (None, "text", 42, True, [[]], {"a": []}):
            refused(seeded.send(*write, json=body), 400, case=repr(body))


@pytest.mark.parametrize(
    ("method", "path", "changes", "field"),
    [
        # wrong types: nothing is coerced
        ("POST", "allow_policies", {"is_regex": "false"}, "is_regex"),
        ("POST", "allow_policies", {"pattern": 123}, "pattern"),
        ("POST", "allow_policies", {"pattern_type": "domain"}, "pattern_type"),
        ("POST", "allow_policies", {"verify_sender": 1}, "verify_sender"),
        ("POST", "block_senders", {"comments": 5}, "comments"),
        ("POST", "block_senders", {"pattern": None}, "pattern"),
        ("POST", "domains", {"lookback_hops": "5"}, "lookback_hops"),
        ("POST", "domains", {"lookback_hops": 2.5}, "lookback_hops"),
        ("POST", "domains", {"regions": "GLOBAL"}, "regions"),
        ("POST", "domains", {"ip_restrictions": [1]}, "ip_restrictions"),
        ("POST", "impersonation_registry", {"directory_id": "1"}, "directory_id"),
        ("POST", "impersonation_registry", {"is_email_regex": 0}, "is_email_regex"),
        ("POST", "sending_domain_restrictions", {"exclude": "a.tls0.example"}, "exclude"),
        ("POST", "trusted_domains", {"is_recent": "false"}, "is_recent"),
        ("PATCH", "allow_policies/{id}", {"is_trusted_sender": None}, "is_trusted_sender"),
        ("PATCH", "domains/{id}", {"allowed_delivery_modes": {}}, "allowed_delivery_modes"),
        ("POST", "allow_policies/batch", {"deletes": {}}, "deletes"),
        ("POST", "domains/batch", {"posts": [[]]}, "posts.0"),
        ("POST", EVALUATE, {"recipients": "bob@ours.example"}, "recipients"),
        ("POST", EVALUATE, {"tls": "yes"}, "tls"),
        # over-long text and lists
        ("POST", "allow_policies", {"pattern": "a" * 1025}, "pattern"),
        ("POST", "block_senders", {"comments": "c" * 1025}, "comments"),
        ("POST", "domains", {"integration_id": "i" * 1025}, "integration_id"),
        ("POST", "domains", {"domain": "d" * 64 + ".example"}, "domain"),
        ("POST", "domains", {"ip_restrictions": ["192.0.2.1"] * 1001}, "ip_restrictions"),
        ("POST", "impersonation_registry", {"name": "n" * 1025}, "name"),
        ("PATCH", "impersonation_registry/{id}", {"email": "a" * 1020 + "@b.example"}, "email"),
        ("POST", "sending_domain_restrictions", {"domain": "x." * 130 + "example"}, "domain"),
        ("POST", "trusted_domains", {"pattern": "t" * 1025}, "pattern"),
        ("POST", "allow_policies/batch", {"deletes": [{"id": "x"}] * 1001}, "deletes"),
        ("POST", EVALUATE, {"header_from": "a" * 1025 + "@partner.example"}, "header_from"),
        ("POST", EVALUATE, {"recipients": ["bob@ours.example"] * 1001}, "recipients"),
        # NUL and other control characters
        ("POST", "allow_policies", {"pattern": "a\x00.example"}, "pattern"),
        ("POST", "block_senders", {"comments": "evil\x00"}, "U+0000"),
        ("POST", "domains", {"transport": "mx\x00.example"}, "transport"),
        ("POST", "impersonation_registry", {"name": "Ann\x1b[31m"}, "U+001B"),
        ("POST", "impersonation_registry", {"name": "Ann\r\nBcc: x@evil.example"}, "name"),
        ("POST", "sending_domain_restrictions", {"comments": "next\x85line"}, "U+0085"),
        ("POST", "trusted_domains", {"comments": "\x7f"}, "U+007F"),
        ("PATCH", "trusted_domains/{id}", {"comments": "\x00"}, "U+0000"),
        ("PATCH", "block_senders/{id}", {"pattern": "spam\x07.example"}, "pattern"),
        ("POST", "allow_policies/batch", {"posts": [allow_policy(comments="\x00")]}, "posts.0"),
        ("POST", EVALUATE, {"header_from": "ann\x00@partner.example"}, "U+0000"),
        ("POST", EVALUATE, {"header_from_name": "\x1b]0;owned\x07"}, "U+001B"),
        # numbers beyond 64 bits
        ("POST", "impersonation_registry", {"directory_id": 2**63}, "directory_id"),
        ("POST", "impersonation_registry", {"directory_node_id": 2**64}, "directory_node_id"),
        ("POST", "impersonation_registry", {"directory_id": -(2**64)}, "directory_id"),
        ("POST", "domains", {"lookback_hops": 2**64}, "lookback_hops"),
        ("PATCH", "domains/{id}", {"lookback_hops": -(2**63) - 1}, "lookback_hops"),
        ("POST", EVALUATE, {"sender_domain_age_days": 2**64}, "sender_domain_age_days"),
        # text that is fine in comments is no domain
        ("POST", "domains", {"domain": "😀.example"}, "domain"),
        ("POST", "block_senders", {"pattern": "👍🏽.example"}, "pattern"),
        ("POST", "trusted_domains", {"pattern": "\u202eelpmaxe.evil"}, "pattern"),
    ],
    ids=lambda value: (
        "evaluate" if value == EVALUATE else (repr(value)[:40] if isinstance(value, dict) else None)
    ),
)
def test_invalid_fields_are_refused(
    seeded: Seeded, method: str, path: str, changes: dict[str, Any], field: str
) -> None:
    body = {**valid_body(seeded, method, path), **changes}
    with unchanged(seeded):
        refused(seeded.send(method, path, json=body), 400, field)


# --- query strings and path ids -------------------------------------------------------------

BAD_QUERIES = [
    {"page": 0},
    {"page": -1},
    {"page": 2**31},
    {"page": 2**64},
    {"page": "1.5"},
    {"page": "one"},
    {"per_page": 0},
    {"per_page": 1001},
    {"per_page": 2**64},
    {"per_page": -(2**64)},
    {"order": "id; DROP TABLE accounts"},
    {"direction": "sideways"},
    {"search": "\x00"},
    {"search": "a\x1bb"},
    {"search": "s" * 1025},
]


@pytest.mark.parametrize("resource", RESOURCES)
def test_bad_list_queries_are_refused(seeded: Seeded, resource: str) -> None:
    with unchanged(seeded):
        for params in BAD_QUERIES:
            response = seeded.api.get(resource, params=params)
            refused(response, 400, next(iter(params)), case=repr(params)[:60])


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        ("allow_policies", {"pattern": "\x00"}),
        ("allow_policies", {"is_trusted_sender": "1"}),
        ("block_senders", {"pattern_type": "email"}),
        ("block_senders", {"pattern": "p" * 1025}),
        ("trusted_domains", {"pattern": "\x1b"}),
        ("domains", {"domain": "\x00"}),
        ("domains", {"integration_id": "\x00"}),
        ("domains", {"status": "ACTIVE\x00"}),
        ("impersonation_registry", {"provenance": "\x00"}),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_filters_are_refused(seeded: Seeded, resource: str, params: dict[str, Any]) -> None:
    with unchanged(seeded):
        refused(seeded.api.get(resource, params=params), 400, next(iter(params)))


@pytest.mark.parametrize("resource", RESOURCES)
def test_query_strings_that_are_not_utf8_are_refused(seeded: Seeded, resource: str) -> None:
    with unchanged(seeded):
        url = f"{seeded.api.base}/{resource}?search=%ff%fe"
        refused(seeded.api.client.get(url, headers=seeded.api.headers()), 400, "UTF-8")


def test_evaluate_refuses_bad_recipients_in_the_query(seeded: Seeded) -> None:
    raw = b"From: ann@partner.example\r\nTo: bob@ours.example\r\n\r\nhello\r\n"
    headers = {"Content-Type": "message/rfc822"}
    with unchanged(seeded):
        too_many = [f"r{n}@ours.example" for n in range(101)]
        too_long = "r" * 243 + "@ours.example"  # 255: an SMTP path holds 254
        for recipient in ("\x00", "bob\x00@ours.example", too_long, too_many):
            response = seeded.send(
                "POST", EVALUATE, content=raw, headers=headers, params={"recipient": recipient}
            )
            errors = refused(response, 400, "recipient")
            assert [error["source"] for error in errors] == [{"parameter": "recipient"}]
        for junk in (b"", b"\xff\xfe\x00" * 100, b"no headers at all", b"From: \xff\r\n\r\n"):
            refused(seeded.send("POST", EVALUATE, content=junk, headers=headers), 400)


NOT_UUIDS = {
    "word": "not-a-uuid",
    "integer": "1",
    "negative": "-1",
    "uuid without dashes and one digit short": uuid.uuid4().hex[:-1],
    "sql": "1' OR '1'='1",
    "NUL": "%00",
    "NUL inside": "6b0d0e3e%00",
    "escape": "%1b%5b2J",
    "CRLF": "%0d%0aSet-Cookie:%20x",
    "invalid UTF-8": "%ff%fe",
    "emoji": "%F0%9F%98%80",
    "right-to-left": "%E2%80%AE1",
    "5000 characters": "a" * 5000,
}


@pytest.mark.parametrize("resource", RESOURCES)
def test_ids_that_are_not_uuids_are_not_found(seeded: Seeded, resource: str) -> None:
    # Every route below an entry of the resource, e.g. ("PUT", "") or ("GET", "/verification").
    routes = [
        (method, template.partition("}")[2])
        for method, template in settings_operations()
        if template.startswith(f"{resource}/{{")
    ]
    with unchanged(seeded):
        for case, item in NOT_UUIDS.items():
            for method, suffix in routes:
                url = f"{seeded.api.base}/{resource}/{item}{suffix}"
                body = valid_body(seeded, method, resource) if method in ("PATCH", "PUT") else None
                response = seeded.api.client.request(
                    method, url, headers=seeded.api.headers(), json=body
                )
                refused(response, 404, "not found", case=f"{method} {case}{suffix}")


@pytest.mark.parametrize(
    "resource", [case.name for case in CASES if "deletes" in case.resource.batch_operations]
)
def test_ids_that_are_not_uuids_fail_a_batch(seeded: Seeded, resource: str) -> None:
    body = valid_body(seeded, "POST", f"{resource}/batch")
    with unchanged(seeded):
        for item in ("not-a-uuid", "\x00", "1' OR '1'='1", "a" * 64):
            body["deletes"] = [{"id": seeded.ids[resource]}, {"id": item}]
            refused(seeded.api.post(f"{resource}/batch", json=body), 404, "deletes.1.id")


def test_entries_of_another_account_are_not_found(seeded: Seeded, other_api: Api) -> None:
    other = seed(other_api)
    with unchanged(seeded, other):
        for resource in RESOURCES:
            theirs = other.ids[resource]
            refused(seeded.api.get(f"{resource}/{theirs}"), 404)
            refused(seeded.api.patch(f"{resource}/{theirs}", json={}), 404)
            refused(seeded.api.delete(f"{resource}/{theirs}"), 404)


def test_account_ids_with_control_characters_are_refused(seeded: Seeded) -> None:
    with unchanged(seeded):
        for account in ("%00", "abc%0d%0a", "%ff", "a" * 65):
            url = f"/client/v4/accounts/{account}/email-security/settings/allow_policies"
            response = seeded.api.client.get(url, headers=seeded.api.headers())
            refused(response, 400, "account_id", case=account)


# --- bodies too large ----------------------------------------------------------------------


@pytest.fixture
def small_api(database_url: str, database: Database, account: Account) -> Iterator[Api]:
    """The account's client on an app that takes bodies of at most 1024 bytes."""
    app = create_app(Settings(database_url=database_url, max_body_bytes=1024), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, account, account.token)


def _chunks(total: int, size: int = 256) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


@pytest.mark.parametrize("write", WRITES, ids=write_id)
def test_bodies_over_the_configured_limit_are_refused(
    seeded: Seeded, small_api: Api, write: tuple[str, str]
) -> None:
    method, path = write
    small = Seeded(small_api, seeded.ids)
    body = json.dumps(valid_body(seeded, method, path)).encode()
    headers = {"Content-Type": "application/json"}
    with unchanged(seeded):
        # Content-Length says so: refused before anything is read.
        padded = body + b" " * (1025 - len(body))
        response = small.send(method, path, content=padded, headers=headers)
        refused(response, 413, "larger than 1024 bytes")
        # Chunked, no Content-Length: refused while reading.
        chunked = small.send(method, path, content=_chunks(4096), headers=headers)
        assert "content-length" not in chunked.request.headers
        refused(chunked, 413, "larger than 1024 bytes")


def test_a_body_at_the_configured_limit_is_read(small_api: Api) -> None:
    body = json.dumps(create_body("trusted_domains")).encode()
    padded = body + b" " * (1024 - len(body))
    response = small_api.post(
        "trusted_domains", content=padded, headers={"Content-Type": "application/json"}
    )
    assert small_api.ok(response, 201)["pattern"] == create_body("trusted_domains")["pattern"]


def test_huge_bodies_over_a_real_socket_are_refused(
    live_server: LiveServer, app: FastAPI, account: Account
) -> None:
    limit = app.state.settings.max_body_bytes
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        api = Api(http, account, account.token)
        seeded = seed(api)
        headers = {"Content-Type": "application/json"}
        with unchanged(seeded):
            for path in ("allow_policies", "allow_policies/batch", EVALUATE):
                sized = seeded.send("POST", path, content=b" " * (limit + 1), headers=headers)
                refused(sized, 413, f"larger than {limit} bytes")
                chunks = _chunks(limit + 65536, 65536)
                chunked = seeded.send("POST", path, content=chunks, headers=headers)
                assert chunked.request.headers["transfer-encoding"] == "chunked"
                refused(chunked, 413, f"larger than {limit} bytes")


# --- text that looks like SQL, wildcards, emoji and right-to-left scripts ------------------

TRICKY_TEXT = ["100% sure", "under_score", "back\\slash", "o'brien", "plain words"]


def _with_text(resource: str, text: str, n: int) -> dict[str, Any]:
    body = create_body(resource, n + 10)
    body[FREE_TEXT[resource]] = text
    return body


@pytest.mark.parametrize("resource", sorted(FREE_TEXT))
def test_sql_and_wildcards_in_searches_are_literal(seeded: Seeded, resource: str) -> None:
    api = seeded.api
    made = {
        text: api.ok(api.post(resource, json=_with_text(resource, text, n)), 201)
        for n, text in enumerate(TRICKY_TEXT)
    }
    searched = [column.key for column in CASES_BY_NAME[resource].resource.search]

    def found(search: str) -> set[str]:
        """Which of the entries made here the search finds."""
        listed = api.ok(api.get(resource, params={"search": search, "per_page": 1000}))
        return {entry["id"] for entry in listed} & {entry["id"] for entry in made.values()}

    def holding(needle: str) -> set[str]:
        """The entries made here with the needle, as written, in a searched field (other
        fields than the free text may hold it too, e.g. a backslash in a regex)."""
        return {
            entry["id"]
            for entry in made.values()
            if any(needle.casefold() in (entry[name] or "").casefold() for name in searched)
        }

    with unchanged(seeded):
        for needle, text in [("%", "100% sure"), ("_", "under_score"), ("\\", "back\\slash")]:
            assert made[text]["id"] in found(needle)
            assert found(needle) == holding(needle)
        assert found("'") == {made["o'brien"]["id"]}
        assert found("%'%") == set()
        for sql in ("' OR 1=1 --", "' OR '1'='1", "x'; DROP TABLE accounts; --", '" OR ""="'):
            assert found(sql) == set()
    assert api.get("domains", params={"search": "%"}).json()["result"] == []
    assert api.get(resource, params={"order": "created_at; --"}).status_code == 400


def test_sql_in_exact_filters_matches_nothing(seeded: Seeded) -> None:
    with unchanged(seeded):
        for resource in ("allow_policies", "block_senders", "trusted_domains"):
            for value in ("' OR 1=1 --", "%", "_"):
                response = seeded.api.get(resource, params={"pattern": value})
                assert seeded.api.ok(response) == []
        assert seeded.api.ok(seeded.api.get("domains", params={"domain": "' OR 1=1 --"})) == []


EMOJI_AND_RTL = [
    "👩🏽‍💻 team 🚀",
    "עברית ו-English",
    "العربية \u202eRLO\u202c",
    "\u200f\u200emarks",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ︎",
]


@pytest.mark.parametrize("resource", sorted(FREE_TEXT))
def test_emoji_and_right_to_left_text_are_kept_exactly(seeded: Seeded, resource: str) -> None:
    api = seeded.api
    field = FREE_TEXT[resource]
    for n, text in enumerate(EMOJI_AND_RTL):
        created = api.ok(api.post(resource, json=_with_text(resource, text, n)), 201)
        assert created[field] == text
        assert api.ok(api.get(f"{resource}/{created['id']}"))[field] == text
        listed = api.ok(api.get(resource, params={"search": text}))
        assert [entry["id"] for entry in listed] == [created["id"]]


def test_right_to_left_domains_are_stored_as_a_labels(api: Api) -> None:
    body = {"pattern": "مثال.إختبار", "pattern_type": "DOMAIN", "is_regex": False}
    assert api.ok(api.post("block_senders", json=body), 201)["pattern"] == (
        "xn--mgbh0fb.xn--kgbechtv"
    )


# --- regular expressions -------------------------------------------------------------------

CATASTROPHIC = ["(a+)+$", "(a|aa)+b", "(a*)*b", "^(a|a?)+$", "(.*a){20}"]


def test_catastrophic_regexes_are_harmless(seeded: Seeded) -> None:
    api = seeded.api
    for pattern in CATASTROPHIC:
        body = {"pattern": pattern, "pattern_type": "EMAIL", "is_regex": True}
        assert api.ok(api.post("block_senders", json=body), 201)["pattern"] == pattern
        body = {"pattern": pattern, "is_regex": True, "is_recent": False, "is_similarity": True}
        api.ok(api.post("trusted_domains", json=body), 201)
        body = {"name": f"Regex {pattern}", "email": pattern, "is_email_regex": True}
        api.ok(api.post("impersonation_registry", json=body), 201)
        body = {"name": f"Regex {pattern}", "pattern": pattern, "targets": ["SUBJECT", "BODY"]}
        api.ok(api.post("content_policies", json={**body, "enabled": True}), 201)
        api.ok(api.post("url_ignore_patterns", json={"pattern": f"https://{pattern}"}), 201)
    # A long prefix that almost matches: exponential work for a backtracking engine.
    sender = "a" * 230 + "@" + "a" * 20  # as long as an SMTP path allows
    message = {
        "envelope_from": sender,
        "header_from": sender,
        "header_from_name": "Regex " + "a" * 1000,
        "reply_to": sender,
        "recipients": ["bob@ours0.example"],
        "subject": "a" * 1000,
        "body": "a" * 100_000 + " https://" + "a" * 1000,
        "body_html": f'<a href="https://{"a" * 1000}">' + "a" * 100_000 + "</a>",
    }
    started = time.monotonic()
    response = seeded.evaluate(message)
    elapsed = time.monotonic() - started
    verdict = api.ok(response)
    assert elapsed < 2.0, elapsed
    assert len(verdict["recipients"]) == 1


@pytest.mark.parametrize(
    "pattern",
    ["(a)\\1", "(?=a)a", "(?<!a)b", "(?P<x>a)(?P=x)", "a{1001}", "((a{100}){100}){100}", "(", "["],
)
def test_regexes_re2_cannot_run_are_refused(seeded: Seeded, pattern: str) -> None:
    api = seeded.api
    with unchanged(seeded):
        body = {"pattern": pattern, "pattern_type": "EMAIL", "is_regex": True}
        refused(api.post("block_senders", json=body), 400, "RE2")
        body = {"pattern": pattern, "is_regex": True, "is_recent": False, "is_similarity": False}
        refused(api.post("trusted_domains", json=body), 400, "RE2")
        body = {"name": "Regex", "email": pattern, "is_email_regex": True}
        refused(api.post("impersonation_registry", json=body), 400, "RE2")
        body = {"name": "Regex", "pattern": pattern, "targets": ["BODY"], "enabled": True}
        refused(api.post("content_policies", json=body), 400, "RE2")
        refused(api.post("url_ignore_patterns", json={"pattern": pattern}), 400, "RE2")
        refused(
            api.patch(
                f"allow_policies/{seeded.ids['allow_policies']}",
                json={"pattern": pattern, "is_regex": True},
            ),
            400,
            "RE2",
        )


# --- no internals in any answer ------------------------------------------------------------


def test_error_messages_reveal_no_internals(seeded: Seeded) -> None:
    responses = []
    for write in WRITES:
        for raw in MALFORMED.values():
            responses.append(send_raw(seeded, *write, raw))
        responses.append(seeded.send(*write, json={"unexpected": 1}))
    for resource in RESOURCES:
        responses.append(seeded.api.get(resource, params={"page": 2**64}))
        responses.append(seeded.api.get(resource, params={"search": "\x00"}))
        responses.append(seeded.api.get(f"{resource}/%00"))
        responses.append(seeded.api.get(f"{resource}/{'9' * 40}"))
        responses.append(seeded.api.patch(f"{resource}/{seeded.ids[resource]}", json={"x": 1}))
    responses.append(seeded.api.post("domains", json=create_body("domains")))  # 409
    responses.append(seeded.api.with_token("ess_wrong").get("allow_policies"))  # 401
    responses.append(seeded.api.with_token(None).get("allow_policies"))  # 401
    responses.append(seeded.api.with_token(seeded.api.account.read_token).post("domains"))  # 403
    responses.append(seeded.api.client.get("/client/v4/no/such/route"))  # 404
    responses.append(seeded.api.client.put(seeded.url("allow_policies")))  # 405
    assert len(responses) > 250
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["success"] is False
        assert_no_internals(response)


@pytest.fixture
def unreachable_database_url(database_url: str, tmp_path: Path) -> str:
    """A URL of the same kind as `database_url` that cannot be opened."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'missing' / 'directory' / 'email-security.db'}"
    return (
        make_url(database_url)
        .set(database=f"missing_{uuid.uuid4().hex}")
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def schemaless_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of the same kind as `database_url` that opens but has no tables: every
    query fails in a way no client can do anything about."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    with fresh_postgres_database(server) as url:
        yield url


def answers(url: str, account: Account) -> list[httpx.Response]:
    database = Database(url)
    app = create_app(Settings(database_url=url), database=database)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            api = Api(client, account, account.token)
            return [api.get("allow_policies"), api.post("allow_policies", json=allow_policy())]
    finally:
        database.dispose()


def test_internal_errors_reveal_nothing(
    schemaless_database_url: str, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    for response in answers(schemaless_database_url, account):
        assert response.status_code == 500
        assert response.json() == {
            "success": False,
            "errors": [{"code": 1000, "message": "Internal error"}],
            "messages": [],
            "result": None,
        }
        assert_no_internals(response)
    # The details are logged for the operator instead.
    assert any(record.exc_info for record in caplog.records)


def test_an_unreachable_database_is_a_503_to_retry(
    unreachable_database_url: str, account: Account
) -> None:
    for response in answers(unreachable_database_url, account):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == {
            "success": False,
            "errors": [{"code": 1012, "message": ServiceUnavailable.default_message}],
            "messages": [],
            "result": None,
        }
        assert_no_internals(response)
