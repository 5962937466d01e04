"""Protected domains: what only this group does (what every group does is in test_common.py).

Normalisation of the domain, the transport and the IPs; the enum lists and their dedup;
defaults of optional fields and null resetting them; PUT; the verification route; read-only
state written by mail flow; the domain, status, delivery-mode and integration filters;
uniqueness beyond a plain duplicate; and the deprecated bulk DELETE.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from email_security.kit.db import Database
from email_security.resources.domains import Domain
from tests.factories import batch, domain_put, protected_domain
from tests.support import MISSING_ID, Api, assert_error

PATH = "domains"
BATCH = "domains/batch"

OUTPUT_FIELDS = {
    "id",
    "created_at",
    "modified_at",
    "last_modified",
    "domain",
    "allowed_delivery_modes",
    "drop_dispositions",
    "ip_restrictions",
    "regions",
    "folder",
    "integration_id",
    "lookback_hops",
    "require_tls_inbound",
    "require_tls_outbound",
    "transport",
    "status",
    "authorization",
    "emails_processed",
    "dmarc_status",
    "spf_status",
    "inbox_provider",
    "o365_tenant_id",
    # What every entry has beyond the contract: its expiry and hit statistics.
    "expires_at",
    "hit_count",
    "last_hit_at",
}
OPTIONAL_DEFAULTS = {
    "folder": None,
    "integration_id": None,
    "lookback_hops": 1,
    "require_tls_inbound": False,
    "require_tls_outbound": False,
    "transport": None,
}
EVERY_OPTIONAL = {
    "folder": "Inbox",
    "integration_id": "a1b2c3d4-integration",
    "lookback_hops": 5,
    "require_tls_inbound": True,
    "require_tls_outbound": True,
    "transport": "mx.example.net",
}


def create(api: Api, domain: str = "example.com", **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=protected_domain(domain, **overrides)), 201)


def set_status(database: Database, domain_id: str, status: str) -> None:
    """Status is reported by mail flow, never written through the API."""
    with database.write() as session:
        session.execute(
            update(Domain).where(Domain.id == uuid.UUID(domain_id)).values(status=status)
        )


class TestCreate:
    def test_sets_every_optional_field_sent(self, api: Api) -> None:
        result = create(api, **EVERY_OPTIONAL)
        assert {name: result[name] for name in EVERY_OPTIONAL} == EVERY_OPTIONAL

    def test_read_only_fields_have_their_defaults(self, api: Api) -> None:
        result = create(api)
        assert result["status"] == "ACTIVE"
        assert result["authorization"] is None
        assert result["emails_processed"] == {
            "timestamp": result["modified_at"],
            "total_emails_processed": 0,
            "total_emails_processed_previous": 0,
        }
        for name in ("dmarc_status", "spf_status", "inbox_provider", "o365_tenant_id"):
            assert result[name] is None, name

    def test_optional_fields_left_out_get_their_defaults(self, api: Api) -> None:
        result = create(api)
        assert {name: result[name] for name in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS

    def test_optional_fields_sent_as_null_get_their_defaults(self, api: Api) -> None:
        result = create(api, **dict.fromkeys(OPTIONAL_DEFAULTS))
        assert {name: result[name] for name in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS

    @pytest.mark.parametrize(
        ("domain", "stored"),
        [
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            ("  mail.example.org ", "mail.example.org"),
            ("Bücher.EXAMPLE", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ],
    )
    def test_domain_is_normalised_to_lowercase_a_labels(
        self, api: Api, domain: str, stored: str
    ) -> None:
        assert create(api, domain)["domain"] == stored

    def test_lists_are_deduplicated_keeping_order(self, api: Api) -> None:
        result = create(
            api,
            allowed_delivery_modes=["BCC", "DIRECT", "BCC", "API"],
            drop_dispositions=["SPAM", "BULK", "SPAM"],
            regions=["US", "GLOBAL", "US", "DE"],
        )
        assert result["allowed_delivery_modes"] == ["BCC", "DIRECT", "API"]
        assert result["drop_dispositions"] == ["SPAM", "BULK"]
        assert result["regions"] == ["US", "GLOBAL", "DE"]

    def test_every_enum_value_is_accepted(self, api: Api) -> None:
        modes = ["DIRECT", "BCC", "JOURNAL", "API", "RETRO_SCAN"]
        dispositions = [
            "MALICIOUS",
            "MALICIOUS-BEC",
            "SUSPICIOUS",
            "SPOOF",
            "SPAM",
            "BULK",
            "ENCRYPTED",
            "EXTERNAL",
            "UNKNOWN",
            "NONE",
        ]
        regions = ["GLOBAL", "AU", "DE", "IN", "US"]
        result = create(
            api,
            allowed_delivery_modes=modes,
            drop_dispositions=dispositions,
            regions=regions,
            folder="AllItems",
        )
        assert result["allowed_delivery_modes"] == modes
        assert result["drop_dispositions"] == dispositions
        assert result["regions"] == regions
        assert result["folder"] == "AllItems"

    def test_drop_dispositions_may_be_empty(self, api: Api) -> None:
        assert create(api, drop_dispositions=[])["drop_dispositions"] == []

    @pytest.mark.parametrize(
        ("address", "stored"),
        [
            ("8.8.8.8", "8.8.8.8"),
            ("10.1.2.3", "10.1.2.3"),
            ("127.0.0.1", "127.0.0.1"),
            ("192.168.1.77/16", "192.168.0.0/16"),
            ("203.0.113.9/24", "203.0.113.0/24"),
            ("198.51.100.7/32", "198.51.100.7"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:db8:1:2::5/32", "2001:db8::/32"),
            ("fd00::1", "fd00::1"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            (" 192.0.2.1 ", "192.0.2.1"),
        ],
    )
    def test_any_valid_ip_or_cidr_is_stored_canonically(
        self, api: Api, address: str, stored: str
    ) -> None:
        assert create(api, ip_restrictions=[address])["ip_restrictions"] == [stored]

    def test_ip_restrictions_are_deduplicated_after_canonicalisation(self, api: Api) -> None:
        result = create(
            api,
            ip_restrictions=[
                "198.51.100.0/24",
                "192.0.2.1",
                "198.51.100.99/24",
                "192.0.2.1/32",
                "2001:db8::1",
            ],
        )
        assert result["ip_restrictions"] == ["198.51.100.0/24", "192.0.2.1", "2001:db8::1"]

    def test_transport_is_normalised(self, api: Api) -> None:
        assert create(api, transport="MX.Example.NET.")["transport"] == "mx.example.net"

    @pytest.mark.parametrize("hops", [1, 20])
    def test_lookback_hops_bounds_are_accepted(self, api: Api, hops: int) -> None:
        assert create(api, lookback_hops=hops)["lookback_hops"] == hops

    def test_lookback_hops_written_as_a_whole_float_is_that_integer(self, api: Api) -> None:
        assert create(api, lookback_hops=3.0)["lookback_hops"] == 3


class TestCreateValidation:
    @pytest.mark.parametrize(
        ("field", "value", "location"),
        [
            ("allowed_delivery_modes", ["DIRECT", "SMTP"], "allowed_delivery_modes.1"),
            ("allowed_delivery_modes", ["direct"], "allowed_delivery_modes.0"),
            ("drop_dispositions", ["VIRUS"], "drop_dispositions.0"),
            ("drop_dispositions", ["spam"], "drop_dispositions.0"),
            ("regions", ["GLOBAL", "EU"], "regions.1"),
            ("regions", ["us"], "regions.0"),
            ("folder", "Junk", "folder"),
            ("folder", "inbox", "folder"),
        ],
    )
    def test_bad_enum_values(self, api: Api, field: str, value: Any, location: str) -> None:
        response = api.post(PATH, json=protected_domain(**{field: value}))
        assert_error(response, 400, location)

    @pytest.mark.parametrize("field", ["allowed_delivery_modes", "regions"])
    def test_list_that_must_not_be_empty(self, api: Api, field: str) -> None:
        assert_error(api.post(PATH, json=protected_domain(**{field: []})), 400, field)

    @pytest.mark.parametrize("hops", [0, 21, -1, 2.5, 21.0, True, "3"])
    def test_lookback_hops_out_of_range(self, api: Api, hops: int) -> None:
        response = api.post(PATH, json=protected_domain(lookback_hops=hops))
        assert_error(response, 400, "lookback_hops")

    @pytest.mark.parametrize(
        "bad",
        [
            "not-an-ip",
            "999.1.1.1",
            "192.0.2.1/33",
            "2001:db8::/129",
            "1.2.3",
            "example.com",
            "192.0.2.0/255.0.255.0",
        ],
    )
    def test_bad_ip_restriction_is_named_by_its_index(self, api: Api, bad: str) -> None:
        body = protected_domain(ip_restrictions=["192.0.2.1", "198.51.100.0/24", bad])
        errors = assert_error(api.post(PATH, json=body), 400, "ip_restrictions.2", repr(bad))
        assert errors[0]["source"] == {"pointer": "/ip_restrictions/2"}

    @pytest.mark.parametrize("bad", ["", "192.0.2.1\n"])
    def test_empty_or_multiline_ip_restriction(self, api: Api, bad: str) -> None:
        body = protected_domain(ip_restrictions=["192.0.2.1", bad])
        assert_error(api.post(PATH, json=body), 400, "ip_restrictions.1")

    def test_too_many_ip_restrictions(self, api: Api) -> None:
        addresses = [f"198.51.{i // 256}.{i % 256}" for i in range(1001)]
        response = api.post(PATH, json=protected_domain(ip_restrictions=addresses))
        assert_error(response, 400, "ip_restrictions")

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            ".",
            "under_score.example",
            "-bad.example",
            "a..b.example",
            "exa mple.com",
            "192.0.2.1",
            "a" * 64 + ".example",
            ".".join(["a" * 63] * 4),
        ],
    )
    def test_bad_domain(self, api: Api, bad: str) -> None:
        errors = assert_error(api.post(PATH, json=protected_domain(bad)), 400, "domain")
        assert errors[0]["source"] == {"pointer": "/domain"}

    @pytest.mark.parametrize(
        "bad", ["", "not a host", "mx_1.example.com", "-mx.example.com", "192.0.2.25"]
    )
    def test_bad_transport(self, api: Api, bad: str) -> None:
        errors = assert_error(api.post(PATH, json=protected_domain(transport=bad)), 400)
        assert errors[0]["source"] == {"pointer": "/transport"}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", "ACTIVE"),
            ("authorization", None),
            ("emails_processed", None),
            ("dmarc_status", "good"),
            ("spf_status", "good"),
            ("inbox_provider", "Google"),
            ("o365_tenant_id", "tenant"),
        ],
    )
    def test_read_only_fields_are_refused(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=protected_domain(**{field: value})), 400, field)

    @pytest.mark.parametrize(
        ("field", "value", "location"),
        [
            ("domain", "exa\x00mple.com", "domain"),
            ("domain", "example.com\n", "domain"),
            ("integration_id", "abc\x00def", "integration_id"),
            ("integration_id", "abc\x1bdef", "integration_id"),
            ("integration_id", "abc\x7f", "integration_id"),
            ("transport", "mx\x07.example.com", "transport"),
            ("ip_restrictions", ["192.0.2.1\x00"], "ip_restrictions.0"),
        ],
    )
    def test_control_characters_are_refused(
        self, api: Api, field: str, value: Any, location: str
    ) -> None:
        body = protected_domain(**{field: value})
        assert_error(api.post(PATH, json=body), 400, location)
        assert api.snapshot(PATH) == []

    def test_integration_id_longer_than_1024_characters(self, api: Api) -> None:
        response = api.post(PATH, json=protected_domain(integration_id="x" * 1025))
        assert_error(response, 400, "integration_id", "1024")


class TestUniqueness:
    @pytest.mark.parametrize("again", ["example.com", "EXAMPLE.com", "example.com."])
    def test_same_domain_twice_is_409(self, api: Api, again: str) -> None:
        create(api, "Example.com")
        errors = assert_error(api.post(PATH, json=protected_domain(again)), 409, "example.com")
        assert errors[0]["source"] == {"pointer": "/domain"}
        assert len(api.snapshot(PATH)) == 1

    def test_idn_and_its_a_label_are_the_same_domain(self, api: Api) -> None:
        create(api, "bücher.example")
        assert_error(api.post(PATH, json=protected_domain("xn--bcher-kva.example")), 409)

    def test_a_deleted_domain_can_be_protected_again(self, api: Api) -> None:
        first = create(api)
        api.ok(api.delete(f"{PATH}/{first['id']}"))
        second = create(api)
        assert second["id"] != first["id"]

    def test_subdomains_are_distinct(self, api: Api) -> None:
        create(api, "example.com")
        assert create(api, "mail.example.com")["domain"] == "mail.example.com"

    def test_replacing_an_entry_does_not_conflict_with_itself(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=domain_put(regions=["US"])))
        assert result["domain"] == "example.com"
        assert result["regions"] == ["US"]


class TestGet:
    def test_reports_status_written_by_mail_flow(self, api: Api, database: Database) -> None:
        created = create(api)
        set_status(database, created["id"], "PENDING")
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["status"] == "PENDING"


class TestVerification:
    def test_returns_the_txt_record_to_publish(self, api: Api) -> None:
        created = create(api, "Mail.Example.com")
        result = api.ok(api.get(f"{PATH}/{created['id']}/verification"))
        assert set(result) == {"last_checked_at", "status", "txt_record_name", "txt_record_value"}
        assert result["txt_record_name"] == "_email-security.mail.example.com"
        assert re.fullmatch(r"email-security-verification=[0-9a-f]{32}", result["txt_record_value"])
        assert result["status"] == "verified"
        assert result["last_checked_at"].endswith("Z")

    def test_idn_record_name_uses_a_labels(self, api: Api) -> None:
        created = create(api, "bücher.example")
        result = api.ok(api.get(f"{PATH}/{created['id']}/verification"))
        assert result["txt_record_name"] == "_email-security.xn--bcher-kva.example"

    def test_record_value_is_stable_and_differs_per_domain(self, api: Api) -> None:
        first = create(api, "one.example")
        second = create(api, "two.example")
        values = [
            api.ok(api.get(f"{PATH}/{entry['id']}/verification"))["txt_record_value"]
            for entry in (first, first, second)
        ]
        assert values[0] == values[1]
        assert values[0] != values[2]

    @pytest.mark.parametrize("status", ["PENDING", "FAILED", "TIMEOUT"])
    def test_a_domain_that_is_not_active_is_pending(
        self, api: Api, database: Database, status: str
    ) -> None:
        created = create(api)
        set_status(database, created["id"], status)
        assert api.ok(api.get(f"{PATH}/{created['id']}/verification"))["status"] == "pending"

    @pytest.mark.parametrize("item_id", ["not-a-uuid", MISSING_ID])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.get(f"{PATH}/{item_id}/verification"), 404, "not found")

    def test_a_deleted_domain_is_404(self, api: Api) -> None:
        created = create(api)
        api.ok(api.delete(f"{PATH}/{created['id']}"))
        assert_error(api.get(f"{PATH}/{created['id']}/verification"), 404)

    def test_a_read_only_token_can_read_it(self, api: Api) -> None:
        created = create(api)
        reader = api.with_token(api.account.read_token)
        verification = reader.ok(reader.get(f"{PATH}/{created['id']}/verification"))
        assert verification["txt_record_name"] == "_email-security.example.com"


class TestPatch:
    def test_each_writable_field_can_be_changed(self, api: Api) -> None:
        created = create(api)
        changes = {
            "allowed_delivery_modes": ["BCC", "JOURNAL"],
            "drop_dispositions": [],
            "ip_restrictions": ["198.51.100.0/24"],
            "regions": ["AU", "IN"],
            **EVERY_OPTIONAL,
        }
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=changes))
        assert {name: result[name] for name in changes} == changes
        assert result["domain"] == "example.com"

    @pytest.mark.parametrize("name", ["other.example", "example.com", "EXAMPLE.COM"])
    def test_domain_is_immutable(self, api: Api, name: str) -> None:
        created = create(api)
        response = api.patch(f"{PATH}/{created['id']}", json={"domain": name})
        assert_error(response, 400, "domain")
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_null_resets_fields_with_defaults(self, api: Api) -> None:
        created = create(api, **EVERY_OPTIONAL)
        body = {"lookback_hops": None, "require_tls_inbound": None, "require_tls_outbound": None}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["lookback_hops"] == 1
        assert result["require_tls_inbound"] is False
        assert result["require_tls_outbound"] is False
        assert result["transport"] == "mx.example.net"

    def test_null_clears_nullable_fields(self, api: Api) -> None:
        created = create(api, **EVERY_OPTIONAL)
        body = {"folder": None, "integration_id": None, "transport": None}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["folder"] is None
        assert result["integration_id"] is None
        assert result["transport"] is None
        assert result["lookback_hops"] == 5

    def test_lists_and_transport_are_normalised_on_update(self, api: Api) -> None:
        created = create(api)
        body = {
            "allowed_delivery_modes": ["BCC", "DIRECT", "BCC"],
            "ip_restrictions": ["198.51.100.9/24", "198.51.100.0/24", "2001:DB8::5"],
            "transport": "Relay.Example.ORG.",
        }
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["allowed_delivery_modes"] == ["BCC", "DIRECT"]
        assert result["ip_restrictions"] == ["198.51.100.0/24", "2001:db8::5"]
        assert result["transport"] == "relay.example.org"

    @pytest.mark.parametrize(
        ("body", "location"),
        [
            ({"allowed_delivery_modes": []}, "allowed_delivery_modes"),
            ({"regions": []}, "regions"),
            ({"regions": ["EU"]}, "regions.0"),
            ({"drop_dispositions": ["VIRUS"]}, "drop_dispositions.0"),
            ({"lookback_hops": 0}, "lookback_hops"),
            ({"lookback_hops": 21}, "lookback_hops"),
            ({"transport": "not a host"}, "transport"),
            ({"folder": "Junk"}, "folder"),
            ({"integration_id": "a\x00b"}, "integration_id"),
            ({"status": "PENDING"}, "status"),
        ],
    )
    def test_invalid_changes_are_refused_and_nothing_changes(
        self, api: Api, body: dict[str, Any], location: str
    ) -> None:
        created = create(api, **EVERY_OPTIONAL)
        assert_error(api.patch(f"{PATH}/{created['id']}", json=body), 400, location)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created


class TestPut:
    def test_replaces_the_entry_and_resets_optional_fields(self, api: Api) -> None:
        created = create(api, ip_restrictions=["192.0.2.1"], **EVERY_OPTIONAL)
        body = domain_put(allowed_delivery_modes=["JOURNAL"], drop_dispositions=[], regions=["DE"])
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=body))
        assert result["id"] == created["id"]
        assert result["domain"] == created["domain"]
        assert result["created_at"] == created["created_at"]
        assert result["modified_at"] > created["modified_at"]
        assert result["allowed_delivery_modes"] == ["JOURNAL"]
        assert result["drop_dispositions"] == []
        assert result["ip_restrictions"] == []
        assert result["regions"] == ["DE"]
        assert {name: result[name] for name in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == result

    def test_sets_every_optional_field_sent(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=domain_put(**EVERY_OPTIONAL)))
        assert {name: result[name] for name in EVERY_OPTIONAL} == EVERY_OPTIONAL

    def test_null_optional_fields_get_their_defaults(self, api: Api) -> None:
        created = create(api, **EVERY_OPTIONAL)
        body = domain_put(**dict.fromkeys(OPTIONAL_DEFAULTS))
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=body))
        assert {name: result[name] for name in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS

    def test_values_are_normalised(self, api: Api) -> None:
        created = create(api)
        body = domain_put(
            regions=["US", "US"], ip_restrictions=["203.0.113.77/24"], transport="MX.example.com"
        )
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=body))
        assert result["regions"] == ["US"]
        assert result["ip_restrictions"] == ["203.0.113.0/24"]
        assert result["transport"] == "mx.example.com"

    @pytest.mark.parametrize("name", ["other.example", "example.com"])
    def test_domain_is_refused(self, api: Api, name: str) -> None:
        created = create(api)
        assert_error(
            api.put(f"{PATH}/{created['id']}", json=domain_put(domain=name)), 400, "domain"
        )
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize(
        "field", ["allowed_delivery_modes", "drop_dispositions", "ip_restrictions", "regions"]
    )
    def test_required_fields(self, api: Api, field: str) -> None:
        created = create(api)
        body = domain_put()
        del body[field]
        assert_error(api.put(f"{PATH}/{created['id']}", json=body), 400, field)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize(
        ("overrides", "location"),
        [
            ({"regions": []}, "regions"),
            ({"allowed_delivery_modes": ["SMTP"]}, "allowed_delivery_modes.0"),
            ({"lookback_hops": 21}, "lookback_hops"),
            ({"ip_restrictions": ["nope"]}, "ip_restrictions.0"),
            ({"transport": "bad host"}, "transport"),
            ({"require_tls_inbound": "yes"}, "require_tls_inbound"),
        ],
    )
    def test_invalid_values_are_refused(
        self, api: Api, overrides: dict[str, Any], location: str
    ) -> None:
        created = create(api)
        response = api.put(f"{PATH}/{created['id']}", json=domain_put(**overrides))
        assert_error(response, 400, location)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize("item_id", [MISSING_ID, "not-a-uuid"])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.put(f"{PATH}/{item_id}", json=domain_put()), 404)

    def test_read_only_state_survives_a_replacement(self, api: Api, database: Database) -> None:
        created = create(api)
        set_status(database, created["id"], "PENDING")
        result = api.ok(api.put(f"{PATH}/{created['id']}", json=domain_put(regions=["AU"])))
        assert result["status"] == "PENDING"
        assert result["emails_processed"]["total_emails_processed"] == 0
        assert result["authorization"] is None


class TestBulkDelete:
    """The deprecated `DELETE /domains` with a JSON array of {id}."""

    def test_deletes_every_listed_entry_and_returns_their_ids(self, api: Api) -> None:
        first, second, kept = (create(api, f"{name}.example") for name in ("a", "b", "c"))
        body = [{"id": second["id"]}, {"id": first["id"]}]
        assert api.ok(api.delete(PATH, json=body)) == body
        assert api.snapshot(PATH) == [kept]

    def test_a_single_entry(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.delete(PATH, json=[{"id": created["id"]}])) == [{"id": created["id"]}]
        assert api.snapshot(PATH) == []

    @pytest.mark.parametrize("body", [None, []])
    def test_no_body_or_an_empty_array_is_400(self, api: Api, body: Any) -> None:
        create(api)
        response = api.delete(PATH) if body is None else api.delete(PATH, json=body)
        assert_error(response, 400, "non-empty JSON array")
        assert len(api.snapshot(PATH)) == 1

    @pytest.mark.parametrize("unknown", [MISSING_ID, "not-a-uuid"])
    def test_an_unknown_id_is_404_and_nothing_is_deleted(self, api: Api, unknown: str) -> None:
        existing = [create(api, f"{name}.example") for name in ("a", "b")]
        body = [{"id": existing[0]["id"]}, {"id": unknown}, {"id": existing[1]["id"]}]
        assert_error(api.delete(PATH, json=body), 404, "1.id", "not found")
        assert api.snapshot(PATH) == existing

    def test_another_accounts_id_is_404_and_nothing_is_deleted(
        self, api: Api, other_api: Api
    ) -> None:
        mine = create(api)
        theirs = create(other_api)
        assert_error(api.delete(PATH, json=[{"id": mine["id"]}, {"id": theirs["id"]}]), 404)
        assert api.snapshot(PATH) == [mine]
        assert other_api.snapshot(PATH) == [theirs]

    def test_a_repeated_id_is_400_and_nothing_is_deleted(self, api: Api) -> None:
        created = create(api)
        body = [{"id": created["id"]}, {"id": created["id"]}]
        assert_error(api.delete(PATH, json=body), 400, "repeated")
        assert api.snapshot(PATH) == [created]

    @pytest.mark.parametrize(
        "body",
        [
            {"id": MISSING_ID},
            [MISSING_ID],
            [{"id": MISSING_ID, "domain": "example.com"}],
            [{}],
            [{"id": 7}],
        ],
    )
    def test_malformed_body_is_400(self, api: Api, body: Any) -> None:
        create(api)
        assert_error(api.delete(PATH, json=body), 400)
        assert len(api.snapshot(PATH)) == 1

    def test_at_most_1000_entries(self, api: Api) -> None:
        body = [{"id": str(uuid.uuid4())} for _ in range(1001)]
        assert_error(api.delete(PATH, json=body), 400)


class TestList:
    @pytest.mark.parametrize(
        "params",
        [
            {"allowed_delivery_mode": "bcc"},
            {"allowed_delivery_mode": "SMTP"},
            {"active_delivery_mode": "EMAIL"},
            {"status": "DELETED"},
            {"status": "Active"},
            {"integration_id": "x" * 1025},
            {"domain": "x" * 1025},
        ],
    )
    def test_bad_query_values_are_400(self, api: Api, params: dict[str, Any]) -> None:
        assert_error(api.get(PATH, params=params), 400, next(iter(params)))

    def test_order_by_domain_is_by_character_code_on_every_database(self, api: Api) -> None:
        names = ["ab.example", "a-b.example", "a0.example", "a.example", "aa.example"]
        for name in names:
            create(api, name)
        result, _ = api.page(PATH, order="domain")
        assert [entry["domain"] for entry in result] == sorted(names)

    @pytest.mark.parametrize("name", ["domain", "integration_id", "search"])
    def test_nul_in_a_query_value_is_400(self, api: Api, name: str) -> None:
        create(api)
        assert_error(api.get(PATH, params={name: "a\x00b"}), 400, name)

    def test_ordered_pages_do_not_overlap(self, api: Api) -> None:
        for name in ("e", "b", "d", "a", "c"):
            create(api, f"{name}.example")
        pages = [
            [e["domain"] for e in api.page(PATH, order="domain", per_page=2, page=page)[0]]
            for page in (1, 2, 3)
        ]
        assert pages == [["a.example", "b.example"], ["c.example", "d.example"], ["e.example"]]


class TestListFilters:
    def test_domain_filter_matches_exactly(self, api: Api) -> None:
        target = create(api, "mail.example.com")
        create(api, "example.com")
        create(api, "other.example")
        assert api.listed_ids(PATH, domain="mail.example.com") == [target["id"]]
        assert api.listed_ids(PATH, domain="example") == []

    def test_domain_filter_takes_at_most_100_names(self, api: Api) -> None:
        assert api.listed_ids(PATH, domain=[f"d{n}.example" for n in range(100)]) == []
        names = [f"d{n}.example" for n in range(101)]
        errors = assert_error(api.get(PATH, params={"domain": names}), 400, "domain")
        assert errors[0]["source"] == {"parameter": "domain"}

    def test_domain_filter_can_be_repeated(self, api: Api) -> None:
        first = create(api, "a.example")
        create(api, "b.example")
        third = create(api, "c.example")
        response = api.get(f"{PATH}?domain=a.example&domain=c.example")
        assert [entry["id"] for entry in api.ok(response)] == [first["id"], third["id"]]
        assert response.json()["result_info"]["total_count"] == 2

    @pytest.mark.parametrize("query", ["A.Example.", "a.example.", "A.EXAMPLE"])
    def test_domain_filter_is_normalised(self, api: Api, query: str) -> None:
        target = create(api, "a.example")
        assert api.listed_ids(PATH, domain=query) == [target["id"]]

    def test_domain_filter_matches_an_idn_by_either_spelling(self, api: Api) -> None:
        target = create(api, "bücher.example")
        assert api.listed_ids(PATH, domain="Bücher.example") == [target["id"]]
        assert api.listed_ids(PATH, domain="xn--bcher-kva.example") == [target["id"]]

    def test_domain_filter_with_an_invalid_name_matches_nothing(self, api: Api) -> None:
        create(api)
        assert api.listed_ids(PATH, domain="not a domain") == []

    @pytest.mark.parametrize("name", ["allowed_delivery_mode", "active_delivery_mode"])
    def test_delivery_mode_filters(self, api: Api, name: str) -> None:
        direct = create(api, "direct.example", allowed_delivery_modes=["DIRECT"])
        both = create(api, "both.example", allowed_delivery_modes=["JOURNAL", "BCC"])
        retro = create(api, "retro.example", allowed_delivery_modes=["RETRO_SCAN", "API"])
        assert api.listed_ids(PATH, **{name: "DIRECT"}) == [direct["id"]]
        assert api.listed_ids(PATH, **{name: "BCC"}) == [both["id"]]
        assert api.listed_ids(PATH, **{name: "JOURNAL"}) == [both["id"]]
        assert api.listed_ids(PATH, **{name: "API"}) == [retro["id"]]
        assert api.listed_ids(PATH, **{name: "RETRO_SCAN"}) == [retro["id"]]

    def test_delivery_mode_filters_agree(self, api: Api) -> None:
        for index, modes in enumerate((["DIRECT"], ["BCC", "DIRECT"], ["API"])):
            create(api, f"d{index}.example", allowed_delivery_modes=modes)
        for mode in ("DIRECT", "BCC", "JOURNAL", "API", "RETRO_SCAN"):
            assert api.listed_ids(PATH, allowed_delivery_mode=mode) == api.listed_ids(
                PATH, active_delivery_mode=mode
            )

    def test_integration_id_filter_is_exact(self, api: Api) -> None:
        target = create(api, "a.example", integration_id="abc")
        create(api, "b.example", integration_id="abcd")
        create(api, "c.example")
        assert api.listed_ids(PATH, integration_id="abc") == [target["id"]]
        assert api.listed_ids(PATH, integration_id="ab") == []

    def test_status_filter(self, api: Api, database: Database) -> None:
        active = create(api, "active.example")
        pending = create(api, "pending.example")
        failed = create(api, "failed.example")
        set_status(database, pending["id"], "PENDING")
        set_status(database, failed["id"], "FAILED")
        assert api.listed_ids(PATH, status="ACTIVE") == [active["id"]]
        assert api.listed_ids(PATH, status="PENDING") == [pending["id"]]
        assert api.listed_ids(PATH, status="FAILED") == [failed["id"]]
        assert api.listed_ids(PATH, status="TIMEOUT") == []

    @pytest.mark.parametrize("status", ["pending", "active", "failed", "timeout"])
    def test_status_filter_accepts_lower_case(
        self, api: Api, database: Database, status: str
    ) -> None:
        target = create(api, "target.example")
        other = create(api, "other.example")
        set_status(database, target["id"], status.upper())
        set_status(database, other["id"], "FAILED" if status == "pending" else "PENDING")
        assert api.listed_ids(PATH, status=status) == [target["id"]]

    def test_new_domains_are_listed_as_active(self, api: Api) -> None:
        created = create(api)
        assert api.listed_ids(PATH, status="active") == [created["id"]]
        assert api.listed_ids(PATH, status="PENDING") == []

    def test_filters_combine(self, api: Api) -> None:
        create(api, "a.example", allowed_delivery_modes=["BCC"], integration_id="one")
        target = create(api, "b.example", allowed_delivery_modes=["BCC"], integration_id="two")
        create(api, "c.example", allowed_delivery_modes=["DIRECT"], integration_id="two")
        result, info = api.page(PATH, allowed_delivery_mode="BCC", integration_id="two")
        assert [entry["id"] for entry in result] == [target["id"]]
        assert info["total_count"] == 1

    def test_search_does_not_look_outside_the_domain(self, api: Api) -> None:
        create(api, "plain.example", integration_id="needle", transport="needle.example.com")
        assert api.listed_ids(PATH, search="needle") == []

    def test_search_combines_with_filters_and_paging(self, api: Api) -> None:
        for i in range(5):
            modes = ["BCC"] if i % 2 == 0 else ["DIRECT"]
            create(api, f"team{i}.example", allowed_delivery_modes=modes)
        create(api, "outsider.example", allowed_delivery_modes=["BCC"])
        result, info = api.page(
            PATH, search="TEAM", allowed_delivery_mode="BCC", per_page=2, page=2
        )
        assert info == {"count": 1, "page": 2, "per_page": 2, "total_count": 3}
        assert result[0]["domain"] == "team4.example"


class TestIsolation:
    def test_other_accounts_domains_are_invisible(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        create(other_api, "theirs.example")
        assert other_api.listed_ids(PATH, domain="example.com") == []
        mine_path = f"{PATH}/{mine['id']}"
        assert_error(other_api.get(f"{mine_path}/verification"), 404)
        assert_error(other_api.put(mine_path, json=domain_put()), 404)
        assert api.ok(api.get(mine_path)) == mine


class TestBatch:
    def test_posts_are_normalised(self, api: Api) -> None:
        body = batch(
            posts=[
                protected_domain("New.Example"),
                protected_domain("bücher.example", ip_restrictions=["203.0.113.5/24"]),
            ]
        )
        result = api.ok(api.post(BATCH, json=body))
        assert [entry["domain"] for entry in result["posts"]] == [
            "new.example",
            "xn--bcher-kva.example",
        ]
        assert result["posts"][1]["ip_restrictions"] == ["203.0.113.0/24"]

    def test_a_put_resets_the_optional_fields_it_leaves_out(self, api: Api) -> None:
        replaced = create(api, "replaced.example", **EVERY_OPTIONAL)
        body = batch(puts=[{"id": replaced["id"], **domain_put(allowed_delivery_modes=["BCC"])}])
        [put] = api.ok(api.post(BATCH, json=body))["puts"]
        assert (put["domain"], put["allowed_delivery_modes"]) == ("replaced.example", ["BCC"])
        assert {name: put[name] for name in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS

    def test_written_entries_have_the_full_shape(self, api: Api) -> None:
        existing = create(api, "existing.example")
        body = batch(
            patches=[{"id": existing["id"], "folder": "Inbox"}],
            posts=[protected_domain("new.example")],
        )
        result = api.ok(api.post(BATCH, json=body))
        for entry in (*result["patches"], *result["posts"]):
            assert set(entry) == OUTPUT_FIELDS
            assert entry["status"] == "ACTIVE"
        assert result["posts"][0]["lookback_hops"] == 1

    def test_a_deleted_domain_can_be_posted_again_in_the_same_batch(self, api: Api) -> None:
        doomed = create(api)
        body = batch(deletes=[{"id": doomed["id"]}], posts=[protected_domain("EXAMPLE.com")])
        result = api.ok(api.post(BATCH, json=body))
        [reborn] = result["posts"]
        assert reborn["id"] != doomed["id"]
        assert api.snapshot(PATH) == [reborn]


class TestBatchAtomicity:
    """Any invalid or conflicting entry fails the whole batch, naming it, and nothing changes."""

    @pytest.fixture
    def existing(self, api: Api) -> list[dict[str, Any]]:
        return [create(api, f"keep{i}.example") for i in range(3)]

    def changes_around(self, existing: list[dict[str, Any]], **operations: Any) -> dict[str, Any]:
        """A batch that would delete, patch and replace entries if it were applied."""
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "lookback_hops": 7}],
            puts=[{"id": existing[2]["id"], **domain_put(regions=["US"])}],
            posts=[protected_domain("fresh.example")],
        )
        for operation, entries in operations.items():
            body[operation] = body[operation] + entries
        return body

    def assert_fails(
        self, api: Api, body: dict[str, Any], status: int, location: str
    ) -> list[dict[str, Any]]:
        before = api.snapshot(PATH)
        errors = assert_error(api.post(BATCH, json=body), status, location)
        assert api.snapshot(PATH) == before
        return errors

    def test_post_conflicting_with_an_existing_domain(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        body = self.changes_around(existing, posts=[protected_domain("KEEP1.example.")])
        errors = self.assert_fails(api, body, 409, "posts.1.domain")
        assert errors[0]["source"] == {"pointer": "/posts/1/domain"}

    def test_two_posts_of_the_same_domain(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing, posts=[protected_domain("Fresh.Example")])
        self.assert_fails(api, body, 409, "posts.1.domain")

    def test_domain_in_a_patch(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing)
        body["patches"][0]["domain"] = "renamed.example"
        self.assert_fails(api, body, 400, "patches.0.domain")

    def test_domain_in_a_put(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing)
        body["puts"][0]["domain"] = "renamed.example"
        self.assert_fails(api, body, 400, "puts.0.domain")

    def test_invalid_value_in_a_patch(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing)
        body["patches"][0]["transport"] = "not a host"
        self.assert_fails(api, body, 400, "patches.0.transport")

    def test_put_with_empty_regions(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing)
        body["puts"][0]["regions"] = []
        self.assert_fails(api, body, 400, "puts.0.regions")

    def test_unknown_id_in_puts(self, api: Api, existing: list[dict[str, Any]]) -> None:
        body = self.changes_around(existing, puts=[{"id": "not-a-uuid", **domain_put()}])
        self.assert_fails(api, body, 404, "puts.1.id")

    def test_repeated_id(self, api: Api, existing: list[dict[str, Any]]) -> None:
        repeated = {"id": existing[1]["id"], "folder": "Inbox"}
        body = self.changes_around(existing, patches=[repeated])
        self.assert_fails(api, body, 400, "patches.1.id")

    def test_control_character_in_a_post(self, api: Api, existing: list[dict[str, Any]]) -> None:
        post = protected_domain("x.example", integration_id="a\x00b")
        body = self.changes_around(existing, posts=[post])
        self.assert_fails(api, body, 400, "posts.1.integration_id")
