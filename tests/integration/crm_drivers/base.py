"""What every CRM driver offers (see the package docstring); the scenarios use nothing else."""

from __future__ import annotations

import itertools
from typing import Any

REP = "rep@seller.example"
NEW_REP = "new-rep@seller.example"
BUYER = "buyer@acme.example"
TRIGGER, CANCEL, OTHER = "trigger", "cancel", "other"
DEFAULT_START = "2030-01-07T15:00:00Z"
EPOCH = 1_795_000_000

Webhook = dict[str, Any]
#: (path, body, headers) of one POST to the service
Request = tuple[str, bytes, dict[str, str]]
event_ids = itertools.count(10_000)
DealId = int | str


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` made ``new``: a rules file that no longer has the line
    fails here, not as a scenario that quietly runs on other rules."""
    assert text.count(old) == 1, f"{old!r} is not once in the rules"
    return text.replace(old, new)


class CRMDriver:
    """What every driver offers; the scenarios use nothing else."""

    name: str
    #: the scheme of the ``WWW-Authenticate`` challenge of a refused webhook (None: none sent)
    auth_challenge: str | None = None
    stages: dict[str, Any]
    #: how the service's messages name the deal's start (the rules' start property or fields)
    start_name: str
    _kinds: dict[str, str]

    def __init__(self) -> None:
        self._owners: dict[str, Any] = {}

    # ---- the service's configuration -------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The settings that point the service at this CRM's emulator."""
        raise NotImplementedError

    def rules(self, text: str) -> str:
        """``text`` (a rules file) with this CRM's section set up for the lifecycle: a cancel
        stage, and the fields the service reads and writes."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """What must never show in logs, errors or the admin API."""
        raise NotImplementedError

    # ---- changes in the CRM, each returning the webhook that reports it ---------------------

    def add_deal(
        self,
        deal_id: DealId,
        *,
        start: str | None = DEFAULT_START,
        stage: str = TRIGGER,
        owner: str = REP,
        contacts: tuple[str, ...] = (BUYER,),
    ) -> None:
        """A deal named ``Acme <id>``, owned by the user with e-mail ``owner`` (created when
        new), with one contact (person) per e-mail of ``contacts``; no start when None."""
        raise NotImplementedError

    def move(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        """The deal moved to ``stage`` at ``at``."""
        raise NotImplementedError

    def set_start(self, deal_id: DealId, start: str | None, *, at: int) -> Webhook:
        """The deal's start set to ``start`` (emptied when None) at ``at``."""
        raise NotImplementedError

    def reassign(self, deal_id: DealId, owner: str, *, at: int) -> Webhook:
        """The deal given to the user with e-mail ``owner`` (created when new) at ``at``."""
        raise NotImplementedError

    def delete(self, deal_id: DealId, *, at: int) -> Webhook:
        """The deal deleted at ``at``."""
        raise NotImplementedError

    # ---- webhooks alone (deliveries out of order, changes the service does not watch) -------

    def stage_webhook(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        """The deal entered ``stage`` at ``at`` (the CRM is left as it is)."""
        raise NotImplementedError

    def start_webhook(self, deal_id: DealId, *, at: int, stage: str = TRIGGER) -> Webhook:
        """The deal's start changed at ``at``, while it was in ``stage``."""
        raise NotImplementedError

    def unwatched_webhook(self, deal_id: DealId, *, at: int) -> Webhook:
        """The deal was renamed: a change the service does not act on."""
        raise NotImplementedError

    def redelivery(self, webhook: Webhook, attempt: int) -> Webhook:
        """The CRM's retry of ``webhook`` (the same event id)."""
        raise NotImplementedError

    def requests(self, webhooks: list[Webhook], *, forged: bool = False) -> list[Request]:
        """The POSTs that deliver ``webhooks``, authentic or (``forged``) with a wrong secret."""
        raise NotImplementedError

    # ---- what the service wrote ------------------------------------------------------------

    def written(self, deal_id: DealId) -> tuple[str | None, str | None]:
        """The deal's (Meet URL, Calendar event id) fields, None where empty."""
        raise NotImplementedError

    def writes(self) -> list[tuple[str, str | None, str | None]]:
        """Every write-back the CRM accepted, oldest first: (deal, Meet URL, event id), None
        where a field was emptied."""
        raise NotImplementedError

    def fail_write(
        self, deal_id: DealId, status: int, *, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next write-back to the deal with ``status`` (and ``headers``)."""
        raise NotImplementedError

    def tag(self, deal_id: DealId) -> str:
        """The ``crmDeal`` private property of the deal's Calendar event."""
        raise NotImplementedError

    def stage_id(self, stage: str) -> str:
        """The stage id the CRM (and the service's messages) use for the role ``stage``."""
        return str(self.stages[stage])

    def kind(self, trigger: str) -> str:
        """An event's ``trigger`` as a kind shared by every CRM (unknown triggers unchanged)."""
        return self._kinds.get(trigger, trigger)
