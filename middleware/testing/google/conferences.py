"""Google Meet conferences on events: ``conferenceData.createRequest`` (honoured only with
``conferenceDataVersion=1``), optionally asynchronous ("pending"), or failing (ref §1.1-1.3)."""

from __future__ import annotations

import base64
import copy
import secrets
import string
from typing import Any

from .responses import ApiError
from .state import EmulatorState, EventRecord, Token

_MEET_ICON = (
    "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
    "logo_meet_2020q4_color_2x_web_512dp.png"
)


class Conferences(EmulatorState):
    """Creating, copying, clearing and (for pending ones) revealing an event's conference."""

    def _apply_conference_data(self, token: Token, record: EventRecord, data: Any) -> None:
        """conferenceData handling for conferenceDataVersion=1 (ref §1.1-1.3)."""
        if data is None:
            self._clear_conference(record)
            return
        if not isinstance(data, dict):
            raise ApiError(400, "invalid", "Invalid conference data.")
        create = data.get("createRequest")
        if isinstance(create, dict) and create:
            request_id = create.get("requestId")
            if request_id is not None and request_id == record.conf_request_id:
                # [DISC] CreateConferenceRequest.requestId: "If an ID provided is the same as for
                # the previous request, the request is ignored."
                return
            solution_type = (create.get("conferenceSolutionKey") or {}).get("type")
            # A bare service account is not a Workspace user with Meet entitlement (ref §3.4).
            if (
                solution_type != "hangoutsMeet"
                or token.subject is None
                or token.subject in self.meet_disabled
            ):
                raise ApiError(400, "invalid", "Invalid conference type value.")
            if not request_id:
                raise ApiError(400, "required", "Missing conference create request id.")
            self._create_conference(record, str(request_id))
            return
        # No createRequest: the client copies existing conference data (e.g. get -> update).
        self._clear_conference(record)
        if data:
            record.resource["conferenceData"] = copy.deepcopy(data)
            video = next(
                (
                    e
                    for e in data.get("entryPoints") or []
                    if isinstance(e, dict) and e.get("entryPointType") == "video"
                ),
                None,
            )
            if (
                video
                and ((data.get("conferenceSolution") or {}).get("key") or {}).get("type")
                == "hangoutsMeet"
            ):
                record.resource["hangoutLink"] = video.get("uri")

    @staticmethod
    def _clear_conference(record: EventRecord) -> None:
        record.resource.pop("conferenceData", None)
        record.resource.pop("hangoutLink", None)
        record.conf_request_id = None
        record.pending_reads_left = 0
        record.pending_result = None

    def _create_conference(self, record: EventRecord, request_id: str) -> None:
        create_request = {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
        if self.conference_fail:
            # "failure": no entry points; conferenceSolution/signature are unset [DISC].
            final: dict = {"createRequest": {**create_request, "status": {"statusCode": "failure"}}}
            link = None
        else:
            code = self._new_meet_code()
            link = f"https://meet.google.com/{code}"
            pin = "".join(secrets.choice(string.digits) for _ in range(13))
            phone_pin = "".join(secrets.choice(string.digits) for _ in range(9))
            # Shape of Google's own sample (ref §1.2): video, more, phone.
            final = {
                "createRequest": {**create_request, "status": {"statusCode": "success"}},
                "entryPoints": [
                    {"entryPointType": "video", "uri": link, "label": f"meet.google.com/{code}"},
                    {
                        "entryPointType": "more",
                        "uri": f"https://tel.meet/{code}?pin={pin}",
                        "pin": pin,
                    },
                    {
                        "entryPointType": "phone",
                        "uri": "tel:+1-555-010-0199",
                        "label": "+1 555-010-0199",
                        "pin": phone_pin,
                        "regionCode": "US",
                    },
                ],
                "conferenceSolution": {
                    "key": {"type": "hangoutsMeet"},
                    "name": "Google Meet",
                    "iconUri": _MEET_ICON,
                },
                "conferenceId": code,
                "signature": base64.b64encode(secrets.token_bytes(48)).decode(),
            }
        record.conf_request_id = request_id
        if self.conference_pending_reads > 0:
            # Creation is asynchronous at Google (ref §1.3): the response says "pending" and
            # carries neither entry points nor hangoutLink until a later events.get.
            record.resource["conferenceData"] = {
                "createRequest": {**create_request, "status": {"statusCode": "pending"}}
            }
            record.resource.pop("hangoutLink", None)
            record.pending_reads_left = self.conference_pending_reads
            record.pending_result = (final, link)
        else:
            self._set_conference(record, final, link)

    @staticmethod
    def _set_conference(record: EventRecord, data: dict, link: str | None) -> None:
        record.resource["conferenceData"] = data
        if link:
            record.resource["hangoutLink"] = link
        else:
            record.resource.pop("hangoutLink", None)
        record.pending_reads_left = 0
        record.pending_result = None

    def _advance_pending(self, record: EventRecord) -> None:
        """events.get on a pending conference: the first ``conference_pending_reads`` gets still see
        "pending", the next one sees the final result."""
        if record.pending_result is None:
            return
        if record.pending_reads_left > 0:
            record.pending_reads_left -= 1
            return
        data, link = record.pending_result
        self._set_conference(record, data, link)
        self._touch(record)

    def _new_meet_code(self) -> str:
        letters = string.ascii_lowercase
        while True:
            code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
            if code not in self._meet_codes:
                self._meet_codes.add(code)
                return code
