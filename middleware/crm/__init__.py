"""One module per CRM: webhook verification and parsing (no I/O) plus an API client."""
