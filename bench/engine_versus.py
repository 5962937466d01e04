"""The engine against itself at an earlier commit: evaluations interleaved in one process.

    .venv/bin/python bench/engine_versus.py REV [--size 100000] [--messages 40000]
        [--rev-as-plain-python] [--with-content]

A shared machine's speed drifts by tens of percent within minutes, so absolute figures from
two runs cannot be compared. Here both engines evaluate the same messages, in alternating
batches of 250 (the order flipped every other batch), on one pinned core; the ratio of
their CPU times is what to read. The engine at REV is extracted with `git show` into a
temporary package and runs in the form the engine now runs in: compiled with mypyc (as
tools/compile_engine.py does) when the engine now is compiled and REV had compiled modules,
else as plain Python; with --rev-as-plain-python always as plain Python.

Each engine gets the workload in its own classes (`in_model`): settings and messages of the
engine now, rebuilt field by field, and refused if they set a field the earlier engine does
not have. The messages have no subject and no body (bench/engine_workload.py). With
--with-content the engine now runs a second time, against the same settings plus the
bodies column's content policies and URL ignore patterns: on messages without a body they
must cost nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from engine_workload import SEED, MessageStream, make_settings, with_content

from email_security.engine import COMPILED, compile_settings, evaluate

ENGINE = "src/email_security/engine"
REPOSITORY = Path(__file__).resolve().parent.parent
SOURCES = REPOSITORY / "src"
BATCH = 250


def engine_at(rev: str, into: Path, *, compiled: bool) -> tuple[ModuleType, bool]:
    """The engine package as it was at `rev`, importable as `engine_at_rev`, and whether it
    runs compiled."""
    package = into / "engine_at_rev"
    package.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{rev}:{ENGINE}"],
        cwd=REPOSITORY,  # ls-tree lists only what lies under the working directory
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        if not name.endswith(".py"):
            continue
        source = subprocess.run(
            ["git", "show", f"{rev}:{ENGINE}/{name}"],
            cwd=REPOSITORY,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("email_security.engine.", "engine_at_rev.")
        source = source.replace("from email_security.engine import", "from engine_at_rev import")
        (package / name).write_text(source)
    if compiled and _loader_of_compiled(package) is not None:
        print(f"compiling the engine at {rev} with mypyc ...", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--compile-package", str(into)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(into))
    module = importlib.import_module("engine_at_rev")
    return module, bool(getattr(module, "COMPILED", False))


def _loader_of_compiled(package: Path) -> Path | None:
    """The module that decides whether compiled modules are used (`_speedups.py`, named
    `_native.py` at earlier commits), if the engine at that commit has one."""
    for name in ("_speedups.py", "_native.py"):
        if (package / name).exists():
            return package / name
    return None


def compile_package(into: Path) -> None:
    """Compile `into`/engine_at_rev's hot modules where its own loader looks for them."""
    from mypyc.build import mypycify
    from setuptools import setup

    loader = _loader_of_compiled(into / "engine_at_rev")
    assert loader is not None
    spec = importlib.util.spec_from_file_location("native_at_rev", loader)
    assert spec is not None
    assert spec.loader is not None
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)
    os.chdir(into)
    # The project's mypy settings, for a folder outside it; its own modules from the sources.
    (into / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
    os.environ["MYPYPATH"] = str(SOURCES)
    os.environ["MYPY_CACHE_DIR"] = str(into / "mypy-cache")
    extensions = mypycify(
        [f"engine_at_rev/{name}.py" for name in native.COMPILED_MODULES],
        opt_level="3",
        group_name=native.LIBRARY_GROUP,
        target_dir=str(into / "c"),
    )
    built = into / "built"
    setup(
        name="engine-at-rev-compiled",
        ext_modules=extensions,
        script_args=["--quiet", "build_ext", "--build-lib", str(built), "--build-temp",
                     str(into / "objects")],
    )  # fmt: skip
    shutil.copytree(built / "engine_at_rev", native.MODULES_DIR)
    native.BUILT_FROM.write_text(native.sources_digest() + "\n")


def in_model(value: Any, model: ModuleType) -> Any:
    """`value` rebuilt from `model`'s classes of the same names: dataclasses field by field,
    tuples item by item. A field `model` lacks must hold its default."""
    if isinstance(value, tuple):
        return tuple(in_model(item, model) for item in value)
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    target = getattr(model, type(value).__name__)
    known = {f.name for f in dataclasses.fields(target)}
    for f in dataclasses.fields(value):
        if f.name not in known and getattr(value, f.name) != _default(f):
            raise ValueError(f"{type(value).__name__}.{f.name} is set: REV cannot read it")
    return target(**{name: in_model(getattr(value, name), model) for name in known})


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


class Collections:
    """Full (oldest-generation) garbage collections, by the engine running when they came."""

    def __init__(self) -> None:
        self.running: str | None = None
        self.full: dict[str, tuple[int, float]] = {}
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or self.running is None:
            return
        if phase == "start":
            self._started = time.process_time()
            return
        count, spent = self.full.get(self.running, (0, 0.0))
        self.full[self.running] = (count + 1, spent + time.process_time() - self._started)

    def stop(self) -> None:
        gc.callbacks.remove(self._observe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", help="the earlier commit, e.g. d544605")
    parser.add_argument("--size", type=int, default=100_000, help="mixed settings entries")
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    parser.add_argument(
        "--rev-as-plain-python",
        action="store_true",
        help="run the engine at REV as plain Python even when the engine now is compiled",
    )
    parser.add_argument(
        "--with-content",
        action="store_true",
        help="also the engine now with content policies and URL ignore patterns in the settings",
    )
    parser.add_argument("--compile-package", help=argparse.SUPPRESS)  # internal: a folder
    args = parser.parse_args()
    if args.compile_package:
        compile_package(Path(args.compile_package))
        return
    if args.rev is None:
        parser.error("the earlier commit is required")
    os.sched_setaffinity(0, {args.cpu})

    with tempfile.TemporaryDirectory() as scratch:
        earlier, earlier_compiled = engine_at(
            args.rev, Path(scratch), compiled=COMPILED and not args.rev_as_plain_python
        )
        settings, catalog = make_settings(args.size)
        stream = MessageStream(catalog, SEED + 7)
        warm_up = stream.batch(3000)  # as bench/engine.py does
        messages = stream.batch(args.messages)
        # (name, evaluate, compile_settings, settings, warm-up messages, messages)
        contenders: list[
            tuple[str, Callable[..., Any], Callable[..., Any], Any, list[Any], list[Any]]
        ]
        contenders = [
            (
                args.rev,
                earlier.evaluate,
                earlier.compile_settings,
                in_model(settings, earlier),
                [in_model(m, earlier) for m in warm_up],
                [in_model(m, earlier) for m in messages],
            ),
            ("now", evaluate, compile_settings, settings, warm_up, messages),
        ]
        if args.with_content:
            contenders.append(
                (
                    "now+content",
                    evaluate,
                    compile_settings,
                    with_content(settings),
                    warm_up,
                    messages,
                )
            )
        del settings
        builds: dict[str, float] = {}
        engines: dict[str, tuple[Callable[..., Any], Any, list[Any]]] = {}
        for name, run, compile_, its_settings, its_warm_up, its_messages in contenders:
            began = time.process_time()
            compiled = compile_(its_settings)
            builds[name] = time.process_time() - began
            for message in its_warm_up:
                run(message, compiled)
            engines[name] = (run, compiled, its_messages)
        del contenders, warm_up
        # The messages live through the run: collect once now, so that their promotion to
        # the oldest generation does not set off a full collection inside one engine's turn.
        gc.collect()
        seconds: dict[str, list[float]] = {name: [] for name in engines}
        collections = Collections()
        order = list(engines.items())
        for start in range(0, args.messages, BATCH):
            for name, (run, compiled, its_messages) in order if start // BATCH % 2 else order[::-1]:
                batch = its_messages[start : start + BATCH]
                collections.running = name
                began = time.process_time()
                for message in batch:
                    run(message, compiled)
                seconds[name].append((time.process_time() - began) / len(batch))
            collections.running = None
        collections.stop()

    form = {True: "compiled (mypyc)", False: "as plain Python"}
    print(f"{args.size:,} mixed entries, {args.messages:,} new messages, batches of {BATCH}")
    print(
        f"  the engine now runs {form[COMPILED]}, the engine at {args.rev} {form[earlier_compiled]}"
    )
    for name, per_message in seconds.items():
        mean = statistics.mean(per_message)
        full, spent = collections.full.get(name, (0, 0.0))
        print(
            f"  {name:>11}: {mean * 1e6:7.1f} µs per evaluation, {1 / mean:8,.0f} per CPU-second;"
            f" compile_settings {builds[name]:.2f} s; {full} full garbage collections"
            f" while it ran ({spent:.2f} s)"
        )
    for name in list(seconds)[1:]:
        ratios = [a / b for a, b in zip(seconds[args.rev], seconds[name], strict=True)]
        overall = sum(seconds[args.rev]) / sum(seconds[name])
        quartiles = statistics.quantiles(ratios, n=4)
        print(
            f"  speed-up {name} vs {args.rev}: {overall:.2f}x "
            f"(per batch: median {statistics.median(ratios):.2f}x, "
            f"quartiles {quartiles[0]:.2f}x-{quartiles[2]:.2f}x)"
        )


if __name__ == "__main__":
    main()
