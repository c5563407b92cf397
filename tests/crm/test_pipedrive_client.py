"""The Pipedrive API client against the Pipedrive emulator over real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from middleware.crm.pipedrive.client import PipedriveClient
from middleware.deadlines import Timeouts
from middleware.errors import PermanentError, RetryableError
from middleware.meetings import parse_start
from middleware.rules import PipedriveRules
from middleware.testing.pipedrive import PipedriveEmulator

MEET, EVENT, DAY, TIME, ISO = ("a" * 40, "e" * 40, "b" * 40, "c" * 40, "f" * 40)
RULES = PipedriveRules(
    trigger_stage_ids=(3,),
    cancel_stage_ids=(5,),
    start_field=DAY,
    start_time_field=TIME,
    meet_url_field=MEET,
    event_id_field=EVENT,
)
BERLIN = {"value": "15:00:00", "timezone_name": "Europe/Berlin"}


@pytest.fixture
def pd() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        for key, kind in ((MEET, "varchar"), (EVENT, "varchar"), (DAY, "date"), (TIME, "time")):
            emu.define_field(key, kind)
        emu.define_field(ISO)
        emu.add_user(7, "rep@seller.example")
        emu.add_person(70, "buyer@acme.example")
        emu.add_person(71, "cfo@acme.example")
        emu.add_deal(
            1,
            stage_id=3,
            owner_id=7,
            person_id=70,
            participants=(71,),
            **{DAY: "2030-01-07", TIME: BERLIN},
        )
        yield emu


def client(pd: PipedriveEmulator, rules: PipedriveRules = RULES, token: str | None = None):
    return PipedriveClient(
        base_url=pd.base_url,
        api_token=token or pd.api_token,
        rules=rules,
        timeout=Timeouts(2, 5, 10),
    )


def test_a_deal_in_a_trigger_stage_reads_people_owner_and_zoned_start(pd) -> None:
    deal = client(pd).fetch_deal("8087566", "1")
    assert deal.in_trigger_stage and not deal.in_cancel_stage and deal.stage == "3"
    assert deal.owner_email == "rep@seller.example"
    assert deal.contact_emails == ("buyer@acme.example", "cfo@acme.example")
    assert deal.start_value == "2030-01-07T15:00:00+01:00"  # the time field's zone wins
    assert parse_start(deal.start_value, "UTC", deal_id="1", property_name="x").utcoffset()
    assert (deal.current_meet_url, deal.current_event_id) == (None, None)


def test_a_time_without_its_zone_gives_a_naive_start_for_the_rep_zone(pd) -> None:
    pd.time_with_zone = False
    assert client(pd).fetch_deal("8087566", "1").start_value == "2030-01-07T15:00:00"


def test_an_empty_time_or_date_is_waiting_and_a_bad_one_is_bad_start(pd) -> None:
    pd.set_fields(1, **{TIME: None})
    assert client(pd).fetch_deal("8087566", "1").start_value is None
    pd.set_fields(1, **{TIME: "25:00"})
    with pytest.raises(PermanentError) as caught:
        client(pd).fetch_deal("8087566", "1")
    assert caught.value.reason == "bad_start" and TIME in caught.value.message


def test_one_iso_text_field_is_passed_through(pd) -> None:
    rules = PipedriveRules(
        trigger_stage_ids=(3,), start_field=ISO, meet_url_field=MEET, event_id_field=EVENT
    )
    pd.set_fields(1, **{ISO: "2030-01-07T15:00:00-05:00"})
    assert client(pd, rules).fetch_deal("8087566", "1").start_value == "2030-01-07T15:00:00-05:00"


def test_a_deal_in_another_stage_skips_people_and_owner(pd) -> None:
    pd.move(1, stage_id=5)
    pd.requests.clear()
    deal = client(pd).fetch_deal("8087566", "1")
    assert deal.in_cancel_stage and not deal.in_trigger_stage and deal.owner_email is None
    assert [path for _, path in pd.requests] == ["/api/v2/deals/1"]


@pytest.mark.parametrize("mode", ["not_found", "flagged"])
def test_a_deleted_deal_is_deal_not_found(pd, mode: str) -> None:
    pd.deleted_reads = mode
    pd.delete_deal(1)
    with pytest.raises(PermanentError) as caught:
        client(pd).fetch_deal("8087566", "1")
    assert caught.value.reason == "deal_not_found"


def test_a_missing_owner_is_owner_not_found(pd) -> None:
    pd.move(1, owner_id=99)
    with pytest.raises(PermanentError) as caught:
        client(pd).fetch_deal("8087566", "1")
    assert caught.value.reason == "owner_not_found"


def test_write_back_and_clear_patch_the_custom_fields_once(pd) -> None:
    c = client(pd)
    deal = c.fetch_deal("8087566", "1")
    assert c.write_back(deal, meet_url="https://meet.google.com/x", calendar_event_id="ev1")
    assert pd.fields(1)[MEET] == "https://meet.google.com/x" and pd.fields(1)[EVENT] == "ev1"
    again = c.fetch_deal("8087566", "1")
    assert not c.write_back(again, meet_url="https://meet.google.com/x", calendar_event_id="ev1")
    assert c.clear_write_back(again) and MEET not in pd.fields(1) and EVENT not in pd.fields(1)
    assert not c.clear_write_back(c.fetch_deal("8087566", "1"))
    assert len(pd.patches) == 2


def test_an_unknown_write_back_field_is_crm_property_missing(pd) -> None:
    rules = PipedriveRules(
        trigger_stage_ids=(3,), start_field=DAY, meet_url_field="d" * 40, event_id_field=EVENT
    )
    c = client(pd, rules)
    with pytest.raises(PermanentError) as caught:
        c.write_back(c.fetch_deal("8087566", "1"), meet_url="u", calendar_event_id="e")
    assert caught.value.reason == "crm_property_missing"
    assert "pipedrive.meet_url_field" in caught.value.message


def test_stages_are_listed_across_pages(pd) -> None:
    pd.stages += [{"id": 10 + n, "name": f"S{n}", "pipeline_id": 2} for n in range(150)]
    stages = client(pd).list_stages()
    assert len(stages) == 155 and stages[2].label == "Demo Scheduled" and stages[2].id == "3"


@pytest.mark.parametrize(
    "status, headers, reason, wait",
    [
        (429, {"Retry-After": "7"}, "crm_rate_limited", 7.0),
        (429, {"x-ratelimit-reset": "2", "x-ratelimit-remaining": "0"}, "crm_rate_limited", 2.0),
        (503, {}, "crm_unavailable", None),
    ],
)
def test_transient_answers_are_retryable_and_honour_the_wait(
    pd, status, headers, reason, wait
) -> None:
    pd.fail_next(status, headers=headers)
    with pytest.raises(RetryableError) as caught:
        client(pd).fetch_deal("8087566", "1")
    assert caught.value.reason == reason and caught.value.retry_after == wait


def test_a_wrong_token_is_crm_unauthorized_and_never_shown(pd) -> None:
    with pytest.raises(PermanentError) as caught:
        client(pd, token="wrong-token-123").fetch_deal("8087566", "1")
    assert (
        caught.value.reason == "crm_unauthorized" and "wrong-token-123" not in caught.value.message
    )
    pd.fail_next(403)
    with pytest.raises(PermanentError) as forbidden:
        client(pd).fetch_deal("8087566", "1")
    assert forbidden.value.reason == "crm_forbidden"


def test_an_unreachable_api_is_crm_unreachable(pd) -> None:
    c = client(pd)
    pd.stop()
    with pytest.raises(RetryableError) as caught:
        c.fetch_deal("8087566", "1")
    assert caught.value.reason == "crm_unreachable"
