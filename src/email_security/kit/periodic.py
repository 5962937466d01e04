"""A task run every so many seconds in a background thread, while a context is open."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Periodic:
    """Runs `tick` every `interval` seconds inside `running()`, and `last` once when it
    ends; never with an interval of 0. `tick` handles its own errors. Nested uses (an app's
    lifespan run again while it runs) share one thread, stopped by the last to leave."""

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], None],
        last: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.interval = interval
        self._tick = tick
        self._last = last
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._users = 0
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """Whether it has been told to stop: a long tick may end early."""
        return self._stop.is_set()

    @contextmanager
    def running(self) -> Iterator[None]:
        if self.interval <= 0:
            yield
            return
        with self._guard:
            self._users += 1
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._guard:
                self._users -= 1
                ending, self._thread = (
                    (self._thread, None) if self._users == 0 else (None, self._thread)
                )
            if ending is not None:
                self._stop.set()
                ending.join()
                if self._last is not None:
                    self._last()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._tick()
