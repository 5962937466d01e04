"""The service around the resources: health, OpenAPI, docs, and errors in the envelope."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support import Api, assert_error, operations_beside_settings, settings_operations


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["result"] == {"status": "ok"}


def test_openapi_document_lists_every_allow_policy_operation(client: TestClient) -> None:
    document = client.get("/client/v4/openapi.json").json()
    base = "/client/v4/accounts/{account_id}/email-security/settings/allow_policies"
    paths = document["paths"]
    assert set(paths[base]) == {"get", "post"}
    assert set(paths[base + "/{policy_id}"]) == {"get", "patch", "delete"}
    assert set(paths[base + "/batch"]) == {"post"}
    list_params = {p["name"] for p in paths[base]["get"]["parameters"]}
    assert {"page", "per_page", "order", "direction", "search", "pattern_type"} <= list_params
    assert "201" in paths[base]["post"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert {"HTTPBearer", "AuthEmail", "AuthKey"} <= set(schemes)


def test_every_account_operation_documents_its_credentials(client: TestClient) -> None:
    document = client.get("/client/v4/openapi.json").json()
    operations = [
        (path, operation)
        for path, methods in document["paths"].items()
        for operation in methods.values()
    ]
    scoped = [operation for path, operation in operations if "{account_id}" in path]
    assert len(scoped) == len(settings_operations()) + operations_beside_settings()
    for operation in scoped:
        assert operation["security"] == [{"HTTPBearer": []}, {"AuthEmail": [], "AuthKey": []}]
    health = document["paths"]["/healthz"]["get"]
    assert "security" not in health


def test_swagger_ui_is_served_from_our_own_assets(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "://" not in response.text  # nothing to fetch from elsewhere
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assets += re.findall(r"url: '([^']+)'", response.text)  # the document, read by the page
    assert len(assets) >= 4
    for asset in assets:
        assert asset.startswith("/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.content, asset


def test_unknown_route_is_404_in_the_envelope(client: TestClient) -> None:
    errors = assert_error(client.get("/client/v4/nothing-here"), 404, "No route")
    assert errors[0]["code"] == 7000


def test_wrong_method_is_405_in_the_envelope(api: Api) -> None:
    assert_error(api.put("allow_policies"), 405)


def test_missing_body_is_400(api: Api) -> None:
    assert_error(api.post("allow_policies"), 400)


def test_invalid_utf8_body_is_400(api: Api) -> None:
    response = api.post(
        "allow_policies",
        content=b'{"pattern": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400)


def test_account_id_with_odd_characters_is_400_not_500(client: TestClient, api: Api) -> None:
    response = client.get(
        "/client/v4/accounts/a%20b%27/email-security/settings/allow_policies",
        headers=api.headers(),
    )
    assert_error(response, 400, "account_id")
