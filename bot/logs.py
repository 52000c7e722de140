"""Logging that never shows the bot token, not even inside a URL in an error.

Records go to stderr as text lines, or as one JSON object per line
(``CAREBOT_LOG_FORMAT=json``, python-json-logger) for log collectors.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter


class RedactToken(logging.Filter):
    """Replace the token wherever it appears in a record's message or exception text."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._token:
            return True
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self._token in text:
                record.exc_text = text.replace(self._token, "<token>")
                record.exc_info = None
                record.msg = f"{record.msg}\n{record.exc_text}"
                record.exc_text = None
        return True


def redact_exception(error: BaseException, token: str | None) -> None:
    """Take the token out of ``error`` and every exception chained to it, in place.

    PTB puts the token into some messages (``InvalidToken: The token `…` was rejected``)
    and URLs can carry it; whatever prints the exception afterwards (a traceback, rich's
    pretty one, a log line) then shows ``<token>`` instead.
    """
    if not token:
        return
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(_redacted(arg, token) for arg in current.args)
        for name in ("message", "msg", "description"):
            value = getattr(current, name, None)
            if isinstance(value, str) and token in value:
                with contextlib.suppress(AttributeError):
                    setattr(current, name, value.replace(token, "<token>"))
        notes = getattr(current, "__notes__", None)
        if isinstance(notes, list):
            current.__notes__ = [str(_redacted(note, token)) for note in notes]
        pending += [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions


def _redacted(value: object, token: str) -> object:
    return value.replace(token, "<token>") if isinstance(value, str) else value


def formatter(log_format: Literal["text", "json"]) -> logging.Formatter:
    """The formatter of ``CAREBOT_LOG_FORMAT``.

    JSON records carry ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    ``exc_info`` when there is an exception, and any ``extra`` fields.
    """
    if log_format == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            json_ensure_ascii=False,
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure(level: str, token: str | None, log_format: Literal["text", "json"] = "text") -> None:
    """Log to stderr at ``level``; HTTP client chatter (which shows URLs) only on warnings.

    The token filter runs before the formatter: the token is out of the message and of
    the exception text whichever format writes them.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
