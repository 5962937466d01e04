"""Schema-driven fuzzing with schemathesis: every operation of the served OpenAPI document,
with valid and invalid input, on SQLite and PostgreSQL, authenticated as a fresh account.

Each response must be documented (status code and content type), match its documented
schema, never be a 5xx, and every error must be the Cloudflare failure envelope.

Every check of `st run --checks all` applies, as in `make fuzz` (a live server, longer); this
run is bounded (DEFAULT_EXAMPLES per operation, or EMAIL_SECURITY_FUZZ_EXAMPLES) and
derandomized, so it is the same every time; `make fuzz` adds the stateful phase, which
follows the document's links.
"""

from __future__ import annotations

import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.checks import positive_data_acceptance

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from tests.factories import allow_policy
from tests.fuzz_hooks import positive_data_acceptance_beyond_schema
from tests.resources.cases import CASES
from tests.support import (
    MISSING_ID,
    Account,
    Api,
    new_account,
    operations_beside_settings,
    settings_operations,
)

EXAMPLES_ENV = "EMAIL_SECURITY_FUZZ_EXAMPLES"
DEFAULT_EXAMPLES = 15
EXAMPLES = int(os.environ.get(EXAMPLES_ENV) or DEFAULT_EXAMPLES)
# Every check `st run --checks all` runs (as `make fuzz` does), positive-data acceptance
# taken by the project's variant, which sets apart refusals of server-checked values.
load_all_checks()
EVERY_CHECK = [
    check
    for check in CHECKS.get_all()
    if check is not positive_data_acceptance and not isinstance(check, type)
]
assert positive_data_acceptance_beyond_schema in EVERY_CHECK

SETTINGS = "/settings/"
CASES_BY_NAME = {case.name: case for case in CASES}


@dataclass
class FuzzTarget:
    """An account holding one entry of every resource: the fuzzer gets real ids to read,
    change and delete."""

    api: Api
    seeded: dict[str, str] = field(default_factory=dict)
    made: int = 0

    def create(self, resource: str) -> str:
        self.made += 1  # values that must be unique differ
        body = CASES_BY_NAME[resource].body(self.made)
        return str(self.api.ok(self.api.post(resource, json=body), 201)["id"])


@pytest.fixture
def fuzz_target(client: TestClient, database: Database) -> FuzzTarget:
    account: Account = new_account(database)
    target = FuzzTarget(Api(client, account, account.token))
    for resource in CASES_BY_NAME:
        target.seeded[resource] = target.create(resource)
    return target


# The document does not depend on the database: it is read from an app that never connects
# to its own; each test sends its requests to the `app` fixture (SQLite or PostgreSQL).
_UNUSED_DATABASE = f"sqlite:///{Path(tempfile.gettempdir()) / 'never-opened.db'}"
_DOCUMENTED_APP = create_app(Settings(database_url=_UNUSED_DATABASE))
schema = schemathesis.openapi.from_asgi("/client/v4/openapi.json", _DOCUMENTED_APP)
schema.config.generation.update(max_examples=EXAMPLES, database="none")
# Raw messages for the evaluate endpoint: whatever bytes Hypothesis makes, sent as they are.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


def _use_seeded(value: object) -> bool:
    """Half of the generated ids are swapped for a real one; which half is fixed by the
    generated value, so a case replays the same way while Hypothesis shrinks it."""
    return zlib.crc32(str(value).encode()) % 2 == 0


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_api_conforms_to_its_schema(
    case: schemathesis.Case, app: FastAPI, fuzz_target: FuzzTarget
) -> None:
    account = fuzz_target.api.account
    # Real ids and credentials replace generated ones, except where the case is about them
    # (an invalid path or Authorization header must stay so, to be refused).
    mutated = mutated_locations(case)
    headers = {} if "header" in mutated else {"Authorization": f"Bearer {account.token}"}
    if "path" not in mutated:
        real_path_parameters(case, fuzz_target)
    response = case.call_and_validate(app=app, headers=headers, checks=EVERY_CHECK)
    if response.status_code >= 400:  # a success need not be JSON (an export)
        assert_cloudflare_failure_if_refused(response.status_code, response.json())


def mutated_locations(case: schemathesis.Case) -> set[str]:
    """Where a negative case was made invalid: "path", "header", "query", "body"."""
    components = case.meta.components if case.meta else {}
    return {location.value for location, info in components.items() if not info.mode.is_positive}


def real_path_parameters(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    if "account_id" in (case.path_parameters or {}):
        case.path_parameters["account_id"] = fuzz_target.api.account.id
    resource = case.path.partition(SETTINGS)[2].split("/")[0]
    for name, value in list((case.path_parameters or {}).items()):
        if name != "account_id" and resource in CASES_BY_NAME and _use_seeded(value):
            if case.method.upper() == "DELETE":
                case.path_parameters[name] = fuzz_target.create(resource)
            else:
                case.path_parameters[name] = fuzz_target.seeded[resource]


def assert_cloudflare_failure_if_refused(status: int, body: Any) -> None:
    if status >= 400:
        assert body["success"] is False, body
        assert body["result"] is None, body
        assert body["messages"] == [], body
        assert body["errors"], body
        for error in body["errors"]:
            assert isinstance(error["code"], int), error
            assert isinstance(error["message"], str), error
            assert error["message"], error


# --- what schemathesis found, pinned -------------------------------------------------------


def test_every_operation_documents_the_errors_it_answers(client: TestClient) -> None:
    document = client.get("/client/v4/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, by_method in document["paths"].items()
        if path.startswith("/client/v4/accounts/")
        for method, operation in by_method.items()
    ]
    assert len(operations) == len(settings_operations()) + operations_beside_settings()
    for path, method, operation in operations:
        documented = set(operation["responses"])
        # The verification route documented no error at all.
        assert {"400", "401", "403", "404", "413"} <= documented, (method, path)
        # Invalid input is a 400 in the envelope; FastAPI's 422 never happens.
        assert "422" not in documented, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_list_results_are_documented_as_lists(client: TestClient) -> None:
    schemas = client.get("/client/v4/openapi.json").json()["components"]["schemas"]
    lists = [name for name in schemas if name.startswith("ListEnvelope")]
    assert len(lists) == len(CASES) + 1  # one list per group, and the audit log
    for name in lists:
        result = schemas[name]["properties"]["result"]
        # It said `Out | null`, so every non-empty list answered broke the document.
        assert {"type": "array", "items": {"$ref": result["anyOf"][0]["items"]["$ref"]}} in (
            result["anyOf"]
        ), result


def route_templates() -> list[tuple[str, list[str]]]:
    """Every path of the document under an account, with the methods it has."""
    document = _DOCUMENTED_APP.openapi()
    prefix = "/client/v4/accounts/{account_id}/email-security/"
    return [
        (path.removeprefix(prefix), sorted(method.upper() for method in operations))
        for path, operations in document["paths"].items()
        if path.startswith(prefix)
    ]


@pytest.mark.parametrize(("template", "methods"), route_templates(), ids=lambda v: str(v))
def test_method_not_allowed_names_exactly_the_methods_of_that_path(
    api: Api, template: str, methods: list[str]
) -> None:
    path = re.sub(r"\{[^}]+\}", MISSING_ID, template)
    url = f"/client/v4/accounts/{api.account.id}/email-security/{path}"
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - set(methods)):
        response = api.client.request(method, url, headers=api.headers())
        assert response.status_code == 405, (method, path, response.text)
        assert response.json()["errors"] == [{"code": 7001, "message": "Method not allowed"}]
        assert response.headers["allow"] == ", ".join(methods), (method, path)


def test_null_deprecated_aliases_are_not_copied_to_their_new_names(api: Api) -> None:
    # The document gives the deprecated flags a null default; a null used to be copied over
    # the new name and refused as "is_trusted_sender: Input should be a valid boolean".
    body = allow_policy(is_sender=None, is_spoof=None, is_recipient=None)
    created = api.ok(api.post("allow_policies", json=body), 201)
    assert created["is_trusted_sender"] is True
    changed = api.ok(api.patch(f"allow_policies/{created['id']}", json={"is_sender": None}))
    assert changed["is_trusted_sender"] is True
    assert changed["is_sender"] is True
