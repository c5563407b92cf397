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
from typing import Any, TypeVar

import click
import requests

from middleware.errors import ConfigError
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


def _store(settings: Settings, *, migrate: bool = True) -> Any:
    from middleware.database import make_engine, upgrade_schema
    from middleware.store import Store

    engine = make_engine(settings.database_url, pool_size=2)
    if migrate:
        try:
            upgrade_schema(engine)
        except Exception as exc:  # noqa: BLE001 - one line, then stop
            raise CLIError(
                f"cannot prepare the event store: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            ) from None
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
            raise CLIError(
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            ) from None

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
        click.echo(f"error: worker stopped: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}", err=True)
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
    target = url or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/webhooks/hubspot"
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


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="middleware")


if __name__ == "__main__":  # pragma: no cover
    main()
