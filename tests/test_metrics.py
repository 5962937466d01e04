"""/metrics of the API: requests by route template (never a raw id), their durations,
evaluations by verdict, index builds and the database connections in use.

The app is shared by the whole session, so every figure is compared before and after."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from email_security.kit.db import Database
from tests.resources.cases import CASES
from tests.support import MISSING_ID, Api

SETTINGS_TEMPLATE = "/client/v4/accounts/{account_id}/email-security/settings"
EVALUATE = "/client/v4/accounts/{account_id}/email-security/evaluate"

BLOCK_PARTNER = {"pattern": "partner.example", "pattern_type": "DOMAIN", "is_regex": False}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests(samples: Samples, method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return value(samples, "email_security_http_requests_total", **labels)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_requests_are_counted_by_route_template(api: Api, case: Any) -> None:
    resource = case.resource
    item_route = f"{SETTINGS_TEMPLATE}/{resource.name}/{{{resource.id_param}}}"
    before = scrape(api.client)
    entry = api.ok(api.post(resource.name, json=case.body(1)), 201)
    item = f"{resource.name}/{entry['id']}"
    api.ok(api.get(item))
    api.ok(api.get(item))
    assert api.get(f"{resource.name}/{MISSING_ID}").status_code == 404
    after = scrape(api.client)

    def added(method: str, route: str, status: int) -> float:
        return requests(after, method, route, status) - requests(before, method, route, status)

    assert added("POST", f"{SETTINGS_TEMPLATE}/{resource.name}", 201) == 1
    assert added("GET", item_route, 200) == 2
    assert added("GET", item_route, 404) == 1
    raw_values = (api.account.id, entry["id"], MISSING_ID)
    for _, labels in after:
        for _, label in labels:
            assert not any(raw in label for raw in raw_values), label


def test_durations_are_a_histogram_per_route(api: Api) -> None:
    route = f"{SETTINGS_TEMPLATE}/block_senders"
    name = "email_security_http_request_duration_seconds"
    before = scrape(api.client)
    for _ in range(3):
        api.ok(api.get("block_senders"))
    after = scrape(api.client)
    count = f"{name}_count"
    added = value(after, count, method="GET", route=route) - value(
        before, count, method="GET", route=route
    )
    assert added == 3
    assert value(after, f"{name}_sum", method="GET", route=route) > 0
    buckets = [
        (float(dict(labels)["le"]), figure)
        for (sample, labels), figure in after.items()
        if sample == f"{name}_bucket" and {("method", "GET"), ("route", route)} <= set(labels)
    ]
    assert len(buckets) > 5
    ordered = [figure for _, figure in sorted(buckets)]
    assert ordered == sorted(ordered)  # cumulative
    assert ordered[-1] == value(after, count, method="GET", route=route)  # +Inf holds them all


def test_unknown_paths_and_methods_are_one_label_value_each(api: Api) -> None:
    before = scrape(api.client)
    for path in ("/nowhere", f"/no/{MISSING_ID}", "/client/v4/elsewhere"):
        assert api.client.get(path).status_code == 404
    api.client.request("BREW", "/healthz")
    after = scrape(api.client)
    assert requests(after, "GET", "unmatched", 404) - requests(before, "GET", "unmatched", 404) == 3
    assert requests(after, "other", "/healthz", 405) - requests(before, "other", "/healthz", 405)
    assert not any("BREW" in label for _, labels in after for _, label in labels)


def test_evaluations_are_counted_by_disposition_and_action(api: Api) -> None:
    api.ok(api.post("block_senders", json=BLOCK_PARTNER), 201)
    path = EVALUATE.format(account_id=api.account.id)
    before = scrape(api.client)
    verdicts: Counter[tuple[str, str]] = Counter()
    for sender in ("someone@partner.example", "someone@friend.example"):
        body = {"header_from": sender, "recipients": ["a@ours.example", "b@ours.example"]}
        result = api.ok(api.client.post(path, json=body, headers=api.headers()))
        verdicts.update((v["disposition"], v["action"]) for v in result["recipients"])
    after = scrape(api.client)
    assert verdicts == {("MALICIOUS", "quarantine"): 2, ("NONE", "deliver"): 2}
    name = "email_security_evaluations_total"
    for (disposition, action), count in verdicts.items():
        labels = {"disposition": disposition, "action": action}
        assert value(after, name, **labels) - value(before, name, **labels) == count


def test_index_builds_are_counted_and_timed(api: Api) -> None:
    path = EVALUATE.format(account_id=api.account.id)
    body = {"header_from": "a@b.example", "recipients": ["c@d.example"]}

    def evaluate() -> None:
        api.ok(api.client.post(path, json=body, headers=api.headers()))

    def builds(samples: Samples) -> tuple[float, float, float]:
        return (
            value(samples, "email_security_index_builds_total"),
            value(samples, "email_security_index_build_seconds_count"),
            value(samples, "email_security_index_updates_total"),
        )

    before = builds(scrape(api.client))
    evaluate()  # a new account: built
    evaluate()  # warm: not built again
    api.ok(api.post("block_senders", json=BLOCK_PARTNER), 201)
    evaluate()  # its settings changed: the change applied, nothing built
    after = builds(scrape(api.client))
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (1, 1, 1)


def test_database_connections_in_use(api: Api, database: Database) -> None:
    name = "email_security_db_connections_in_use"
    with database.read(), database.read(), database.read():
        held = value(scrape(api.client), name)
        assert held >= 3  # (background tasks may hold some too)
    assert value(scrape(api.client), name) < held


def test_openmetrics_when_asked(api: Api) -> None:
    response = api.client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
