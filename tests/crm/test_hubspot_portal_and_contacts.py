"""The HubSpot client's portal check and its v4 association paging, against the emulator.

Real sockets, real ``requests``: a deal of another portal is refused before it is read; the
token's portal is read once per client, even with eight threads; hundreds of associated contacts
are followed page by page and capped at ``meeting.max_attendees`` with a log line; fewer than
100 contacts embedded in the deal read, unpaged, are the whole list (no v4 read), while a list
cut at 100 (with ``paging``, or silently) is read through v4.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from middleware.crm.hubspot.client import HubSpotClient
from middleware.deadlines import Timeouts
from middleware.errors import PermanentError, RetryableError
from middleware.rules import HubSpotRules
from middleware.testing.hubspot import HubSpotEmulator

pytestmark = pytest.mark.timeout(20)

TOKEN = "pat-na1-test-token"
DETAILS_PATH = "/account-info/v3/details"
ASSOC = "/crm/v4/objects/deals/{}/associations/contacts"
BATCH_PATH = "/crm/v3/objects/contacts/batch/read"


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(access_token=TOKEN, portal_id=62515) as emulator:
        emulator.add_owner("101", "rep@example.com")
        emulator.add_contact("201", "ada@example.com")
        add_deal(emulator, "301", ["201"])
        yield emulator


def make_client(hs: HubSpotEmulator, *, max_attendees: int = 100) -> HubSpotClient:
    return HubSpotClient(
        base_url=hs.base_url,
        access_token=TOKEN,
        rules=HubSpotRules(),
        timeout=Timeouts(2.0, 5.0, 10.0),
        max_attendees=max_attendees,
    )


def add_deal(hs: HubSpotEmulator, deal_id: str, contact_ids: list[str]) -> None:
    hs.add_deal(
        deal_id,
        {
            "dealname": f"Deal {deal_id}",
            "dealstage": "demoscheduled",
            "hubspot_owner_id": "101",
            "demo_start_time": "2030-01-01T10:00:00Z",
        },
        contact_ids=contact_ids,
    )


def add_contacts(hs: HubSpotEmulator, count: int) -> list[str]:
    ids = [str(10_000 + i) for i in range(count)]
    for contact_id in ids:
        hs.add_contact(contact_id, f"guest{contact_id}@example.com")
    return ids


def calls(hs: HubSpotEmulator, path: str) -> list[dict]:
    return [r for r in hs.requests if r["path"] == path]


# ---- the portal check -------------------------------------------------------------------


def test_a_deal_of_another_portal_is_refused_before_it_is_read(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    with pytest.raises(PermanentError) as info:
        client.fetch_deal("99999", "301")
    error = info.value
    assert error.reason == "crm_wrong_account"
    assert "HubSpot account 99999" in error.message
    assert "belongs to account 62515" in error.message
    assert "HUBSPOT_ACCESS_TOKEN" in error.message
    assert [r["path"] for r in hs.requests] == [DETAILS_PATH]  # the deal was never read
    assert hs.patches == []
    # The portal is known now: the next event of either portal reads no details again.
    with pytest.raises(PermanentError):
        client.fetch_deal("99999", "301")
    assert client.fetch_deal("62515", "301").contact_emails == ("ada@example.com",)
    assert len(calls(hs, DETAILS_PATH)) == 1


def test_account_details_are_read_once_by_eight_threads(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    hs.inject_delay("GET", DETAILS_PATH, 0.3)  # all threads arrive while the first reads
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            client.fetch_deal("62515", "301")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(calls(hs, DETAILS_PATH)) == 1
    assert len(calls(hs, "/crm/v3/objects/deals/301")) == 8


def test_account_details_carry_the_time_zone() -> None:
    with HubSpotEmulator(access_token=TOKEN, portal_id=4242, time_zone="Europe/Berlin") as hs:
        details = make_client(hs).account_details()
        assert (details.portal_id, details.time_zone, str(details.zone)) == (
            "4242",
            "Europe/Berlin",
            "Europe/Berlin",
        )


def test_a_failed_details_read_is_mapped_and_not_cached(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    hs.answer_migrating("GET", DETAILS_PATH, retry_after_seconds=3600)
    with pytest.raises(RetryableError) as info:
        client.fetch_deal("62515", "301")
    assert (info.value.reason, info.value.park_scope) == ("crm_migrating", "hubspot:62515")
    assert info.value.retry_after == 3600
    hs.inject_fault("GET", DETAILS_PATH, 200, body={"timeZone": "UTC"})  # no portalId
    with pytest.raises(RetryableError) as info:
        client.fetch_deal("62515", "301")
    assert info.value.reason == "crm_bad_response"
    assert client.fetch_deal("62515", "301").deal_id == "301"  # read again, now it works
    assert len(calls(hs, DETAILS_PATH)) == 3


# ---- contacts through the v4 associations API --------------------------------------------


def test_250_associated_contacts_are_all_invited(hs: HubSpotEmulator) -> None:
    ids = add_contacts(hs, 250)
    add_deal(hs, "302", ids)
    hs.association_page_max = 100  # make HubSpot page: 100, 100, 50
    deal = make_client(hs, max_attendees=250).fetch_deal("62515", "302")

    assert deal.contact_emails == tuple(f"guest{i}@example.com" for i in ids)
    pages = calls(hs, ASSOC.format("302"))
    assert len(pages) == 3
    assert pages[0]["query"] == {"limit": "500"}
    assert all("after" in page["query"] for page in pages[1:])
    assert [len(r["body"]["inputs"]) for r in calls(hs, BATCH_PATH)] == [100, 100, 50]


def test_contacts_beyond_max_attendees_are_left_out_with_a_warning(
    hs: HubSpotEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    ids = add_contacts(hs, 250)
    add_deal(hs, "302", ids)
    hs.association_page_max = 60
    with caplog.at_level(logging.WARNING, logger="middleware.crm.hubspot.client"):
        deal = make_client(hs).fetch_deal("62515", "302")  # max_attendees 100

    assert deal.contact_emails == tuple(f"guest{i}@example.com" for i in ids[:100])
    # Paging stops once the cap is passed: 2 pages of 60, not all 5.
    assert len(calls(hs, ASSOC.format("302"))) == 2
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == (
        "deal 302 has more than 100 associated contacts: inviting the first 100 "
        "(meeting.max_attendees)"
    )


def test_exactly_max_attendees_contacts_log_nothing(
    hs: HubSpotEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    ids = add_contacts(hs, 100)
    add_deal(hs, "302", ids)
    with caplog.at_level(logging.WARNING):
        deal = make_client(hs).fetch_deal("62515", "302")
    assert len(deal.contact_emails) == 100
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_repeated_cursor_ends_the_paging(hs: HubSpotEmulator) -> None:
    add_deal(hs, "302", add_contacts(hs, 120))  # embedded: 100 and a next page
    page = {
        "results": [{"toObjectId": 201, "associationTypes": []}],
        "paging": {"next": {"after": "same"}},
    }
    hs.inject_fault("GET", ASSOC.format("302"), 200, body=page, times=10)
    deal = make_client(hs).fetch_deal("62515", "302")
    assert deal.contact_emails == ("ada@example.com",)
    assert len(calls(hs, ASSOC.format("302"))) == 2  # the second answer repeats the cursor


# ---- the contacts embedded in the deal read: complete, or cut at 100 ------------------------


@pytest.mark.parametrize("count", [1, 99])
def test_fewer_than_100_embedded_contacts_are_the_whole_list(
    hs: HubSpotEmulator, count: int
) -> None:
    ids = add_contacts(hs, count)
    add_deal(hs, "302", ids)
    deal = make_client(hs).fetch_deal("62515", "302")
    assert deal.contact_emails == tuple(f"guest{i}@example.com" for i in ids)
    [read] = calls(hs, "/crm/v3/objects/deals/302")
    assert read["query"]["associations"] == "contacts"
    assert calls(hs, ASSOC.format("302")) == []  # one CRM call fewer


def test_a_deal_without_contacts_needs_no_association_read(hs: HubSpotEmulator) -> None:
    add_deal(hs, "302", [])
    assert make_client(hs).fetch_deal("62515", "302").contact_emails == ()
    assert calls(hs, ASSOC.format("302")) == []


@pytest.mark.parametrize("paging", [True, False], ids=["paging-next", "cut-silently"])
def test_a_list_cut_at_100_is_read_through_v4(hs: HubSpotEmulator, paging: bool) -> None:
    # HubSpot says "more" in the block's paging; an account that leaves it out still shows
    # exactly 100: both are read in full through v4.
    hs.embedded_association_paging = paging
    ids = add_contacts(hs, 130)
    add_deal(hs, "302", ids)
    deal = make_client(hs, max_attendees=200).fetch_deal("62515", "302")
    assert deal.contact_emails == tuple(f"guest{i}@example.com" for i in ids)
    assert len(calls(hs, ASSOC.format("302"))) == 1


def test_exactly_100_embedded_contacts_are_checked_through_v4(hs: HubSpotEmulator) -> None:
    ids = add_contacts(hs, 100)
    add_deal(hs, "302", ids)
    deal = make_client(hs).fetch_deal("62515", "302")
    assert len(deal.contact_emails) == 100
    assert len(calls(hs, ASSOC.format("302"))) == 1  # 100 may be a cut list


def test_without_the_v4_list_a_cut_embedded_list_is_used(hs: HubSpotEmulator) -> None:
    ids = add_contacts(hs, 130)
    add_deal(hs, "302", ids)
    hs.inject_fault("GET", ASSOC.format("302"), 404, times=1)
    deal = make_client(hs, max_attendees=200).fetch_deal("62515", "302")
    assert deal.contact_emails == tuple(f"guest{i}@example.com" for i in ids[:100])
