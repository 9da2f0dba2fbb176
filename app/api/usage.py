"""Usage: batch ingest of up to 10,000 records per call, idempotent by record id."""

from __future__ import annotations

from app.services.api.usage_batch import MAX_RECORDS, ingest_api_batch

from .registry import endpoint
from .schemas import DATETIME, DECIMAL, obj, text

RECORD = obj({
    "id": text(180, 1), "event_time": DATETIME, "start": DATETIME,
    "username": text(200), "ip": text(45), "nas": text(100), "session_id": text(100),
    "duration_s": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
    "bytes_in": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
    "bytes_out": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
    "quantity": DECIMAL, "unit": text(20, 1), "destination": text(100),
}, ["id", "event_time"])
# Enforced as a whole: the batch's shape and each record's id; the rest is checked per
# record, so one bad record is reported as rejected instead of refusing the batch.
ENFORCED = obj({"records": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": {
    "type": "object", "required": ["id"], "properties": RECORD["properties"], "additionalProperties": False}}},
    ["records"])
for _name in ("event_time", "start"):
    ENFORCED["properties"]["records"]["items"]["properties"][_name] = {"type": "string", "maxLength": 40}
DOC = obj({"records": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": RECORD}}, ["records"])
ERROR = {"type": "object", "properties": {
    "index": {"type": "integer"}, "id": {"type": "string", "nullable": True},
    "field": {"type": "string", "nullable": True}, "code": {"type": "string"}}}
RESULT = obj({
    "import_id": {"type": "integer"}, "accepted": {"type": "integer"}, "duplicates": {"type": "integer"},
    "rejected": {"type": "integer"}, "errors": {"type": "array", "items": ERROR},
    "duplicate_ids": {"type": "array", "items": {"type": "string"}},
}, ["accepted", "duplicates", "rejected", "errors"], closed=False)


@endpoint("/usage/batch", "POST", summary="Ingest usage records", scope="usage:write", tag="usage",
          request=ENFORCED, request_doc=DOC, response=RESULT, status=200,
          example={"records": [{"id": "cdr-0001", "username": "alice", "event_time": "2026-10-05T10:00:00Z",
                                "duration_s": 600, "bytes_in": 1000000, "bytes_out": 250000}]},
          description="Up to 10,000 records per call. A record id already stored (in this or an "
                      "earlier call) is a duplicate and changes nothing. Records that cannot be "
                      "read or attributed to an account are rejected with their index and a code.")
def api_ingest_usage(body):
    result = ingest_api_batch(body["records"])
    return {"import_id": result.import_id, "accepted": result.accepted, "duplicates": result.duplicates,
            "rejected": result.rejected, "errors": result.errors, "duplicate_ids": result.duplicate_ids}
