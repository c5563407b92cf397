"""CRM → Google Meet middleware: demo-stage deals become Calendar events with Meet links."""

__version__ = "0.1.0"
