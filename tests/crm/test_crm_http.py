"""The CRM HTTP base (``middleware.crm.http``) through the real HubSpot and Pipedrive clients,
over real sockets: a total deadline per call however the answer trickles in, resets, and
answers that are not the CRM's JSON."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from middleware.crm.hubspot.client import HubSpotClient
from middleware.crm.pipedrive.client import PipedriveClient
from middleware.deadlines import DeadlineExceeded, Timeouts
from middleware.errors import MiddlewareError, PermanentError, RetryableError
from middleware.rules import HubSpotRules, PipedriveRules
from middleware.testing.hubspot import HubSpotEmulator
from middleware.testing.pipedrive import PipedriveEmulator

pytestmark = pytest.mark.timeout(30)

TOKEN = "pat-na1-test-token"
DEAL_PATH = "/crm/v3/objects/deals/301"
#: A read timeout the trickles never trip (one byte every 0.05 s), a short whole-call deadline.
DEADLINE = Timeouts(connect=2.0, read=5.0, total=0.6)


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(access_token=TOKEN) as emulator:
        emulator.add_owner("101", "rep@example.com", "Sam", "Rep")
        emulator.add_deal(
            "301",
            {
                "dealname": "Acme",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": "2030-01-01T10:00:00Z",
            },
        )
        yield emulator


@pytest.fixture
def client(hs: HubSpotEmulator) -> Iterator[HubSpotClient]:
    c = HubSpotClient(
        base_url=hs.base_url, access_token=TOKEN, rules=HubSpotRules(), timeout=DEADLINE
    )
    c.account_details()  # learned once, so each test's fault hits the call it names
    yield c
    c.close()


def fails(kind: type[MiddlewareError], reason: str, call, *args) -> MiddlewareError:
    with pytest.raises(kind) as info:
        call(*args)
    assert info.value.reason == reason, info.value.message
    return info.value


@pytest.mark.parametrize("body_only", [False, True], ids=["whole-answer", "body-only"])
def test_a_trickled_answer_ends_at_the_deadline(
    hs: HubSpotEmulator, client: HubSpotClient, body_only: bool
) -> None:
    hs.inject_trickle("GET", DEAL_PATH, byte_seconds=0.05, body_only=body_only)
    started = time.monotonic()
    error = fails(RetryableError, "crm_timeout", client.fetch_deal, "62515", "301")
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 1.5, elapsed  # the read timeout (5 s) never fired: the deadline did
    assert error.message == (
        "HubSpot did not answer the read of deal 301 in time "
        "(deadline 0.6 s (connect 2 s, read 5 s))"
    )
    assert client.fetch_deal("62515", "301").name == "Acme"  # the client is fine afterwards


def test_a_slow_but_timely_answer_is_not_cut(hs: HubSpotEmulator) -> None:
    patient = HubSpotClient(
        base_url=hs.base_url,
        access_token=TOKEN,
        rules=HubSpotRules(),
        timeout=Timeouts(connect=2.0, read=5.0, total=20.0),
    )
    hs.inject_trickle("GET", "/account-info/", byte_seconds=0.001)
    assert patient.account_details().portal_id == "62515"
    patient.close()


def test_the_deadline_covers_a_silent_server_too(
    hs: HubSpotEmulator, client: HubSpotClient
) -> None:
    hs.inject_delay("GET", DEAL_PATH, 3.0)
    started = time.monotonic()
    fails(RetryableError, "crm_timeout", client.fetch_deal, "62515", "301")
    assert time.monotonic() - started < 1.5  # the read timeout is 5 s: the deadline ended it


def test_a_reset_connection_is_unreachable(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_reset("GET", DEAL_PATH)
    error = fails(RetryableError, "crm_unreachable", client.fetch_deal, "62515", "301")
    assert "reset by peer" in error.message and TOKEN not in error.message


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 409])
def test_an_answer_that_is_not_json_is_a_bad_response(
    hs: HubSpotEmulator, client: HubSpotClient, status: int
) -> None:
    hs.inject_garbage("GET", DEAL_PATH, status=status)
    error = fails(RetryableError, "crm_bad_response", client.fetch_deal, "62515", "301")
    assert error.message.startswith(
        f"HubSpot answered {status} to the read of deal 301 with a body that is not JSON"
    )
    assert "<html>" in error.message


def test_a_proxy_404_page_is_not_a_deleted_deal(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    # HubSpot's own 404 is JSON and means the deal is gone; a page from something in between
    # must not make the pipeline cancel a live meeting.
    hs.inject_garbage("GET", DEAL_PATH, status=404)
    fails(RetryableError, "crm_bad_response", client.fetch_deal, "62515", "301")
    hs.inject_fault("GET", DEAL_PATH, 404)
    fails(PermanentError, "deal_not_found", client.fetch_deal, "62515", "301")


@pytest.mark.parametrize(
    ("status", "reason"), [(503, "crm_unavailable"), (429, "crm_rate_limited")]
)
def test_statuses_that_speak_for_themselves_keep_their_reason(
    hs: HubSpotEmulator, client: HubSpotClient, status: int, reason: str
) -> None:
    hs.inject_garbage("GET", DEAL_PATH, status=status)
    fails(RetryableError, reason, client.fetch_deal, "62515", "301")


def test_408_is_a_timeout(hs: HubSpotEmulator, client: HubSpotClient) -> None:
    hs.inject_fault("GET", DEAL_PATH, 408)
    fails(RetryableError, "crm_timeout", client.fetch_deal, "62515", "301")


def test_the_account_probe_takes_any_404(hs: HubSpotEmulator) -> None:
    client = HubSpotClient(base_url=hs.base_url, access_token=TOKEN, rules=HubSpotRules())
    hs.inject_garbage("GET", "/account-info/", status=404)
    assert client.account_details().portal_id is None  # not served here: check skipped
    client.close()


def test_pipedrive_runs_under_the_same_deadline() -> None:
    with PipedriveEmulator() as pd:
        pd.add_user(7, "rep@seller.example")
        pd.add_deal(1, stage_id=3, owner_id=7, person_id=None)
        client = PipedriveClient(
            base_url=pd.base_url,
            api_token=pd.api_token,
            rules=PipedriveRules(trigger_stage_ids=(3,)),
            timeout=DEADLINE,
        )
        pd.trickle_next(0.05, path="/api/v2/deals/1")
        started = time.monotonic()
        error = fails(RetryableError, "crm_timeout", client.fetch_deal, "8087566", "1")
        assert time.monotonic() - started < 1.5
        assert error.message.startswith("Pipedrive did not answer the read of deal 1 in time")
        assert client.fetch_deal("8087566", "1").owner_email == "rep@seller.example"
        client.close()


def test_deadline_exceeded_is_a_timeout_error() -> None:
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert str(DeadlineExceeded(0.5)) == "the call did not finish within its 0.5 s deadline"


# ---- the environment, read once per session -------------------------------------------------


def _client(hs: HubSpotEmulator) -> HubSpotClient:
    return HubSpotClient(base_url=hs.base_url, access_token=TOKEN, rules=HubSpotRules())


def test_the_environment_proxy_is_honoured(
    hs: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = _client(hs)
    fails(RetryableError, "crm_unreachable", proxied.account_details)
    assert hs.requests == []  # it went to the proxy, not to HubSpot
    proxied.close()

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = _client(hs)
    assert direct.account_details().portal_id == "62515"
    direct.close()


def test_a_netrc_entry_never_replaces_the_token(
    hs: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = _client(hs)
    assert client.fetch_deal("62515", "301").deal_id == "301"
    assert all(r["authorization_ok"] for r in hs.requests)
    client.close()
