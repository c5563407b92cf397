"""``middleware api-keys …``: the meetings API's keys, on the box (the admin API's
``/admin/api-keys``)."""

from __future__ import annotations

import click

from middleware.cli.base import CLIError, _echo_json, _settings, _store, cli, one_line_errors
from middleware.cli.events import _actor


@cli.group("api-keys")
def api_keys() -> None:
    """Make, list and revoke keys of the meetings API (/api/meetings)."""


@api_keys.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), required=True)
@click.option(
    "--organizer",
    "organizers",
    multiple=True,
    help="an email or @domain the key may act for (repeat; default: any organizer)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON like POST /admin/api-keys")
@one_line_errors
def create(name: str, scope: str, organizers: tuple[str, ...], as_json: bool) -> None:
    """Make a key named NAME; the key is printed this once (only its SHA-256 is kept)."""
    from middleware.meetings_api.keys import create_api_key
    from middleware.meetings_api.schemas import api_key_json

    store = _store(_settings())
    try:
        made = create_api_key(store, name=name, scope=scope, organizers=organizers, actor=_actor())
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        _echo_json(api_key_json(made.record, made.key))
        return
    click.echo(made.key)
    click.echo(
        f"api key {made.record.id} ({made.record.name}, {made.record.scope}) made; "
        "the key above is shown this once",
        err=True,
    )


@api_keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON like GET /admin/api-keys")
@one_line_errors
def list_keys(as_json: bool) -> None:
    """Every key (never the keys themselves): id, name, scope, prefix, state."""
    from middleware.meetings_api.schemas import api_key_json

    records = _store(_settings()).list_api_keys()
    if as_json:
        _echo_json({"api_keys": [api_key_json(r) for r in records]})
        return
    if not records:
        click.echo("no API keys")
        return
    click.echo(f"{'ID':>5}  {'NAME':<24} {'SCOPE':<6} {'PREFIX':<10} {'STATE':<8} ORGANIZERS")
    for r in records:
        state = "active" if r.active else "revoked"
        organizers = ", ".join(r.organizers) if r.organizers else "any"
        click.echo(
            f"{r.id:>5}  {r.name[:24]:<24} {r.scope:<6} {r.prefix:<10} {state:<8} {organizers}"
        )


@api_keys.command("revoke")
@click.argument("key_id", type=int)
@one_line_errors
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID: it answers 401 from now on."""
    record = _store(_settings()).revoke_api_key(key_id, actor=_actor())
    if record is None:
        raise CLIError(f"API key {key_id} not found")
    click.echo(f"api key {record.id} ({record.name}) revoked")
