"""Emulators and in-memory fakes shipped with the service, shared by ``middleware demo`` and the
test suite: ``google`` (Google's token endpoint + Calendar v3 over real sockets), ``hubspot``
(HubSpot's CRM API over real sockets) and ``memory`` (in-process fakes behind the pipeline's
gateway interfaces). Each has its own tests in ``tests/testing/``."""
