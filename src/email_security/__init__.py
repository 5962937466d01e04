"""Self-hostable Email Security Settings service (Cloudflare API v4 compatible)."""

__version__ = "0.1.0"
