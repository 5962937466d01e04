"""Compile the policy engine's hot modules with mypyc, into the engine's `_compiled` folder.

    .venv/bin/python tools/compile_engine.py

`make install` runs it. The engine uses what it builds only while the sources stay as they
were (email_security/engine/_speedups.py); a failed build leaves the engine in plain Python.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from mypyc.build import mypycify
from setuptools import setup

from email_security.engine import _speedups

SOURCE_ROOT = _speedups.PACKAGE_DIR.parent.parent  # the folder holding `email_security`


def main() -> None:
    digest = _speedups.sources_digest()
    shutil.rmtree(_speedups.COMPILED_DIR, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / "built"
        # setuptools reads the configuration of the working directory; SOURCE_ROOT has none.
        os.chdir(SOURCE_ROOT)
        os.environ["MYPY_CACHE_DIR"] = str(Path(scratch) / "mypy-cache")
        modules = [f"email_security/engine/{name}.py" for name in _speedups.COMPILED_MODULES]
        extensions = mypycify(
            modules,
            opt_level="3",
            group_name=_speedups.LIBRARY_GROUP,
            target_dir=str(Path(scratch) / "c"),
        )
        setup(
            name="email-security-engine-compiled",
            ext_modules=extensions,
            script_args=[
                "--quiet",
                "build_ext",
                "--build-lib",
                str(built),
                "--build-temp",
                str(Path(scratch) / "objects"),
            ],
        )
        shutil.copytree(built, _speedups.COMPILED_DIR)
    # Written last: without it the compiled modules are never used.
    _speedups.BUILT_FROM.write_text(digest + "\n")
    print(f"engine compiled: {', '.join(_speedups.COMPILED_MODULES)}", file=sys.stderr)


if __name__ == "__main__":
    main()
