"""The official TypeScript SDK (npm `cloudflare`, pinned in typescript/package.json), unchanged,
against the live server: typescript/settings.mjs drives every method of
client.emailSecurity.settings.* and checks what comes back."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from email_security.core.batch import ORDER
from email_security.resources import RESOURCES
from tests.resources.cases import CASES, ResourceCase
from tests.support import LiveServer, new_account

PACKAGE = Path(__file__).resolve().parent / "typescript"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# The SDK names each group as the server does, in camelCase (allowPolicies, ...).
GROUPS = {camel(resource.name) for resource in RESOURCES}

INSTALL_TIMEOUT = 600
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
        env=sdk_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def installed_matches_lock() -> bool:
    """npm's own record of node_modules (.package-lock.json) lists what the lock file pins."""
    try:
        lock = json.loads((PACKAGE / "package-lock.json").read_text())
        installed = json.loads((PACKAGE / "node_modules" / ".package-lock.json").read_text())
    except (OSError, ValueError):
        return False
    # The lock file also holds the root package (""); npm's record of node_modules does not.
    pinned = {name: entry for name, entry in lock.get("packages", {}).items() if name}
    return bool(pinned) and installed.get("packages") == pinned


def sdk_environment() -> dict[str, str]:
    # CLOUDFLARE_* (credentials, base URL, custom headers) would change what the SDK sends.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLOUDFLARE_")}
    env.update(npm_config_update_notifier="false", npm_config_fund="false")
    return env


@pytest.fixture(scope="session")
def typescript_sdk() -> str:
    """`node`, with the package's node_modules installed from the lock file (`npm ci`)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the TypeScript SDK test needs node and npm on PATH")
    # One lock per checkout, outside node_modules (npm ci deletes that): xdist workers and
    # concurrent sessions install one at a time, and later ones find the install done.
    key = hashlib.sha256(str(PACKAGE).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"email-security-npm-{key}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed_matches_lock():
            install = run_in_package(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], INSTALL_TIMEOUT
            )
            if install.returncode != 0:
                pytest.fail(f"npm ci failed ({install.returncode}):\n{install.stderr}")
    return node


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
