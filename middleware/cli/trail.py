"""``middleware events trail``: one deal's story as text, oldest first.

```
hubspot deal 42
  meeting (account 62515): live  event 0a1b… on rep@acme.com, calendar primary  https://meet…
  2026-12-01T15:00:00Z  event 7   deal.propertyChange dealstage=demoscheduled (CRM_UI)
      attempt 1  2026-12-01T15:00:01Z  worker-host-123  succeeded
    → succeeded: booked
```
"""

from __future__ import annotations

from typing import Any

import click

from middleware.crm.summaries import webhook_summary
from middleware.json_shapes import iso_z


def print_trail(trail: Any) -> None:
    click.echo(f"{trail.provider} deal {trail.deal_id}")
    if not trail.meetings or not any(m.calendar_event_id for m in trail.meetings):
        click.echo("  meeting: none booked")
    for m in trail.meetings:
        if m.calendar_event_id:
            click.echo(
                f"  meeting (account {m.account_id}): {m.state or '?'}  event "
                f"{m.calendar_event_id} on {m.organizer}, calendar {m.calendar_id}  "
                f"{m.meet_url or '(no link yet)'}  (series {m.series}, {iso_z(m.updated_at)})"
            )
    if trail.more_events:
        click.echo("  … older events not shown (--limit)")
    for e in trail.events:
        click.echo(f"  {iso_z(e.created_at)}  event {e.id:<6} {_said(e.payload)}")
        for a in e.attempt_history:
            error = f"  [{a.error_reason}] {a.error}" if a.error_reason or a.error else ""
            click.echo(
                f"      attempt {a.number}  {iso_z(a.started_at)}  {a.worker}  {a.outcome}{error}"[
                    :240
                ]
            )
        click.echo(f"    → {_ended(e)}")


def _said(payload: dict[str, Any]) -> str:
    summary = webhook_summary(payload)
    kind = summary.pop("subscriptionType", None) or summary.pop("eventType", None)
    if "propertyName" in summary:
        change = f"{summary.pop('propertyName')}={summary.pop('propertyValue', '')}"
        kind = f"{kind} {change}" if kind else change
    source = summary.pop("changeSource", None)
    for key in ("occurredAt", "eventId", "attemptNumber", "objectTypeId"):
        summary.pop(key, None)
    parts = [kind] if kind else []
    parts += [f"{k}={v}" for k, v in summary.items()]
    if source:
        parts.append(f"({source})")
    return " ".join(str(p) for p in parts) or "(webhook)"


def _ended(e: Any) -> str:
    text = e.status + (f": {e.action}" if e.action else "")
    if e.last_error_reason:
        text += f" [{e.last_error_reason}] {e.last_error or ''}"
    if e.next_attempt_at:
        text += f" (next attempt {iso_z(e.next_attempt_at)})"
    return text[:300]
