"""Emulators and fakes the demo and the tests share (shipped, with their own tests in tests/testing/)."""
