"""The CRM calls the demo's lifecycle needs: clear the write-back, list and resolve stages."""

from __future__ import annotations

import pytest

from middleware.crm.base import Stage, resolve_stages
from middleware.errors import ConfigError
from tests.crm.test_hubspot_client import client, fetched, hs, paths  # noqa: F401 - fixtures


def test_clear_write_back_empties_both_properties(hs, client) -> None:  # noqa: F811
    deal = fetched(client)
    client.write_back(deal, meet_url="https://meet.google.com/abc-defg-hij", calendar_event_id="e1")
    booked = fetched(client)
    assert booked.current_meet_url and booked.current_event_id == "e1"
    assert client.clear_write_back(booked) is True
    cleared = fetched(client)
    assert (cleared.current_meet_url, cleared.current_event_id) == (None, None)
    assert hs.deal_properties("301")["demo_meet_url"] in ("", None)
    hs.reset_log()
    assert client.clear_write_back(cleared) is False  # nothing to clear: no request
    assert [p for p in paths(hs) if p[0] == "PATCH"] == []


def test_list_stages_reads_every_pipeline(hs, client) -> None:  # noqa: F811
    stages = client.list_stages()
    assert any(s.id == "demoscheduled" for s in stages)
    assert all(s.label and s.pipeline for s in stages)


STAGES = [
    Stage("demoscheduled", "Demo Scheduled", "Sales Pipeline"),
    Stage("closedlost", "Closed lost", "Sales Pipeline"),
    Stage("3752325848", "Demo Scheduled", "Partner Pipeline"),
    Stage("991", "Lost", "Partner Pipeline"),
]


def test_ids_stay_and_unique_labels_resolve() -> None:
    assert resolve_stages(["demoscheduled", " closed LOST ", "Lost"], STAGES, key="k") == (
        "demoscheduled",
        "closedlost",
        "991",
    )
    assert resolve_stages(["991", "Lost"], STAGES, key="k") == ("991",)


def test_unknown_and_ambiguous_labels_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"^hubspot\.cancel_stages: no deal stage .*'Won'"):
        resolve_stages(["Won"], STAGES, key="hubspot.cancel_stages")
    with pytest.raises(ConfigError, match="names 2 stages .*use the id") as info:
        resolve_stages(["Demo Scheduled"], STAGES, key="hubspot.trigger_stages")
    assert "\n" not in str(info.value)


def test_without_labels_only_ids_resolve() -> None:
    assert resolve_stages(["991"], STAGES, key="k", labels=False) == ("991",)
    with pytest.raises(
        ConfigError, match=r"^pipedrive\.trigger_stage_ids: no deal stage has the id 'Lost'"
    ):
        resolve_stages(["Lost"], STAGES, key="pipedrive.trigger_stage_ids", labels=False)
