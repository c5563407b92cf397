"""The objects one process wires together, built once by the app factory or the worker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from middleware.crm.base import WebhookIntake
from middleware.settings import Settings
from middleware.store import Store, utcnow


@dataclass
class Services:
    settings: Settings
    store: Store
    #: ``(provider, variant)`` → the intake of ``POST /webhooks/<provider>[/<variant>]``.
    intakes: Mapping[tuple[str, str], WebhookIntake] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow


def services(app: Flask) -> Services:
    """The :class:`Services` of an app made by ``create_app``."""
    svc: Services = app.extensions["middleware"]
    return svc
