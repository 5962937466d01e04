"""What observing a request costs: its id, metrics and access log line (kit/observe.py).

    python bench/observe_overhead.py

A trivial ASGI app called in-process, bare and behind `RequestObserver`, 50,000 times each,
three rounds; then once more with the access log written (to /dev/null, text format).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import harness  # noqa: F401  (puts the project on the path)

from email_security.kit.observe import RequestObserver

SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/x",
    "headers": [(b"authorization", b"Bearer x")],
    "client": ("127.0.0.1", 1),
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def discard(message: dict[str, Any]) -> None:
    pass


async def per_request_us(target: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await target(dict(SCOPE), None, discard)
    return (time.perf_counter() - started) / count * 1e6


async def main() -> None:
    observed = RequestObserver(app)
    access = logging.getLogger("email_security.access")
    access.setLevel(logging.WARNING)
    print("| round | bare µs | observed µs, access log off | added µs |")
    print("|---|--:|--:|--:|")
    bare = 0.0
    for round_number in range(1, 4):
        bare = await per_request_us(app, 50_000)
        with_observer = await per_request_us(observed, 50_000)
        print(f"| {round_number} | {bare:.2f} | {with_observer:.2f} | {with_observer - bare:.2f} |")
    logging.basicConfig(level=logging.INFO, filename="/dev/null")
    access.setLevel(logging.INFO)
    logged = await per_request_us(observed, 20_000)
    print(f"\nwith the access log written: {logged - bare:.2f} µs added per request")


if __name__ == "__main__":
    asyncio.run(main())
