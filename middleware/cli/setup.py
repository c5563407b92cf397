"""Getting set up: ``check``, ``send-sample-webhook``, ``hubspot-project``, ``demo``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import NoReturn

import click
import requests

from middleware.cli.base import (
    CLIError,
    _settings,
    cli,
    one_line_errors,
)
from middleware.errors import ConfigError


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


@cli.command("check")
@click.option(
    "--rep",
    "reps",
    multiple=True,
    help="rep email to check with Google [default: every HubSpot owner and active Pipedrive "
    "user of the CRMs in use]",
)
@one_line_errors
def check(reps: tuple[str, ...]) -> None:
    """Check the whole set-up and print one line per check with what to fix.

    Only the CRMs in use are checked (HubSpot once HUBSPOT_ACCESS_TOKEN or
    HUBSPOT_CLIENT_SECRET is set, Pipedrive once any PIPEDRIVE_* setting is). Exit code 0 only
    when every check passes.
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

    from middleware.crm.hubspot import project

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
    "--crm",
    type=click.Choice(["hubspot", "pipedrive"]),
    default="hubspot",
    show_default=True,
    help="the CRM whose emulator sends the webhook",
)
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="seconds to wait for the meeting"
)
@one_line_errors
def demo(crm: str, timeout: float) -> None:
    """See it work without a Google or CRM account (the emulators ship with the package).

    Starts the local emulators of Google and of the CRM (HubSpot, or Pipedrive with --crm
    pipedrive) from the test suite, the web process and the worker on a throwaway SQLite
    database, sends the CRM's webhook for a sample deal (HubSpot's signed one, Pipedrive's v2
    one with basic auth), and prints the Meet link, the event as Google's emulator holds it
    and the deal's written-back fields; then stops everything.
    """
    from middleware.demo import run_demo

    if not run_demo(crm=crm, timeout=timeout, echo=click.echo):
        sys.exit(1)
