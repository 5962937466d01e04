"""How every process logs: plain text, or one JSON object per line
(EMAIL_SECURITY_LOG_FORMAT=json), uvicorn's lines included."""

from __future__ import annotations

import logging.config
from typing import Any, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_TEXT = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
_JSON = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}


def logging_config(log_format: LogFormat) -> dict[str, Any]:
    """A `logging.config.dictConfig` for this process (uvicorn's `log_config` takes it and
    applies it in every worker): one handler on the root logger, which uvicorn's loggers
    and ours propagate to. uvicorn's own access log is off: `kit.observe` writes one with
    the route template and the request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": _JSON if log_format == "json" else _TEXT},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure_logging(log_format: LogFormat) -> None:
    logging.config.dictConfig(logging_config(log_format))
