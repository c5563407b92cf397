"""``middleware google …``: reps' Google connections (OAuth mode) on the box.

``reps`` lists every rep with their auth mode and connection state (like ``GET
/admin/google/reps``), ``link`` prints the link a rep connects at, ``reseal`` seals every
stored refresh token with the first key of ``GOOGLE_TOKEN_KEYS`` (key rotation). No token is
ever printed.
"""

from __future__ import annotations

from typing import Any

import click

from middleware.cli.base import CLIError, _echo_json, _settings, _store, cli, one_line_errors
from middleware.cli.events import _actor


@cli.group()
def google() -> None:
    """Reps' Google connections (GOOGLE_AUTH_MODE=oauth): list, link, re-seal."""


def _cipher(settings: Any) -> Any:
    from middleware.token_cipher import TokenCipher

    if not settings.google_token_keys:
        raise CLIError("GOOGLE_TOKEN_KEYS is not set: OAuth connections are not enabled")
    return TokenCipher(settings.google_token_keys)


@google.command("reps")
@click.option("--rep", "extra", multiple=True, help="also list this rep (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print JSON like GET /admin/google/reps")
@one_line_errors
def google_reps(extra: tuple[str, ...], as_json: bool) -> None:
    """Reps with their auth mode and, for OAuth reps, their connection state."""
    from middleware.google_connections import rep_connections
    from middleware.json_shapes import iso_z
    from middleware.web.admin_google import RepConnectionPageSchema

    settings = _settings()
    reps = rep_connections(settings, _store(settings), also=extra)
    if as_json:
        _echo_json(RepConnectionPageSchema().dump({"reps": reps}))
        return
    if not reps:
        click.echo("no rep known yet: pass --rep EMAIL")
        return
    for rep in reps:
        if rep.state is None:
            click.echo(f"{rep.email:<40} {rep.mode:<10} (the service account acts as the rep)")
        elif rep.state == "connected":
            click.echo(f"{rep.email:<40} {rep.mode:<10} connected since {iso_z(rep.connected_at)}")
        else:
            why = f" since {iso_z(rep.broken_at)} ({rep.broken_reason})" if rep.broken_at else ""
            click.echo(
                f"{rep.email:<40} {rep.mode:<10} {rep.state}{why}: send them {rep.connect_url}"
            )


@google.command("link")
@click.argument("email")
@one_line_errors
def google_link(email: str) -> None:
    """Print the link EMAIL connects their Google calendar at."""
    from middleware.google_connections import connect_link

    settings = _settings()
    if "@" not in email:
        raise click.UsageError(f"{email!r} is not an email address")
    if not settings.google_oauth_redirect_uri:
        raise CLIError("GOOGLE_OAUTH_REDIRECT_URI is not set: the links are made from it")
    click.echo(connect_link(settings, _cipher(settings), email))


@google.command("reseal")
@one_line_errors
def google_reseal() -> None:
    """Seal every stored refresh token with the first key of GOOGLE_TOKEN_KEYS (after putting
    a new key first); then the older keys may be dropped."""
    from middleware import operations
    from middleware.token_cipher import SealBroken

    settings = _settings()
    cipher = _cipher(settings)

    def reseal(email: str, sealed: str) -> str:
        try:
            return str(cipher.reseal(sealed))
        except SealBroken:
            raise CLIError(
                f"the refresh token of {email} opens with no key of GOOGLE_TOKEN_KEYS: list its "
                "key (after the first) and run this again, or have the rep connect again; "
                "nothing was changed"
            ) from None

    count = operations.reseal_google_tokens(_store(settings), reseal, actor=_actor())
    noun = "refresh token" if count == 1 else "refresh tokens"
    click.echo(f"{count} {noun} sealed with the first key of GOOGLE_TOKEN_KEYS")
