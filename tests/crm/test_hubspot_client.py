"""The HubSpot CRM v3 client (middleware.crm.hubspot.client) against the local HubSpot emulator.

Real sockets, real ``requests``: the tests seed the emulator's state, call the client, and
assert on the Deal returned, on the emulator's state and request log, and on the errors raised.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import urllib3

from middleware.crm.base import CRMClient
from middleware.crm.hubspot.client import HubSpotClient
from middleware.deadlines import Timeouts
from middleware.errors import MiddlewareError, PermanentError, RetryableError
from middleware.model import Deal
from middleware.rules import HubSpotRules
from middleware.testing.hubspot import HubSpotEmulator

pytestmark = pytest.mark.timeout(10)

TOKEN = "pat-na1-test-token"
RULES = HubSpotRules()  # trigger "demoscheduled"; demo_start_time, demo_meet_url, …
START = "2030-01-01T10:00:00Z"
MEET_URL = "https://meet.google.com/abc-defg-hij"
EVENT_ID = "mw301a1b2c3"
DEAL_PATH = "/crm/v3/objects/deals/301"
BATCH_PATH = "/crm/v3/objects/contacts/batch/read"
DETAILS_PATH = "/account-info/v3/details"


# ---- fixtures and builders --------------------------------------------------------------


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    """Deal 301 in the trigger stage, owned by 101, with three contacts in a set order."""
    with HubSpotEmulator(access_token=TOKEN) as emulator:
        emulator.add_owner("101", "rep@example.com", "Sam", "Rep")
        emulator.add_contact("201", "ada@example.com", "Ada", "Lovelace", company="Acme Corp")
        emulator.add_contact("202", "not-an-email", "Bob", "Typo")
        emulator.add_contact("203", None)  # no email at all
        emulator.add_deal(
            "301",
            {
                "dealname": "Acme renewal",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": START,
            },
            # Not sorted: the client must keep HubSpot's association order.
            contact_ids=["202", "201", "203"],
        )
        yield emulator


@pytest.fixture
def client(hs: HubSpotEmulator) -> Iterator[HubSpotClient]:
    c = make_client(hs.base_url)
    yield c
    c.close()


TEST_TIMEOUTS = Timeouts(2.0, 5.0, 10.0)


def make_client(
    base_url: str,
    *,
    token: str = TOKEN,
    timeout: Timeouts = TEST_TIMEOUTS,
    max_attendees: int = 100,
) -> HubSpotClient:
    return HubSpotClient(
        base_url=base_url,
        access_token=token,
        rules=RULES,
        timeout=timeout,
        max_attendees=max_attendees,
    )


def add_deal(
    hs: HubSpotEmulator, deal_id: str, contact_ids: list[str] | None = None, **props: str | None
) -> None:
    properties: dict[str, str | None] = {
        "dealname": f"Deal name {deal_id}",
        "dealstage": "demoscheduled",
        "hubspot_owner_id": "101",
        "demo_start_time": START,
    }
    properties.update(props)
    hs.add_deal(deal_id, properties, contact_ids=contact_ids or [])


def paths(hs: HubSpotEmulator) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in hs.requests]


def closed_port_url() -> str:
    """A local URL nobody listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def expect(kind: type[MiddlewareError], reason: str, call, *args, **kwargs) -> MiddlewareError:
    with pytest.raises(kind) as info:
        call(*args, **kwargs)
    assert info.value.reason == reason, info.value.message
    return info.value


def fetched(client: HubSpotClient, deal_id: str = "301") -> Deal:
    return client.fetch_deal("62515", deal_id)


# ---- fetch_deal -------------------------------------------------------------------------


def test_client_is_a_crm_client(client: HubSpotClient) -> None:
    crm: CRMClient = client  # the protocol, checked by mypy
    assert crm.provider == "hubspot"
    assert TOKEN not in repr(client)


def test_fetch_deal_happy_path(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    deal = fetched(client)

    assert deal.provider == "hubspot"
    assert deal.account_id == "62515"
    assert deal.deal_id == "301"
    assert deal.name == "Acme renewal"
    assert deal.stage == "demoscheduled"
    assert deal.in_trigger_stage is True
    assert deal.owner_email == "rep@example.com"
    # The first contact (202) has no company; the second one's is used.
    assert deal.company == "Acme Corp"
    assert deal.start_value == START
    assert deal.start_property == "demo_start_time"
    # Association order; a bad or missing email is passed through for the planner.
    assert deal.contact_emails == ("not-an-email", "ada@example.com", None)
    assert deal.current_meet_url is None
    assert deal.current_event_id is None
    assert deal.properties["dealname"] == "Acme renewal"
    assert deal.properties["pipeline"] == "default"
    assert deal.properties["demo_meet_url"] is None
    assert deal.properties["hs_object_id"] == "301"

    # Three contacts embedded in the deal read, no paging: the whole list, no v4 read.
    assert paths(hs) == [
        ("GET", DETAILS_PATH),
        ("GET", DEAL_PATH),
        ("POST", BATCH_PATH),
        ("GET", "/crm/v3/owners"),  # the first page of owners, cached (owner 101 is on it)
    ]
    _details, get, batch, owners = hs.requests
    assert owners["query"] == {"limit": "500", "archived": "false"}
    assert get["query"] == {
        "properties": "dealname,dealstage,pipeline,hubspot_owner_id,"
        "demo_start_time,demo_meet_url,demo_calendar_event_id",
        "associations": "contacts",
    }
    assert batch["body"] == {
        "properties": ["email", "firstname", "lastname", "company"],
        "inputs": [{"id": "202"}, {"id": "201"}, {"id": "203"}],
    }


def test_fetch_deal_reads_current_write_back_values(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.set_deal_properties("301", demo_meet_url=MEET_URL, demo_calendar_event_id=EVENT_ID)
    deal = fetched(client)
    assert (deal.current_meet_url, deal.current_event_id) == (MEET_URL, EVENT_ID)
    # HubSpot reads a cleared value back as "": that is no value.
    hs.set_deal_properties("301", demo_meet_url="", demo_calendar_event_id="")
    deal = fetched(client)
    assert (deal.current_meet_url, deal.current_event_id) == (None, None)


def test_company_falls_back_to_the_deal_name(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    add_deal(hs, "302", ["202", "203"], dealname="Globex demo")
    assert fetched(client, "302").company == "Globex demo"


def test_missing_deal_name_gets_a_stand_in(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    add_deal(hs, "302", dealname=None)
    deal = fetched(client, "302")
    assert deal.name == "Deal 302"
    assert deal.company == "Deal 302"


def test_deal_outside_the_trigger_stages_skips_contacts_and_owner(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.set_deal_properties("301", dealstage="qualifiedtobuy")
    deal = fetched(client)
    assert deal.in_trigger_stage is False
    assert deal.stage == "qualifiedtobuy"
    assert deal.owner_email is None
    assert deal.contact_emails == ()
    assert deal.start_value == START
    assert paths(hs) == [("GET", DETAILS_PATH), ("GET", DEAL_PATH)]


def test_deal_without_stage(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    add_deal(hs, "302", dealstage=None)
    deal = fetched(client, "302")
    assert (deal.stage, deal.in_trigger_stage) == ("", False)


def test_deal_without_contacts(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    add_deal(hs, "302", dealname="Lonely")
    deal = fetched(client, "302")
    assert deal.contact_emails == ()
    assert deal.company == "Lonely"
    assert deal.owner_email == "rep@example.com"
    assert ("POST", BATCH_PATH) not in paths(hs)


def test_more_than_100_contacts_are_read_in_chunks(hs: HubSpotEmulator) -> None:
    ids = [str(1000 + i) for i in range(150)]
    for contact_id in reversed(ids):
        hs.add_contact(contact_id, f"c{contact_id}@example.com")
    add_deal(hs, "302", ids)

    deal = fetched(make_client(hs.base_url, max_attendees=150), "302")

    assert deal.contact_emails == tuple(f"c{i}@example.com" for i in ids)
    batches = [r["body"]["inputs"] for r in hs.requests if r["path"] == BATCH_PATH]
    assert [len(b) for b in batches] == [100, 50]
    assert [i["id"] for b in batches for i in b] == ids


def test_207_partial_contacts_answer_uses_what_was_found(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    add_deal(hs, "302", ["201", "999", "202"])  # 999 was deleted meanwhile
    deal = fetched(client, "302")
    assert deal.contact_emails == ("ada@example.com", "not-an-email")
    assert [r["status"] for r in hs.requests if r["path"] == BATCH_PATH] == [207]


def test_duplicate_association_ids_are_read_once(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    # HubSpot lists a contact once per association type (e.g. unlabelled + a label).
    add_deal(hs, "302", ["201", "202", "201"])
    deal = fetched(client, "302")
    assert deal.contact_emails == ("ada@example.com", "not-an-email")
    [batch] = [r for r in hs.requests if r["path"] == BATCH_PATH]
    assert batch["body"]["inputs"] == [{"id": "201"}, {"id": "202"}]


def test_deal_without_owner(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    add_deal(hs, "302", ["201"], hubspot_owner_id=None)
    deal = fetched(client, "302")
    assert deal.owner_email is None
    assert deal.contact_emails == ("ada@example.com",)
    assert not any(path.startswith("/crm/v3/owners") for _, path in paths(hs))


@pytest.mark.parametrize("archived", [False, True], ids=["unknown", "deactivated"])
def test_owner_not_found(hs: HubSpotEmulator, client: HubSpotClient, archived: bool) -> None:
    if archived:
        hs.add_owner("555", "gone@example.com", archived=True)
    add_deal(hs, "302", hubspot_owner_id="555")
    error = expect(PermanentError, "owner_not_found", fetched, client, "302")
    assert error.message == (
        "deal 302: owner 555 not found in HubSpot (deactivated?): assign an active owner"
    )


def test_deal_not_found(client: HubSpotClient) -> None:
    error = expect(PermanentError, "deal_not_found", fetched, client, "999")
    assert error.message == "deal 999 not found in HubSpot (deleted or merged?)"


def test_start_property_unknown_to_the_account_reads_as_empty(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    # HubSpot leaves unknown names out of the answer (or, in some accounts, sends null):
    # either way the planner reports "property demo_start_time is empty".
    hs.remove_property("demo_start_time")
    deal = fetched(client)
    assert deal.start_value is None and deal.in_trigger_stage is True


def test_start_property_defined_but_unset_is_the_planners_business(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.set_deal_properties("301", demo_start_time=None)
    deal = fetched(client)
    assert deal.start_value is None
    assert deal.in_trigger_stage is True


def test_errors_on_the_contacts_and_owner_calls_name_the_deal(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.inject_fault("POST", BATCH_PATH, 503)
    error = expect(RetryableError, "crm_unavailable", fetched, client)
    assert "contacts" in error.message and "deal 301" in error.message
    hs.inject_fault("GET", r"/crm/v3/owners$", 500)
    error = expect(RetryableError, "crm_unavailable", fetched, client)
    assert "owner 101" in error.message and "deal 301" in error.message


# ---- write_back -------------------------------------------------------------------------


def test_write_back_patches_the_deal(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    deal = fetched(client)
    hs.reset_log()

    assert client.write_back(deal, meet_url=MEET_URL, calendar_event_id=EVENT_ID) is True

    assert hs.patches == [
        {
            "deal_id": "301",
            "properties": {"demo_meet_url": MEET_URL, "demo_calendar_event_id": EVENT_ID},
        }
    ]
    state = hs.deal_properties("301")
    assert (state["demo_meet_url"], state["demo_calendar_event_id"]) == (MEET_URL, EVENT_ID)
    reread = fetched(client)
    assert (reread.current_meet_url, reread.current_event_id) == (MEET_URL, EVENT_ID)


def test_write_back_with_the_values_already_there_sends_nothing(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.set_deal_properties("301", demo_meet_url=MEET_URL, demo_calendar_event_id=EVENT_ID)
    deal = fetched(client)
    hs.reset_log()
    assert client.write_back(deal, meet_url=MEET_URL, calendar_event_id=EVENT_ID) is False
    assert hs.requests == []
    assert hs.patches == []


def test_write_back_with_one_value_changed_patches_both(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.set_deal_properties("301", demo_meet_url=MEET_URL, demo_calendar_event_id="old-id")
    deal = fetched(client)
    assert client.write_back(deal, meet_url=MEET_URL, calendar_event_id=EVENT_ID) is True
    assert hs.deal_properties("301")["demo_calendar_event_id"] == EVENT_ID


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("demo_meet_url", "hubspot.meet_url_property"),
        ("demo_calendar_event_id", "hubspot.event_id_property"),
    ],
)
def test_write_back_to_an_undefined_property(
    hs: HubSpotEmulator, client: HubSpotClient, name: str, key: str
) -> None:
    deal = fetched(client)
    hs.remove_property(name)  # deleted in HubSpot between the read and the write
    error = expect(
        PermanentError,
        "crm_property_missing",
        client.write_back,
        deal,
        meet_url=MEET_URL,
        calendar_event_id=EVENT_ID,
    )
    assert repr(name) in error.message
    assert key in error.message
    assert "single-line text property" in error.message
    assert "deal 301" in error.message
    assert hs.patches == []


def test_write_back_to_a_read_only_property(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    deal = fetched(client)
    hs.define_property("demo_meet_url", read_only=True)
    error = expect(
        PermanentError,
        "crm_property_read_only",
        client.write_back,
        deal,
        meet_url=MEET_URL,
        calendar_event_id=EVENT_ID,
    )
    assert "'demo_meet_url'" in error.message
    assert "hubspot.meet_url_property" in error.message
    assert hs.patches == []


def test_write_back_to_a_deleted_deal(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    deal = Deal("hubspot", "62515", "999", "Gone", "demoscheduled", True, None, "Gone", START,
                "demo_start_time")  # fmt: skip
    error = expect(
        PermanentError,
        "deal_not_found",
        client.write_back,
        deal,
        meet_url=MEET_URL,
        calendar_event_id=EVENT_ID,
    )
    assert error.message == "deal 999 not found in HubSpot (deleted or merged?)"


def test_write_back_other_400_is_a_bad_request(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    deal = fetched(client)
    hs.inject_fault(
        "PATCH", DEAL_PATH, 400, body={"status": "error", "message": "Something else is off"}
    )
    error = expect(
        PermanentError,
        "crm_bad_request",
        client.write_back,
        deal,
        meet_url=MEET_URL,
        calendar_event_id=EVENT_ID,
    )
    assert error.message == (
        "HubSpot answered 400 to the write-back to deal 301: Something else is off"
    )


def test_write_back_429_is_retryable_and_changes_nothing(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    deal = fetched(client)
    hs.inject_fault("PATCH", DEAL_PATH, 429, headers={"Retry-After": "2"})
    error = expect(
        RetryableError,
        "crm_rate_limited",
        client.write_back,
        deal,
        meet_url=MEET_URL,
        calendar_event_id=EVENT_ID,
    )
    assert error.retry_after == 2.0
    assert hs.patches == []
    assert client.write_back(deal, meet_url=MEET_URL, calendar_event_id=EVENT_ID) is True


# ---- error mapping ----------------------------------------------------------------------


def test_wrong_token_is_unauthorized(hs: HubSpotEmulator) -> None:
    wrong = make_client(hs.base_url, token="pat-na1-wrong")
    error = expect(PermanentError, "crm_unauthorized", fetched, wrong)
    # The first call of a client asks which portal the token belongs to.
    assert error.message == (
        "HubSpot refused the access token (401) for the read of the account details "
        "(GET /account-info/v3/details): check HUBSPOT_ACCESS_TOKEN"
    )
    assert "pat-na1-wrong" not in error.message
    wrong.close()


def test_missing_scope_is_forbidden(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_fault("GET", DEAL_PATH, 403)
    error = expect(PermanentError, "crm_forbidden", fetched, client)
    assert "deal 301" in error.message
    for scope in (
        "crm.objects.deals.read",
        "crm.objects.deals.write",
        "crm.objects.contacts.read",
        "crm.objects.owners.read",
    ):
        assert scope in error.message


def test_429_with_retry_after(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_fault("GET", DEAL_PATH, 429, headers={"Retry-After": "7"})
    error = expect(RetryableError, "crm_rate_limited", fetched, client)
    assert error.retry_after == 7.0
    assert "ten_secondly_rolling" in error.message  # HubSpot's own message, quoted
    assert "deal 301" in error.message


def test_429_without_retry_after_waits_for_the_burst_window(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    # The emulator's 429 says X-HubSpot-RateLimit-Remaining: 0, Interval-Milliseconds: 10000.
    hs.inject_fault("GET", DEAL_PATH, 429)
    error = expect(RetryableError, "crm_rate_limited", fetched, client)
    assert error.retry_after == 10.0


def test_429_without_any_hint(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    # e.g. a daily limit, with burst calls left in the window
    hs.inject_fault("GET", DEAL_PATH, 429, headers={"X-HubSpot-RateLimit-Remaining": "42"})
    error = expect(RetryableError, "crm_rate_limited", fetched, client)
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(500, {}, None), (502, {}, None), (503, {"Retry-After": "3"}, 3.0)],
)
def test_5xx_is_retryable(
    hs: HubSpotEmulator,
    client: HubSpotClient,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    hs.inject_fault("GET", DEAL_PATH, status, headers=headers)
    error = expect(RetryableError, "crm_unavailable", fetched, client)
    assert error.retryable is True
    assert error.retry_after == retry_after
    assert error.message.startswith(f"HubSpot answered {status} to the read of deal 301: ")
    assert fetched(client).deal_id == "301"  # the fault was for one call only


def test_timeout_is_retryable(hs: HubSpotEmulator) -> None:
    impatient = make_client(hs.base_url, timeout=Timeouts(0.2, 0.5, 5.0))
    hs.inject_delay("GET", DEAL_PATH, 1.5)
    error = expect(RetryableError, "crm_timeout", fetched, impatient)
    assert isinstance(error.__cause__, urllib3.exceptions.TimeoutError)
    assert "deal 301" in error.message
    impatient.close()


def test_connection_refused_is_unreachable() -> None:
    nowhere = make_client(closed_port_url())
    error = expect(RetryableError, "crm_unreachable", fetched, nowhere)
    assert isinstance(error.__cause__, urllib3.exceptions.NewConnectionError)
    assert error.message.startswith("could not reach HubSpot for the read of the account details")
    nowhere.close()


@pytest.mark.parametrize("status", [400, 405, 409])
def test_other_4xx_is_a_bad_request(
    hs: HubSpotEmulator, client: HubSpotClient, status: int
) -> None:
    hs.inject_fault("GET", DEAL_PATH, status)
    error = expect(PermanentError, "crm_bad_request", fetched, client)
    assert error.message.startswith(f"HubSpot answered {status} to the read of deal 301: ")


def test_long_hubspot_messages_are_cut_short(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_fault("GET", DEAL_PATH, 400, body={"status": "error", "message": "x" * 5000})
    error = expect(PermanentError, "crm_bad_request", fetched, client)
    assert len(error.message) < 400


def test_2xx_that_is_not_json_is_retryable(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_fault("GET", DEAL_PATH, 204)  # no body at all
    error = expect(RetryableError, "crm_bad_response", fetched, client)
    assert isinstance(error.__cause__, ValueError)
    hs.inject_fault("GET", DEAL_PATH, 200, body={"id": "301"})  # JSON, but no properties
    expect(RetryableError, "crm_bad_response", fetched, client)


def test_the_token_never_appears_in_an_error(hs: HubSpotEmulator) -> None:
    client = make_client(hs.base_url, timeout=Timeouts(0.2, 0.5, 5.0))
    echo = {"status": "error", "message": f"token {TOKEN} is not welcome"}
    scenarios = [
        lambda: hs.inject_fault("GET", DEAL_PATH, 401, body=echo),
        lambda: hs.inject_fault("GET", DEAL_PATH, 403, body=echo),
        lambda: hs.inject_fault("GET", DEAL_PATH, 429, body=echo),
        lambda: hs.inject_fault("GET", DEAL_PATH, 500, body=echo),
        lambda: hs.inject_fault("GET", DEAL_PATH, 418, body=echo),
        lambda: hs.inject_delay("GET", DEAL_PATH, 1.5),
        lambda: hs.inject_fault("GET", DEAL_PATH, 404, body=echo),
    ]
    errors: list[MiddlewareError] = []
    for arrange in scenarios:
        arrange()
        with pytest.raises(MiddlewareError) as info:
            fetched(client)
        errors.append(info.value)
    with pytest.raises(MiddlewareError) as info:
        fetched(make_client(closed_port_url()))
    errors.append(info.value)
    assert len(errors) == 8
    for error in errors:
        assert TOKEN not in error.message
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
    client.close()


# ---- threads ----------------------------------------------------------------------------


def test_eight_threads_fetching_at_once(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    expected = fetched(client)
    hs.reset_log()
    results: list[Deal] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        try:
            for _ in range(5):
                deal = fetched(client)
                with lock:
                    results.append(deal)
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(results) == 40
    assert all(deal == expected for deal in results)
    # details and the owner read once (before, and cached), then the deal (its contacts
    # embedded) and the contacts per fetch
    assert len(hs.requests) == 40 * 2
    assert DETAILS_PATH not in {r["path"] for r in hs.requests}
    assert {r["status"] for r in hs.requests} == {200}


# ---- the `check` calls ------------------------------------------------------------------


def test_check_token(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    client.check_token()
    assert hs.requests[-1]["path"] == "/crm/v3/owners"
    assert hs.requests[-1]["query"] == {"limit": "1"}
    wrong = make_client(hs.base_url, token="nope")
    expect(PermanentError, "crm_unauthorized", wrong.check_token)
    wrong.close()


def test_get_deal_property(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    meet = client.get_deal_property("demo_meet_url")
    assert meet is not None
    assert (meet["name"], meet["type"], meet["fieldType"]) == ("demo_meet_url", "string", "text")
    assert meet["modificationMetadata"]["readOnlyValue"] is False
    hs.remove_property("demo_meet_url")
    assert client.get_deal_property("demo_meet_url") is None
    hs.inject_fault("GET", r"/crm/v3/properties/", 503)
    expect(RetryableError, "crm_unavailable", client.get_deal_property, "demo_meet_url")


def test_list_pipelines(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.add_stage("enterprise", "3752325848", "Demo Scheduled")
    pipelines = client.list_pipelines()
    assert [p["id"] for p in pipelines] == ["default", "enterprise"]
    stages = {s["id"]: s["label"] for p in pipelines for s in p["stages"]}
    assert stages["demoscheduled"] == "Demo Scheduled"
    assert stages["3752325848"] == "Demo Scheduled"


def test_list_owners_follows_paging_and_keeps_active_ones(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    for n in range(2, 251):  # 249 more active owners: 250 in all, three pages of 100
        hs.add_owner(str(100 + n), f"rep{n}@example.com")
    hs.add_owner("999", "gone@example.com", archived=True)

    owners = client.list_owners()

    assert len(owners) == 250
    assert owners[0]["email"] == "rep@example.com"
    assert "gone@example.com" not in {o["email"] for o in owners}
    assert len({o["id"] for o in owners}) == 250
    listed = [r for r in hs.requests if r["path"] == "/crm/v3/owners"]
    assert [r["query"].get("after") for r in listed] == [None, "100", "200"]


def test_contacts_batch_read_404_means_no_contacts(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.inject_fault(
        "POST", r"/contacts/batch/read$", 404, body={"status": "error", "message": "not found"}
    )
    deal = client.fetch_deal("62515", "301")
    assert deal.contact_emails == () and deal.owner_email == "rep@example.com"


def test_without_the_account_details_the_portal_check_is_skipped(hs: HubSpotEmulator) -> None:
    hs.inject_fault("GET", r"/account-info/v3/details", 404, times=1)
    client = make_client(hs.base_url)
    assert client.fetch_deal("99999", "301").deal_id == "301"  # not refused as another portal
    client.close()
