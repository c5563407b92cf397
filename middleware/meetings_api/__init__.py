"""The meetings API: Meet meetings made, changed and cancelled without a CRM, recurring too.

A meeting is another provider (``api``) behind the CRM seam, not a second pipeline: its desired
state is a row of the store (``store/meetings.py``), each change is stored with an event in one
transaction, and the same worker, lifecycle, retries, parks and admin replay bring Google to
it. Its parts: ``recurrence.py`` (RRULE checks), ``schemas.py`` (the JSON in and out, also the
OpenAPI document's), ``plan.py`` (a meeting → the Calendar spec and the "deal" the lifecycle
reads), ``client.py`` (the provider's client: read the row, write the link back),
``inputs.py`` (the input as stored values), ``changes.py`` (create, change, cancel over the
store), ``keys.py`` (API keys and scopes).
"""
