"""API use cases: keys (create, revoke, authenticate), idempotent replays, read helpers."""
