"""The realm's configured actions for an event (filled in by the event-trigger feature)."""

from __future__ import annotations


def run_actions(event) -> None:
    """Run every enabled action the realm attached to ``event.type``."""
    return None
