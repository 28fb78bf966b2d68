"""The audit log as CSV, safe to open in a spreadsheet (serve_app/spreadsheet_cells.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from persistence.models import AuditEvent
from serve_app.spreadsheet_cells import neutralise

HEADER = (
    "id",
    "at",
    "actor_id",
    "actor_email",
    "action",
    "target_type",
    "target_id",
    "client_address",
    "details",
)


def audit_csv(events: Iterable[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for event in events:
        writer.writerow(
            [
                event.id,
                event.at.isoformat(),
                "" if event.actor_id is None else event.actor_id,
                neutralise(event.actor_email),
                event.action.value,
                event.target_type,
                event.target_id,
                neutralise(event.client_address),
                neutralise(json.dumps(event.details, sort_keys=True, separators=(",", ":"))),
            ]
        )
    return out.getvalue()
