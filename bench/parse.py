"""What `engine.parse_message` costs one message: the mail-flow benchmark's 4 KB message,
its header fields plain, against the same message with its From and Subject written as
RFC 2047 encoded words (which the standard library's header registry reads), with and
without its body.

    .venv/bin/python bench/parse.py [--messages 3000] [--rounds 5]

Pinned to one core; the variants alternate in rounds and the best round of each is given.
Run it from a copy of an earlier tree (`PYTHONPATH=<copy>/src`) to compare with that
tree's parser on the same messages.
"""

from __future__ import annotations

import argparse
import os
import time

from email_security.engine import parse_message
from mailflow import RECIPIENT, message_text

RECEIVED = (
    b"Received: from client.bench.example (unknown [203.0.113.9])\r\n"
    b"\tby mx.bench.example (Postfix) with ESMTP id 4AbCdEf\r\n"
    b"\tfor <rcpt@ours.example>; Mon,  7 Dec 2026 16:00:00 +0000 (UTC)\r\n"
)
ENCODED = {
    b"From: Sender <": b"From: =?utf-8?q?S=C3=A9nder?= <",
    b"Subject: Quarterly figures": b"Subject: =?utf-8?q?Quarterly_figures_=E2=80=93_Q4?=",
}


def variants(count: int) -> dict[str, list[bytes]]:
    plain = [RECEIVED + message_text(4096) for _ in range(count)]
    encoded = [_encoded(raw) for raw in plain]
    return {
        "plain fields": plain,
        "plain fields, no body": [_headers(raw) for raw in plain],
        "encoded From and Subject": encoded,
        "encoded, no body": [_headers(raw) for raw in encoded],
    }


def _encoded(raw: bytes) -> bytes:
    for plain, encoded in ENCODED.items():
        raw = raw.replace(plain, encoded)
    return raw


def _headers(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"


def per_message_us(messages: list[bytes]) -> float:
    recipients = (RECIPIENT,)
    started = time.perf_counter()
    for raw in messages:
        parse_message(raw, recipients)
    return (time.perf_counter() - started) / len(messages) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    messages = variants(args.messages)
    best: dict[str, float] = {}
    for name in messages:
        per_message_us(messages[name])  # warm: imports, regex caches
    for round_number in range(args.rounds):
        names = list(messages) if round_number % 2 == 0 else list(reversed(messages))
        for name in names:
            best[name] = min(best.get(name, float("inf")), per_message_us(messages[name]))
    print(f"parse_message, best of {args.rounds} rounds of {args.messages:,} messages")
    print("| message | µs per message |\n|---|--:|")
    for name in messages:
        print(f"| {name} | {best[name]:.1f} |")


if __name__ == "__main__":
    main()
