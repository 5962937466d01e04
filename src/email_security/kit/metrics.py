"""Prometheus metrics of the process (see /metrics)."""

from __future__ import annotations


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request answered: `route` is the path template, never the raw path."""
