"""The objects one process wires together, built once by the app factory or the worker."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from middleware.crm.base import WebhookIntake
from middleware.model import NewEvent
from middleware.settings import Settings
from middleware.store import AddResult, Store, utcnow


@dataclass
class Services:
    settings: Settings
    store: Store
    #: ``(provider, variant)`` → the intake of ``POST /webhooks/<provider>[/<variant>]``.
    intakes: Mapping[tuple[str, str], WebhookIntake] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    #: How a webhook's events are stored: ``store.add_events``, or a group commit's.
    ingest: Callable[[Sequence[NewEvent]], AddResult] | None = None

    def __post_init__(self) -> None:
        if self.ingest is None:
            self.ingest = self.store.add_events


def services(app: Flask) -> Services:
    """The :class:`Services` of an app made by ``create_app``."""
    svc: Services = app.extensions["middleware"]
    return svc
