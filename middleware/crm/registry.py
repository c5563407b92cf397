"""Provider name → its CRM module. The webhook routes, the wiring and the CLI go through here.

Adding a CRM is its module(s) under ``crm/``, one line here, its settings and its tests.
"""

from __future__ import annotations

from middleware.crm import hubspot, pipedrive
from middleware.crm.base import CRMModule

#: Every CRM the service speaks, by the ``provider`` name stored on its events.
CRMS: dict[str, CRMModule] = {
    hubspot.MODULE.provider: hubspot.MODULE,
    pipedrive.MODULE.provider: pipedrive.MODULE,
}


def crm_module(provider: str) -> CRMModule | None:
    """The module of ``provider``, or None for a name the service does not know."""
    return CRMS.get(provider)
