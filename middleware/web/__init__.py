"""Thin Flask views over the store and the CRM modules."""
