"""The engine's hot modules run compiled (mypyc) after `make install`, never stale.

`make test` runs the engine's tests once more with EMAIL_SECURITY_PURE_PYTHON set, so
both forms pass the same tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from email_security import engine
from email_security.engine import _speedups


def test_the_engine_runs_compiled_unless_told_not_to() -> None:
    if os.environ.get(_speedups.PURE_PYTHON_ENV):
        assert not engine.COMPILED
    else:
        assert engine.COMPILED, "no compiled engine for these sources: run `make install`"
        assert engine.evaluate.__module__ == "email_security.engine._evaluate"
        assert type(engine.evaluate).__name__ == "builtin_function_or_method"


def test_compiled_modules_built_from_other_sources_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_speedups.PURE_PYTHON_ENV, raising=False)
    built_from = tmp_path / "SOURCES"
    monkeypatch.setattr(_speedups, "BUILT_FROM", built_from)

    assert _speedups.compiled_modules_dir() is None  # never built
    built_from.write_text(_speedups.sources_digest() + "\n")
    assert _speedups.compiled_modules_dir() == str(_speedups.MODULES_DIR)
    built_from.write_text("0" * 64 + "\n")  # built before the sources last changed
    assert _speedups.compiled_modules_dir() is None
    built_from.write_text(_speedups.sources_digest() + "\n")
    monkeypatch.setenv(_speedups.PURE_PYTHON_ENV, "1")
    assert _speedups.compiled_modules_dir() is None
