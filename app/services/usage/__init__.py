"""Usage mediation: ingest records idempotently, attribute them to accounts, keep rejects."""
