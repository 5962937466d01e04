"""npm packages of the tests (the TypeScript SDK, axe-core), installed from their lock files."""

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

INSTALL_TIMEOUT = 600


def npm_environment() -> dict[str, str]:
    # CLOUDFLARE_* (credentials, base URL, custom headers) would change what the SDK sends.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLOUDFLARE_")}
    env.update(npm_config_update_notifier="false", npm_config_fund="false")
    return env


def installed_matches_lock(package: Path) -> bool:
    """npm's own record of node_modules (.package-lock.json) lists what the lock file pins."""
    try:
        lock = json.loads((package / "package-lock.json").read_text())
        installed = json.loads((package / "node_modules" / ".package-lock.json").read_text())
    except (OSError, ValueError):
        return False
    # The lock file also holds the root package (""); npm's record of node_modules does not.
    pinned = {name: entry for name, entry in lock.get("packages", {}).items() if name}
    return bool(pinned) and installed.get("packages") == pinned


def npm_ci(package: Path, needed_by: str) -> str:
    """`node`, with the package's node_modules installed from its lock file (`npm ci`);
    skips the test, naming `needed_by`, where node or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"{needed_by} needs node and npm on PATH")
    # One lock per package folder, outside node_modules (npm ci deletes that): xdist workers
    # and concurrent sessions install one at a time, and later ones find the install done.
    key = hashlib.sha256(str(package).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"email-security-npm-{key}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed_matches_lock(package):
            install = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=package,
                env=npm_environment(),
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if install.returncode != 0:
                pytest.fail(f"npm ci failed ({install.returncode}):\n{install.stderr}")
    return node
