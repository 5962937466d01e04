"""The official TypeScript SDK (npm `cloudflare`, pinned in typescript/package.json), unchanged,
against the live server: typescript/settings.mjs drives every method of
client.emailSecurity.settings.* and checks what comes back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from email_security.core.batch import ORDER
from email_security.resources import RESOURCES
from tests.npm import npm_ci, npm_environment
from tests.resources.cases import CASES, ResourceCase
from tests.support import LiveServer, new_account

PACKAGE = Path(__file__).resolve().parent / "typescript"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# The SDK names each group as the server does, in camelCase (allowPolicies, ...).
GROUPS = {camel(resource.name) for resource in RESOURCES}

RUN_TIMEOUT = 180
# settings.mjs pages through this many entries (its MANY): more than two pages of 5.
SEEDS = 12


def query_value(value: str) -> str | bool:
    """The cases write every query value as text; the SDK's list() takes booleans for flags."""
    return {"true": True, "false": False}.get(value, value)


def group_plan(case: ResourceCase) -> dict[str, Any]:
    """The data settings.mjs drives one group's shared steps with, from the server's case.
    put and post come after every seed in the main order (their n is larger)."""
    filter_plan = None
    if case.filter is not None:
        query, selected = case.filter
        filter_plan = {
            "query": {name: query_value(value) for name, value in query.items()},
            "bodies": [selected(20), selected(21)],
        }
    return {
        "seeds": [case.body(n) for n in range(SEEDS)],
        "change": case.change,
        "put": {"n": SEEDS, "body": case.put_body(SEEDS)},
        "post": {"n": SEEDS + 1, "body": case.body(SEEDS + 1)},
        "order": next(iter(case.resource.sorts)),
        "filter": filter_plan,
        "batch": [operation for operation in ORDER if operation in case.resource.batch_operations],
    }


def sdk_plan() -> dict[str, dict[str, Any]]:
    return {camel(case.name): group_plan(case) for case in CASES}


def run_in_package(command: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=PACKAGE,
        env=npm_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def typescript_sdk() -> str:
    """`node`, with the package's node_modules installed from the lock file (`npm ci`)."""
    return npm_ci(PACKAGE, "the TypeScript SDK test")


def test_typescript_sdk_drives_every_settings_method(
    typescript_sdk: str, live_server: LiveServer, tmp_path: Path
) -> None:
    account = new_account(live_server.database)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(sdk_plan()))
    server = [live_server.base_url, account.id, account.token]
    run = run_in_package([typescript_sdk, "settings.mjs", *server, str(plan)], RUN_TIMEOUT)
    assert run.returncode == 0, f"settings.mjs failed ({run.returncode}):\n{run.stderr}"
    summary = json.loads(run.stdout)
    assert set(summary["groups"]) == GROUPS
    for group, methods in summary["groups"].items():
        assert {"create", "get", "edit", "list", "delete"} <= set(methods), group
    assert {"update", "batch", "bulkDelete"} <= set(summary["groups"]["domains"])
    assert summary["methods"] == sum(len(methods) for methods in summary["groups"].values())


if __name__ == "__main__":
    # The plan for running settings.mjs by hand: python -m tests.sdk.test_typescript_sdk
    json.dump(sdk_plan(), sys.stdout)
