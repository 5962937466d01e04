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
import tempfile
from pathlib import Path

import pytest

from email_security.resources import RESOURCES
from tests.support import LiveServer, new_account

PACKAGE = Path(__file__).resolve().parent / "typescript"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# The SDK names each group as the server does, in camelCase (allowPolicies, ...).
GROUPS = {camel(resource.name) for resource in RESOURCES}

INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 180


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
            install = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PACKAGE,
                env=sdk_environment(),
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if install.returncode != 0:
                pytest.fail(f"npm ci failed ({install.returncode}):\n{install.stderr}")
    return node


def test_typescript_sdk_drives_every_settings_method(
    typescript_sdk: str, live_server: LiveServer
) -> None:
    account = new_account(live_server.database)
    run = subprocess.run(
        [typescript_sdk, "settings.mjs", live_server.base_url, account.id, account.token],
        cwd=PACKAGE,
        env=sdk_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert run.returncode == 0, f"settings.mjs failed ({run.returncode}):\n{run.stderr}"
    summary = json.loads(run.stdout)
    assert set(summary["groups"]) == GROUPS
    for group, methods in summary["groups"].items():
        assert {"create", "get", "edit", "list", "delete"} <= set(methods), group
    assert {"update", "batch", "bulkDelete"} <= set(summary["groups"]["domains"])
    assert summary["methods"] == sum(len(methods) for methods in summary["groups"].values())
