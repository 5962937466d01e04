"""The `--listen` addresses of the mail services, checked before anything starts."""

from __future__ import annotations


def libmilter_socket(listen: str) -> str:
    """`inet:HOST:PORT` (as Postfix writes it) in libmilter's `inet:PORT@HOST`; `unix:PATH`
    and libmilter's own forms pass through."""
    kind, _, rest = listen.partition(":")
    if kind in ("inet", "inet6") and "@" not in rest:
        host, _, port = rest.rpartition(":")
        if not port.isdigit() or not host:
            raise ValueError(f"--listen {listen}: expected inet:HOST:PORT or unix:PATH")
        return f"{kind}:{port}@{host.strip('[]')}"
    if kind not in ("inet", "inet6", "unix", "local") or not rest:
        raise ValueError(f"--listen {listen}: expected inet:HOST:PORT or unix:PATH")
    return listen


def tcp_address(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:PORT` for IPv6) as a socket address."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {listen}: expected HOST:PORT")
    return host.strip("[]"), int(port)
