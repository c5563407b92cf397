"""``middleware events …`` and ``middleware prune``: the admin API's operations on the box."""

from __future__ import annotations

import json
import os
from datetime import UTC
from typing import Any

import click

from middleware.cli.base import (
    CLIError,
    F,
    _echo_json,
    _settings,
    _store,
    cli,
    one_line_errors,
)
from middleware.crm.base import strict_id


class EventId(click.ParamType):
    """An event id: ASCII digits naming 1 to 2^63 - 1 (click's ``int`` would read ``٣`` as 3
    and hand ids past the store's BIGINT to the database)."""

    name = "event_id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = strict_id(value)
        if number is None:
            self.fail(f"{str(value)[:40]!r} is not an event id (1 to 2^63 - 1)", param, ctx)
        return number


EVENT_ID = EventId()


def _filter_options(func: F) -> F:
    """The admin API's filters as CLI options."""
    options = [
        click.option(
            "--status",
            help="pending, processing, retrying, succeeded, skipped, failed (comma-separated)",
        ),
        click.option("--provider", help="hubspot, pipedrive"),
        click.option("--deal-id", help="the CRM's deal id"),
        click.option("--created-after", help="ISO 8601 with offset, e.g. 2026-11-01T00:00:00Z"),
        click.option("--created-before", help="ISO 8601 with offset"),
        click.option("--reason", help="last_error reason code, e.g. google_delegation_denied"),
        click.option("--action", help="what processing did: booked, moved, cancelled…"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filter_input(values: dict[str, Any]) -> dict[str, Any]:
    names = ("status", "provider", "deal_id", "created_after", "created_before", "reason", "action")
    return {k: values[k] for k in names if values.get(k) is not None}


def _load(schema: Any, data: dict[str, Any]) -> Any:
    from middleware.filters import InputError, load

    try:
        return load(schema, data)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None


@cli.group()
def events() -> None:
    """Inspect and replay stored events (the admin API, on the box)."""


@events.command("list")
@_filter_options
@click.option("--limit", type=int, default=50, show_default=True, help="at most 500")
@click.option("--cursor", help="next_cursor printed by the previous page")
@click.option("--json", "as_json", is_flag=True, help="print JSON like GET /admin/events")
@one_line_errors
def events_list(limit: int, cursor: str | None, as_json: bool, **values: Any) -> None:
    """List events, newest first."""
    from middleware.filters import ListQuerySchema

    data = {**_filter_input(values), "limit": limit}
    if cursor is not None:
        data["cursor"] = cursor
    query = _load(ListQuerySchema(), data)
    from middleware.json_shapes import events_json

    store = _store(_settings())
    page, before = store.list_events(
        query["filter"], limit=query["limit"], before_id=query["before_id"]
    )
    next_cursor = str(before) if before is not None else None
    if as_json:
        _echo_json({"events": events_json(page), "next_cursor": next_cursor})
        return
    if not page:
        click.echo("no events match")
        return
    click.echo(
        f"{'ID':>7}  {'STATUS':<10} {'ACTION':<10} {'PROVIDER':<9} {'DEAL':<12} {'TRIES':>5}  "
        f"{'CREATED':<20}  LAST ERROR"
    )
    for e in page:
        error = f"[{e.last_error_reason}] {e.last_error}" if e.last_error else ""
        created = e.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        click.echo(
            f"{e.id:>7}  {e.status:<10} {e.action or '-':<10} {e.provider:<9} {e.deal_id:<12} "
            f"{e.attempts:>5}  "
            f"{created:<20}  {error[:100]}"
        )
    if next_cursor:
        click.echo(f"more: --cursor {next_cursor}")


@events.command("show")
@click.argument("event_id", type=EVENT_ID)
@one_line_errors
def events_show(event_id: int) -> None:
    """Show one event with its attempts and errors (JSON)."""
    from middleware.json_shapes import event_json

    event = _store(_settings()).get_event(event_id)
    if event is None:
        raise CLIError(f"event {event_id} not found")
    _echo_json(event_json(event))


@events.command("trail")
@click.argument("deal_id")
@click.option("--provider", help="hubspot, pipedrive (default: every CRM that knows the deal)")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="print JSON like GET /admin/deals/… (a list of them without --provider)",
)
@one_line_errors
def events_trail(deal_id: str, provider: str | None, limit: int, as_json: bool) -> None:
    """One deal's story: webhooks received, attempts, lifecycle actions, the live meeting."""
    from middleware.cli.trail import print_trail
    from middleware.json_shapes import trail_json

    trails = _store(_settings()).deal_trails(deal_id, provider=provider, limit=limit)
    if not trails:
        raise CLIError(f"no event and no meeting for deal {deal_id}")
    if as_json:
        _echo_json([trail_json(t) for t in trails] if provider is None else trail_json(trails[0]))
        return
    for trail in trails:
        print_trail(trail)


@events.command("replay")
@click.argument("event_id", type=EVENT_ID, required=False)
@_filter_options
@click.option("--dry-run", is_flag=True, help="only count and show a sample; change nothing")
@click.option("--force", is_flag=True, help="also replay succeeded events (never a second meeting)")
@one_line_errors
def events_replay(event_id: int | None, dry_run: bool, force: bool, **values: Any) -> None:
    """Send EVENT_ID, or every event the filters match (default --status failed), back to pending."""
    from middleware import operations
    from middleware.filters import BulkReplaySchema

    filters = _filter_input(values)
    store = _store(_settings())
    if event_id is not None:
        if filters:
            raise click.UsageError("give an EVENT_ID or filters, not both")
        if dry_run:
            event = store.get_event(event_id)
            if event is None:
                raise CLIError(f"event {event_id} not found")
            click.echo(f"would replay event {event_id} ({event.status})")
            return
        try:
            operations.replay_event(store, event_id, actor=_actor(), force=force)
        except operations.OperationError as exc:
            raise CLIError(exc.message) from None
        click.echo(f"event {event_id} is pending again")
        return
    options = _load(BulkReplaySchema(), {**filters, "dry_run": dry_run, "force": force})
    result = operations.replay_matching(
        store, options["filter"], actor=_actor(), force=force, dry_run=dry_run
    )
    if dry_run:
        click.echo(f"would replay {result.count} events")
        for e in result.sample:
            click.echo(f"  {e.id}  {e.status}  deal {e.deal_id}  {e.last_error or ''}"[:160])
        return
    click.echo(f"replayed {result.count} events")


def _actor() -> str:
    return f"cli:{os.environ.get('USER', '?')}"


@events.command("audit")
@click.option("--limit", type=int, default=50, show_default=True)
@one_line_errors
def events_audit(limit: int) -> None:
    """What operators changed (replays, prunes), newest first."""
    from middleware.json_shapes import iso_z

    items, _ = _store(_settings()).list_audit(limit=max(1, min(limit, 500)))
    for item in items:
        click.echo(
            f"{iso_z(item.at)}  {item.actor:<24} {item.action:<12} {item.count:>6}  "
            f"{json.dumps(item.target)}"
        )
    if not items:
        click.echo("no operator actions recorded")


@cli.command("prune")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=0),
    default=None,
    help="[default: retention.keep_days]",
)
@click.option("--include-failed", is_flag=True, help="also delete failed events (normally kept)")
@click.option("--dry-run", is_flag=True, help="only count")
@one_line_errors
def prune(older_than_days: int | None, include_failed: bool, dry_run: bool) -> None:
    """Delete succeeded and skipped events (and their attempts) older than N days."""
    from middleware import operations

    settings = _settings()
    days = settings.rules.retention.keep_days if older_than_days is None else older_than_days
    if days == 0 and older_than_days is None:
        click.echo("retention.keep_days is 0: keeping everything")
        return
    count = operations.prune(
        _store(settings),
        days,
        actor=_actor(),
        include_failed=include_failed,
        dry_run=dry_run,
    )
    if dry_run:
        click.echo(f"would delete {count} events older than {days} days")
        return
    click.echo(f"deleted {count} events older than {days} days")
