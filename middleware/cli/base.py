"""The command group, its shared helpers, and the process commands (``worker``, ``db``).

Every failure is one line on stderr and a non-zero exit code, never a traceback:
2 for bad settings or arguments, 1 when the operation itself failed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

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
