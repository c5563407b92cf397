"""One driver per CRM, so an integration scenario is written once and runs for every CRM
(``crm_stack`` in ``conftest.py`` is parametrised over :data:`CRMS`).

A driver does what a person does in the CRM, on that CRM's emulator (create a deal, move it to
a stage, set its start, give it a new owner, delete it), builds the webhook the CRM sends for
the change (HubSpot: a batch of v3-signed notifications, CONTRACT.md; Pipedrive: one v2 webhook
per request with HTTP basic auth), and reads back what the service wrote into the deal.
Stages are named by role (:data:`TRIGGER`, :data:`CANCEL`, :data:`OTHER`); a start is ISO 8601
text with ``Z`` (UTC) or without an offset (the rep's zone applies); ``at`` is seconds after
:data:`EPOCH`. Events' triggers read as kinds (:meth:`CRMDriver.kind`): ``stage:trigger``,
``stage:cancel``, ``start``, ``owner``, ``deleted``.
"""

import pytest

from tests.integration.crm_drivers.base import (
    BUYER,
    CANCEL,
    DEFAULT_START,
    NEW_REP,
    OTHER,
    REP,
    TRIGGER,
    CRMDriver,
    Webhook,
)
from tests.integration.crm_drivers.hubspot import HubSpotDriver
from tests.integration.crm_drivers.pipedrive import PipedriveDriver

#: CRM name → its driver, built on the emulator fixture of the same name (``conftest.py``)
DRIVERS: dict[str, type[HubSpotDriver] | type[PipedriveDriver]] = {
    "hubspot": HubSpotDriver,
    "pipedrive": PipedriveDriver,
}
CRMS = list(DRIVERS)


def one_store_per_crm(*, hubspot: str) -> pytest.MarkDecorator:
    """Run a costly matrix once per CRM, each on one store (HubSpot on ``hubspot``, Pipedrive
    on the other), instead of every CRM on every store: both CRMs and both stores are still
    covered, at half the cost. For matrices whose store part is the same for both CRMs."""
    other = {"sqlite": "postgresql", "postgresql": "sqlite"}[hubspot]
    pairs = [("hubspot", hubspot), ("pipedrive", other)]
    return pytest.mark.parametrize(
        ("crm", "database_url"), pairs, indirect=True, ids=[f"{c}-{d}" for c, d in pairs]
    )


__all__ = [
    "one_store_per_crm",
    "BUYER",
    "CANCEL",
    "CRMS",
    "DEFAULT_START",
    "NEW_REP",
    "OTHER",
    "REP",
    "TRIGGER",
    "CRMDriver",
    "DRIVERS",
    "HubSpotDriver",
    "PipedriveDriver",
    "Webhook",
]
