"""Whether the engine's hot modules run compiled.

`make install` compiles them with mypyc (tools/compile_engine.py): the same code, about
1.6x faster. The compiled modules are used only when they were built from the sources as
they are now, so an edited module never runs stale; otherwise, or with
EMAIL_SECURITY_PURE_PYTHON set, the engine runs as plain Python.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

COMPILED_MODULES = ("_model", "_names", "_index", "_compile", "_evaluate")
# The compiled modules share one library; a dotted name keeps it inside this package.
LIBRARY_GROUP = "email_security.engine._hot"
PURE_PYTHON_ENV = "EMAIL_SECURITY_PURE_PYTHON"

PACKAGE_DIR = Path(__file__).resolve().parent
COMPILED_DIR = PACKAGE_DIR / "_compiled"
BUILT_FROM = COMPILED_DIR / "SOURCES"  # the digest of the sources they were built from
MODULES_DIR = COMPILED_DIR / "email_security" / "engine"


def sources_digest() -> str:
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update((PACKAGE_DIR / f"{name}.py").read_bytes())
    return digest.hexdigest()


def compiled_modules_dir() -> str | None:
    """The folder of compiled modules, if they may be used."""
    if os.environ.get(PURE_PYTHON_ENV):
        return None
    try:
        built_from = BUILT_FROM.read_text().strip()
    except OSError:
        return None
    return str(MODULES_DIR) if built_from == sources_digest() else None
