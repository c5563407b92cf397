"""A local HTTP emulator of the part of HubSpot's CRM v3 API that the middleware uses.

The service's real ``requests``-based HubSpot client runs against it over real sockets in the
integration tests (the Warehouse / stripe-mock pattern, see ``shared/STYLE.md``): point
``HUBSPOT_API_BASE_URL`` at :attr:`HubSpotEmulator.base_url`, seed state with ``add_*``, then
assert on state (:meth:`HubSpotEmulator.deal_properties`, :attr:`HubSpotEmulator.patches`).

Response and error shapes follow HubSpot's documentation; the facts and their sources are
collected in ``shared/reference/crm-webhooks-and-apis.md`` section 1.7:

* ``GET  /crm/v3/objects/deals/{dealId}`` (``properties``, ``associations``, ``archived``)
* ``PATCH /crm/v3/objects/deals/{dealId}`` (validated against the deal property definitions)
* ``GET  /crm/v3/objects/deals/{dealId}/associations/contacts`` and the v4 equivalent
  ``GET /crm/v4/objects/deals/{dealId}/associations/contacts`` (paged with ``limit``/``after``)
* ``GET  /account-info/v3/details`` and ``/account-info/2026-03/details`` (the token's portal)
* ``GET  /crm/v3/objects/contacts/{contactId}`` and ``POST /crm/v3/objects/contacts/batch/read``
* ``GET  /crm/v3/owners/{ownerId}`` (``idProperty``, ``archived``) and ``GET /crm/v3/owners``
* ``GET  /crm/v3/properties/deals/{propertyName}``
* ``GET  /crm/v3/pipelines/deals`` and ``GET /crm/v3/pipelines/deals/{pipelineId}``

Every endpoint needs ``Authorization: Bearer <access_token>``. Faults (429, 5xx, ...) and
delays can be injected per method and path regex; HubSpot's own 423, 477 and 429 answers have
helpers (``answer_locked``, ``answer_migrating``, ``answer_daily_limit``,
``answer_ten_secondly_limit``), and :meth:`HubSpotEmulator.add_validation_rule` makes deal
PATCHes fail as an account validation rule does. All state sits behind one lock, so tests may
poke at it from their own thread while the service's worker threads call the API.

Example::

    with HubSpotEmulator() as hs:
        hs.add_owner("101", "rep@example.com")
        hs.add_contact("201", "buyer@example.com", "Ada", "Lovelace")
        hs.add_deal("301", {"dealname": "Acme", "dealstage": "demoscheduled",
                            "hubspot_owner_id": "101"}, contact_ids=["201"])
        hs.inject_fault("PATCH", r"/crm/v3/objects/deals/301", 429, headers={"Retry-After": "1"})
        ...  # run the service with HUBSPOT_API_BASE_URL=hs.base_url
        assert hs.deal_properties("301")["demo_meet_url"].startswith("https://meet.google.com/")

Layout: ``emulator`` puts the parts together and starts the server (``server``); ``state``
holds what they share, ``model`` the records, ``wire`` requests, answers and error envelopes;
``seeding`` and ``faults`` (with ``limits``) are the test-side API; ``dispatch`` answers a
request through the route groups ``deals``, ``contacts``, ``owners``, ``catalog`` (properties
and pipelines) and ``account``.
"""

from middleware.testing.hubspot.emulator import HubSpotEmulator

__all__ = ["HubSpotEmulator"]
