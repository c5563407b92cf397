"""The emulators' wire faults (``middleware.testing.delivery``): answers trickled byte by byte,
connections reset, answers that are not JSON; over real sockets, with plain clients."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from middleware.testing.delivery import Delivery
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.testing.pipedrive import PipedriveEmulator
from tests.testing.google_client import REP, event_body, new_id

pytestmark = pytest.mark.timeout(60)

TOKEN = "pat-na1-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEAL = "/crm/v3/objects/deals/301"


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(access_token=TOKEN) as emu:
        emu.add_deal("301", {"dealname": "Acme", "dealstage": "demoscheduled"})
        yield emu


def raw_get(base_url: str, path: str, headers: dict[str, str]) -> tuple[list[float], bytes]:
    """GET ``path`` over a plain socket; the arrival time of each chunk and all bytes."""
    host, port = base_url.split("//")[1].rstrip("/").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    start = time.monotonic()
    arrivals: list[float] = []
    data = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while chunk := sock.recv(65536):
            arrivals.append(time.monotonic() - start)
            data += chunk
    return arrivals, data


def split(answer: bytes) -> tuple[bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def test_a_delivery_either_trickles_or_resets() -> None:
    for bad in ({}, {"reset": True, "byte_seconds": 0.1}, {"byte_seconds": -1.0}):
        with pytest.raises(ValueError):
            Delivery(**bad)  # type: ignore[arg-type]


# ---- HubSpot ---------------------------------------------------------------------------------


def test_hubspot_trickles_the_whole_answer_byte_by_byte(hs: HubSpotEmulator) -> None:
    _, whole = raw_get(hs.base_url, DEAL, AUTH)
    hs.inject_trickle("GET", DEAL, byte_seconds=0.002)
    arrivals, trickled = raw_get(hs.base_url, DEAL, AUTH)
    assert split(trickled)[0].startswith(b"HTTP/1.1 200")
    assert json.loads(split(trickled)[1]) == json.loads(split(whole)[1])
    assert arrivals[0] >= 0.002  # not even the status line came at once
    assert len(arrivals) > len(trickled) / 4  # it came in many small pieces
    assert arrivals[-1] >= len(trickled) * 0.002 * 0.8
    assert hs.requests[-1]["wire_fault"] is True
    assert raw_get(hs.base_url, DEAL, AUTH)[0][-1] < 1.0  # used up: the next one is whole


def test_hubspot_trickles_only_the_body(hs: HubSpotEmulator) -> None:
    hs.inject_trickle("GET", DEAL, byte_seconds=0.01, body_only=True)
    arrivals, answer = raw_get(hs.base_url, DEAL, AUTH)
    head, body = split(answer)
    assert arrivals[0] < 0.5 and head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["id"] == "301"
    assert arrivals[-1] >= len(body) * 0.01 * 0.8


def test_hubspot_resets_before_or_after_carrying_the_request_out(hs: HubSpotEmulator) -> None:
    patch = {"properties": {"dealname": "Renamed"}}
    hs.inject_reset("PATCH", DEAL)
    with pytest.raises(requests.ConnectionError, match="reset by peer"):
        requests.patch(hs.base_url + DEAL, json=patch, headers=AUTH, timeout=5)
    assert hs.deal_properties("301")["dealname"] == "Acme"  # not carried out
    hs.inject_reset("PATCH", DEAL, after_processing=True)
    with pytest.raises(requests.ConnectionError, match="reset by peer"):
        requests.patch(hs.base_url + DEAL, json=patch, headers=AUTH, timeout=5)
    assert hs.deal_properties("301")["dealname"] == "Renamed"  # carried out, answer lost
    assert requests.get(hs.base_url + DEAL, headers=AUTH, timeout=5).status_code == 200


def test_hubspot_answers_garbage(hs: HubSpotEmulator) -> None:
    patch = {"properties": {"dealname": "Renamed"}}
    hs.inject_garbage("PATCH", DEAL, status=404, times=2)
    for _ in range(2):
        answer = requests.patch(hs.base_url + DEAL, json=patch, headers=AUTH, timeout=5)
        assert answer.status_code == 404 and answer.headers["Content-Type"] == "text/html"
        assert answer.text.startswith("<html>")
        with pytest.raises(ValueError):
            answer.json()
    assert hs.deal_properties("301")["dealname"] == "Acme"
    hs.inject_garbage("PATCH", DEAL, after_processing=True, body=b"oops")
    answer = requests.patch(hs.base_url + DEAL, json=patch, headers=AUTH, timeout=5)
    assert (answer.status_code, answer.text) == (200, "oops")
    assert hs.deal_properties("301")["dealname"] == "Renamed"


def test_stopping_the_emulator_ends_a_trickle(hs: HubSpotEmulator) -> None:
    hs.inject_trickle("GET", DEAL, byte_seconds=5.0)
    done = threading.Event()

    def read() -> None:
        raw_get(hs.base_url, DEAL, AUTH)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    time.sleep(0.3)
    started = time.monotonic()
    hs.stop()
    assert done.wait(5) and time.monotonic() - started < 5


# ---- Google ----------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emulator:
        yield emulator
        assert emulator.internal_errors == []


def token(emu: GoogleEmulator) -> str:
    """A token for REP, minted by the emulator's token endpoint (google-auth)."""
    from tests.testing.google_client import make_creds

    creds = make_creds(emu)
    import google.auth.transport.requests as transport

    creds.refresh(transport.Request())
    return str(creds.token)


def calendar_url(emu: GoogleEmulator, path: str = "") -> str:
    return f"{emu.base_url}calendar/v3/calendars/primary/events{path}"


def test_google_trickles_an_answer(emu: GoogleEmulator) -> None:
    bearer = {"Authorization": f"Bearer {token(emu)}"}
    body = event_body(new_id())
    assert requests.post(calendar_url(emu), json=body, headers=bearer, timeout=5).ok
    path = f"/calendar/v3/calendars/primary/events/{body['id']}"
    _, whole = raw_get(emu.base_url, path, bearer)
    emu.inject_trickle("get", 0.002)
    arrivals, trickled = raw_get(emu.base_url, path, bearer)
    assert json.loads(split(trickled)[1])["id"] == json.loads(split(whole)[1])["id"] == body["id"]
    assert arrivals[0] >= 0.002 and arrivals[-1] >= len(trickled) * 0.002 * 0.8
    assert emu.requests[-1]["wire_fault"] is True


def test_google_resets_the_token_endpoint_and_calendar(emu: GoogleEmulator) -> None:
    emu.inject_reset("token")
    with pytest.raises(Exception, match="reset by peer"):
        token(emu)
    bearer = {"Authorization": f"Bearer {token(emu)}"}
    body = event_body(new_id())
    emu.inject_reset("insert", after_processing=True)
    with pytest.raises(requests.ConnectionError, match="reset by peer"):
        requests.post(calendar_url(emu), json=body, headers=bearer, timeout=5)
    assert emu.event(REP, body["id"]) is not None  # made; the answer was lost
    emu.inject_reset("insert")
    other = event_body(new_id())
    with pytest.raises(requests.ConnectionError, match="reset by peer"):
        requests.post(calendar_url(emu), json=other, headers=bearer, timeout=5)
    assert emu.event(REP, other["id"]) is None


def test_google_answers_garbage(emu: GoogleEmulator) -> None:
    bearer = {"Authorization": f"Bearer {token(emu)}"}
    body = event_body(new_id())
    emu.inject_garbage("insert")
    answer = requests.post(calendar_url(emu), json=body, headers=bearer, timeout=5)
    assert answer.status_code == 200 and answer.text.startswith("<html>")
    assert emu.event(REP, body["id"]) is None
    emu.inject_garbage("insert", status=502, body=b"upstream", after_processing=True)
    answer = requests.post(calendar_url(emu), json=body, headers=bearer, timeout=5)
    assert (answer.status_code, answer.text) == (502, "upstream")
    assert emu.event(REP, body["id"]) is not None
    emu.inject_garbage("token", body=b"not a token")
    with pytest.raises(Exception):  # noqa: B017 - google-auth's own failure on a str body
        token(emu)


def test_clear_faults_drops_wire_faults(emu: GoogleEmulator) -> None:
    emu.inject_garbage("token", times=5)
    emu.inject_trickle("insert", 1.0)
    emu.clear_faults()
    bearer = {"Authorization": f"Bearer {token(emu)}"}
    started = time.monotonic()
    assert requests.post(calendar_url(emu), json=event_body(new_id()), headers=bearer).ok
    assert time.monotonic() - started < 2


# ---- Pipedrive -------------------------------------------------------------------------------


def test_pipedrive_trickles_an_answer() -> None:
    with PipedriveEmulator() as pd:
        pd.add_user(7, "rep@seller.example")
        headers = {"x-api-token": pd.api_token}
        _, whole = raw_get(pd.base_url, "/v1/users/7", headers)
        pd.trickle_next(0.002, path="/v1/users/")
        arrivals, trickled = raw_get(pd.base_url, "/v1/users/7", headers)
    assert json.loads(split(trickled)[1]) == json.loads(split(whole)[1])
    assert arrivals[0] >= 0.002 and arrivals[-1] >= len(trickled) * 0.002 * 0.8
