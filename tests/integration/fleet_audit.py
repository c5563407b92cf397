"""The audit of a fleet's run (``fleet.py``) against the CONTRACT.md guarantees: what the store,
Google's and HubSpot's emulators hold at the end; :meth:`Audit.problems` names every guarantee
that does not hold."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from middleware.meetings import calendar_event_id
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.integration.fleet import PORTAL

#: how a retry or takeover may have ended an attempt that was not the last
NOT_LAST = ("abandoned", "retrying", "released", "parked")


@dataclass
class Audit:
    """What the run left: the store's events and attempts, Google's events, HubSpot's PATCHes."""

    accepted: int  #: events the webhooks' answers said were stored (at most what the store holds)
    statuses: dict[str, int]
    deals: int
    calendar_events: int  #: every event in Google, cancelled ones included
    deals_without_event: list[str]
    deals_with_several: list[str]
    foreign_events: list[str]  #: ids that are no deal's deterministic id
    patches: int
    deals_not_patched_once: list[str]
    wrong_links: list[str]  #: deals whose write-back is not their Calendar event's link and id
    extra_calendar_events: int = 0
    extra_write_backs: int = 0
    retries: Counter[str] = field(
        default_factory=Counter
    )  #: attempts that were not the last, by reason
    unexplained: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(self.statuses.values())

    @property
    def lost(self) -> int:
        """Stored events that did not end ``succeeded``, and accepted ones not in the store.
        (The store may hold more than the answers said: a webhook whose commit went through
        while its connection broke is answered 503, and its resending is a duplicate.)"""
        missing = max(0, self.accepted - self.stored)
        return self.stored - self.statuses.get("succeeded", 0) + missing

    @property
    def duplicates(self) -> int:
        """Calendar events beyond one per deal (or of no deal), write-backs beyond one."""
        return self.extra_calendar_events + len(self.foreign_events) + self.extra_write_backs

    def problems(self) -> list[str]:
        """Every guarantee that does not hold, in words (empty when all hold)."""
        found = []
        if self.stored < self.accepted:
            found.append(f"{self.accepted} events accepted, {self.stored} in the store")
        if self.lost:
            found.append(f"{self.lost} events did not succeed: {self.statuses}")
        for what, items in (
            ("deals without a Calendar event", self.deals_without_event),
            ("deals with several Calendar events", self.deals_with_several),
            ("Calendar events of no deal", self.foreign_events),
            ("deals not written back exactly once", self.deals_not_patched_once),
            ("deals written back with another link or id", self.wrong_links),
            ("attempts not explained", self.unexplained),
        ):
            if items:
                found.append(f"{len(items)} {what}: {items[:5]}")
        return found


def audit(
    store: Store,
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    deals: Sequence[int],
    accepted: int,
) -> Audit:
    """Check every deal, every Calendar event, every write-back and every attempt."""
    by_id = {calendar_event_id("hubspot", PORTAL, str(d)): str(d) for d in deals}
    per_deal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    foreign = []
    gevents = google.all_events()
    for event in gevents:
        if event["id"] in by_id:
            per_deal[by_id[event["id"]]].append(event)
        else:
            foreign.append(event["id"])
    patched: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for patch in hubspot.patches:
        patched[patch["deal_id"]].append(patch["properties"])
    wrong = []
    for deal, events in per_deal.items():
        if len(events) == 1 and len(patched.get(deal, ())) == 1:
            link = _video_link(events[0])
            props = patched[deal][0]
            if (props.get("demo_meet_url"), props.get("demo_calendar_event_id")) != (
                link,
                events[0]["id"],
            ):
                wrong.append(deal)
    retries, unexplained = _attempts(store.engine)
    names = [str(d) for d in deals]
    return Audit(
        accepted=accepted,
        statuses={k: v for k, v in store.status_counts().items() if v},
        deals=len(deals),
        calendar_events=len(gevents),
        deals_without_event=[d for d in names if d not in per_deal],
        deals_with_several=[d for d in names if len(per_deal.get(d, ())) > 1],
        foreign_events=foreign,
        patches=len(hubspot.patches),
        deals_not_patched_once=[d for d in names if len(patched.get(d, ())) != 1],
        wrong_links=wrong,
        extra_calendar_events=sum(len(e) - 1 for e in per_deal.values()),
        extra_write_backs=sum(len(p) - 1 for p in patched.values()),
        retries=retries,
        unexplained=unexplained,
    )


def _video_link(event: dict[str, Any]) -> str | None:
    points = (event.get("conferenceData") or {}).get("entryPoints") or []
    return next((p["uri"] for p in points if p.get("entryPointType") == "video"), None)


def _attempts(engine: Engine) -> tuple[Counter[str], list[str]]:
    """Every attempt that was not its event's last, by reason (``released`` for a graceful
    give-back); and those not explained: a missing attempt, a last one that did not succeed, an
    earlier one without an outcome that says why it was not the last."""
    rows = text(
        "SELECT e.id, e.attempts, a.number, a.outcome, a.error_reason FROM events e "
        "LEFT JOIN attempts a ON a.event_id = e.id ORDER BY e.id, a.number"
    )
    history: dict[int, list[Any]] = defaultdict(list)
    counts: dict[int, int] = {}
    with engine.connect() as conn:
        for row in conn.execute(rows):
            counts[row.id] = row.attempts
            if row.number is not None:
                history[row.id].append(row)
    retries: Counter[str] = Counter()
    unexplained = []
    for event_id, attempts in counts.items():
        tries = history.get(event_id, [])
        if [a.number for a in tries] != list(range(1, attempts + 1)) or not tries:
            unexplained.append(
                f"event {event_id}: attempts {[a.number for a in tries]} of {attempts}"
            )
            continue
        if tries[-1].outcome != "succeeded":
            unexplained.append(f"event {event_id}: last attempt {tries[-1].outcome}")
        for a in tries[:-1]:
            reason = a.error_reason or ("released" if a.outcome == "released" else None)
            if a.outcome not in NOT_LAST or reason is None:
                unexplained.append(f"event {event_id} attempt {a.number}: {a.outcome} {reason}")
            else:
                retries[reason] += 1
    return retries, unexplained
