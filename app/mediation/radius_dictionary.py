"""The pyrad dictionary of Realmbill's RADIUS attributes (the file ``dictionary`` beside this module).

It defines the standard authentication and accounting attributes (RFC 2865,
2866, 2869), Error-Cause for CoA / Disconnect (RFC 5176) and MikroTik's vendor
attributes (vendor 14988: Mikrotik-Rate-Limit, limits, address lists). The file
is named ``dictionary`` so the package data rule ``dictionary*`` ships it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyrad.dictionary import Dictionary

DICTIONARY_PATH = Path(__file__).with_name("dictionary")


@cache
def load_dictionary() -> Dictionary:
    """The parsed dictionary (read once per process; treat it as read-only)."""
    return Dictionary(str(DICTIONARY_PATH))
