"""Structured logs: one JSON object per line, carrying the ids that tie a line to an attempt and a
connection; anything shaped like a JWT is masked before a line is written, and no code path logs an answer
key (keys and explanations never reach a log call).

Every process of the server calls `configure_logging()` once (ingress replicas, session hosts, the
registry); Ray collects their stderr into its log directory.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

PROJECT_LOGGERS = ("serve_app", "actors", "graphs", "persistence", "simulation")
CONTEXT_FIELDS = ("attempt_id", "connection_id", "user_id", "test_id", "host_id", "code")
JWT_SHAPE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
MASK = "[token]"


class MaskTokens(logging.Filter):
    """Replace JWT-shaped text in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = JWT_SHAPE.sub(MASK, str(record.msg))
        if record.args:
            arguments = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(JWT_SHAPE.sub(MASK, arg) if isinstance(arg, str) else arg for arg in arguments)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the project's loggers; calling it again changes nothing."""
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        if any(getattr(handler, "assess_json", False) for handler in logger.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        )
        handler.addFilter(MaskTokens())
        handler.assess_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
