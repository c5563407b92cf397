"""The ``middleware`` command line: processes, schema, and operator tools.

Every failure is one line on stderr and a non-zero exit code, never a traceback:
2 for bad settings or arguments, 1 when the operation itself failed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click
import requests

from middleware.errors import ConfigError, one_line
from middleware.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class CLIError(click.ClickException):
    """One line on stderr, exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        click.echo(f"error: configuration: {exc}", err=True)
        sys.exit(2)


def _store(settings: Settings) -> Any:
    """The store, its schema brought up to date first."""
    from middleware.database import make_engine, upgrade_schema
    from middleware.store import Store

    engine = make_engine(settings.database_url, pool_size=2)
    try:
        upgrade_schema(engine)
    except Exception as exc:  # noqa: BLE001 - one line, then stop
        raise CLIError(f"cannot prepare the event store: {one_line(exc)}") from None
    return Store(engine)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def one_line_errors(func: F) -> F:
    """Turn unexpected exceptions into one line (the traceback only with MIDDLEWARE_DEBUG=1)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (
            click.ClickException,
            click.exceptions.Exit,
            click.Abort,
            SystemExit,
            KeyboardInterrupt,
        ):
            raise
        except Exception as exc:
            if os.environ.get("MIDDLEWARE_DEBUG"):
                raise
            raise CLIError(one_line(exc)) from None

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """CRM → Google Meet middleware. Settings come from the environment (see README)."""


@cli.group()
def db() -> None:
    """Event store schema."""


@db.command("upgrade")
@one_line_errors
def db_upgrade() -> None:
    """Bring the schema up to the newest migration (safe to run from several processes)."""
    settings = _settings()
    store = _store(settings)
    click.echo(f"schema is up to date ({store.engine.dialect.name})")


@cli.command("worker")
def worker_command() -> None:
    """Run the worker: process stored events until SIGTERM (the Procfile's `worker:`)."""
    from middleware import worker

    settings = _settings()
    try:
        worker.main(settings)
    except ConfigError as exc:
        click.echo(f"error: configuration: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - one line, then stop
        if os.environ.get("MIDDLEWARE_DEBUG"):
            raise
        click.echo(
            f"error: worker stopped: {one_line(exc)}",
            err=True,
        )
        sys.exit(1)


@cli.command("send-sample-webhook")
@click.argument("deal_id")
@click.option(
    "--url", default=None, help="Webhook URL [default: http://127.0.0.1:$PORT/webhooks/hubspot]"
)
@click.option(
    "--portal-id", default="62515", show_default=True, help="HubSpot account id in the sample"
)
@click.option("--stage", default=None, help="dealstage value [default: the first trigger stage]")
@click.option("--event-id", type=int, default=None, help="eventId [default: derived from the time]")
@click.option("--occurred-at", type=int, default=None, help="occurredAt in epoch ms [default: now]")
@one_line_errors
def send_sample_webhook(
    deal_id: str,
    url: str | None,
    portal_id: str,
    stage: str | None,
    event_id: int | None,
    occurred_at: int | None,
) -> None:
    """Sign and POST a HubSpot "deal entered the demo stage" webhook for DEAL_ID.

    Signs with HUBSPOT_CLIENT_SECRET exactly as HubSpot does (signature v3), so a 200 proves
    the secret, the public URL and the store work together. Prints the service's answer.
    """
    from middleware.crm import hubspot

    settings = _settings()
    if not settings.hubspot_client_secret:
        raise click.UsageError("HUBSPOT_CLIENT_SECRET is not set: nothing to sign with")
    if not deal_id.isdigit():
        raise click.BadParameter("HubSpot deal ids are numbers", param_hint="DEAL_ID")
    target = url or f"http://127.0.0.1:{settings.port}/webhooks/hubspot"
    now = datetime.now(UTC)
    occurred = occurred_at or int(now.timestamp() * 1000)
    sample = [
        {
            "eventId": event_id if event_id is not None else occurred % 2_000_000_000,
            "subscriptionId": 1,
            "portalId": int(portal_id),
            "appId": 1,
            "occurredAt": occurred,
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": int(deal_id),
            "propertyName": "dealstage",
            "propertyValue": stage or settings.rules.hubspot.trigger_stages[0],
            "changeSource": "CRM_UI",
            "sourceId": "userId:1",
        }
    ]
    body = json.dumps(sample).encode()
    # The URI HubSpot signs is the public one; behind a proxy that is PUBLIC_BASE_URL + path.
    signed = target
    if settings.public_base_url and url is None:
        signed = settings.public_base_url + "/webhooks/hubspot"
    headers = hubspot.signed_headers(settings.hubspot_client_secret, "POST", signed, body, now)
    try:
        response = requests.post(target, data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise CLIError(f"cannot reach {target}: {type(exc).__name__}") from None
    click.echo(f"{response.status_code} {response.text.strip()}")
    if response.status_code >= 300:
        sys.exit(1)


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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filter_input(values: dict[str, Any]) -> dict[str, Any]:
    names = ("status", "provider", "deal_id", "created_after", "created_before", "reason")
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
        f"{'ID':>7}  {'STATUS':<10} {'PROVIDER':<9} {'DEAL':<12} {'TRIES':>5}  {'CREATED':<20}  LAST ERROR"
    )
    for e in page:
        error = f"[{e.last_error_reason}] {e.last_error}" if e.last_error else ""
        created = e.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        click.echo(
            f"{e.id:>7}  {e.status:<10} {e.provider:<9} {e.deal_id:<12} {e.attempts:>5}  "
            f"{created:<20}  {error[:100]}"
        )
    if next_cursor:
        click.echo(f"more: --cursor {next_cursor}")


@events.command("show")
@click.argument("event_id", type=int)
@one_line_errors
def events_show(event_id: int) -> None:
    """Show one event with its attempts and errors (JSON)."""
    from middleware.json_shapes import event_json

    event = _store(_settings()).get_event(event_id)
    if event is None:
        raise CLIError(f"event {event_id} not found")
    _echo_json(event_json(event))


@events.command("replay")
@click.argument("event_id", type=int, required=False)
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


@cli.command("check")
@click.option(
    "--rep",
    "reps",
    multiple=True,
    help="rep email to check with Google [default: every HubSpot owner]",
)
@one_line_errors
def check(reps: tuple[str, ...]) -> None:
    """Check the whole set-up and print one line per check with what to fix.

    Exit code 0 only when every check passes.
    """
    from middleware.check import run_checks

    results = run_checks(_settings(), reps=reps)
    for result in results:
        click.echo(result.line())
    failed = sum(not r.ok for r in results)
    click.echo(f"{len(results) - failed} checks ok, {failed} failing")
    if failed:
        sys.exit(1)


@cli.command("hubspot-project")
@click.option(
    "--url", default=None, help="public https origin HubSpot calls [default: PUBLIC_BASE_URL]"
)
@click.option(
    "--out",
    "out_dir",
    default="hubspot-project",
    show_default=True,
    type=click.Path(file_okay=False),
    help="folder to write the project to",
)
@click.option("--name", default=None, help="project and app name [default: CRM to Google Meet]")
@click.option("--support-email", default=None, help="support e-mail shown on the app")
@click.option("--force", is_flag=True, help="overwrite a different project already in --out")
@one_line_errors
def hubspot_project_command(
    url: str | None, out_dir: str, name: str | None, support_email: str | None, force: bool
) -> None:
    """Write the HubSpot app (2026.03 project: static auth, webhooks) to upload with `hs`.

    Built from the rules file (the start property to subscribe to), the public URL and the web
    process's capacity (WEB_CONCURRENCY x WEB_THREADS). Exit code 2 for bad input, 1 when --out
    already holds a different project and --force is not given.
    """
    from pathlib import Path

    from middleware.crm import hubspot_project as project

    settings = _settings()
    base_url = url or settings.public_base_url
    if not base_url:
        _bad_input(
            "give --url https://YOUR-HOST (the origin HubSpot calls), or set PUBLIC_BASE_URL"
        )
    workers, threads = settings.web_concurrency, settings.web_threads
    try:
        files = project.build_project(
            settings.rules.hubspot,
            base_url or "",
            web_workers=workers,
            web_threads=threads,
            name=name or project.DEFAULT_NAME,
            support_email=support_email,
        )
    except (ValueError, ConfigError) as exc:
        _bad_input(str(exc))
    out = Path(out_dir)
    texts = {out / path: project.render(doc) for path, doc in files.items()}
    different = [p for p, text in texts.items() if p.exists() and p.read_text() != text]
    if different and not force:
        raise CLIError(
            f"{out} already holds a different HubSpot project ({different[0]}): "
            "pass --force to overwrite it, or choose another --out"
        )
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings_file = files[project.WEBHOOKS_FILE]["config"]["settings"]
    click.echo(f"wrote {len(texts)} files to {out}")
    click.echo(
        f"HubSpot will call {settings_file['targetUrl']} with at most "
        f"{settings_file['maxConcurrentRequests']} requests at once "
        f"(web serves {workers} x {threads}; HubSpot's ceiling is "
        f"{project.HUBSPOT_MAX_CONCURRENT_REQUESTS})"
    )
    click.echo(
        "next steps (HubSpot CLI 7.6 or later: npm install -g @hubspot/cli, then hs init):\n"
        f"  1. cd {out} && hs project upload\n"
        "  2. hs project install-app\n"
        "  3. on the app's page in HubSpot: Distribution tab -> Show: copy the access token "
        "into HUBSPOT_ACCESS_TOKEN;\n"
        "     Auth tab: copy the client secret into HUBSPOT_CLIENT_SECRET\n"
        "  4. restart both processes and run: middleware check"
    )


def _bad_input(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@cli.command("demo")
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="seconds to wait for the meeting"
)
@one_line_errors
def demo(timeout: float) -> None:
    """See it work without a Google or CRM account (run from a checkout of the repository).

    Starts the local emulators of Google and HubSpot from the test suite, the web process and
    the worker on a throwaway SQLite database, sends a signed webhook for a sample deal, and
    prints the Meet link, the event as Google's emulator holds it and the deal's written-back
    properties; then stops everything.
    """
    from middleware.demo import run_demo

    if not run_demo(timeout=timeout, echo=click.echo):
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="middleware")


if __name__ == "__main__":  # pragma: no cover
    main()
