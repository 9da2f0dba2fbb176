"""The RFC 5176 client against the NAS simulator (pyrad verifies what we send)."""

import pytest

from app.mediation import coa


def _attrs():
    return coa.session_attributes(username="alice", session_id="s-1", framed_ip="10.0.0.5") + \
        coa.rate_attributes("1M/2M")


def test_coa_request_is_authenticated_and_carries_the_rate(nas):
    reply = coa.send(coa.COA_REQUEST, host=nas.host, port=nas.port, secret=nas.secret, attributes=_attrs())
    assert reply.acked and reply.code == coa.COA_ACK
    [request] = nas.requests
    assert request.kind == "coa"
    assert request.authenticator_ok and request.message_authenticator_ok
    assert request.get("User-Name") == "alice"
    assert request.get("Acct-Session-Id") == "s-1"
    assert request.get("Framed-IP-Address") == "10.0.0.5"
    assert request.get("Mikrotik-Rate-Limit") == "1M/2M"
    assert request.get("WISPr-Bandwidth-Max-Up") == 1_000_000
    assert request.get("WISPr-Bandwidth-Max-Down") == 2_000_000


def test_wrong_secret_is_dropped_by_the_nas(nas):
    with pytest.raises(coa.CoaError) as caught:
        coa.send(coa.COA_REQUEST, host=nas.host, port=nas.port, secret="not-the-secret",
                 attributes=_attrs(), timeout=0.2, retries=0)
    assert caught.value.code == "timeout"
    [request] = nas.requests
    assert not request.authenticator_ok and not request.message_authenticator_ok


def test_nak_with_error_cause(nas):
    nas.respond(coa="nak", disconnect="nak", error_cause=503)
    reply = coa.send(coa.DISCONNECT_REQUEST, host=nas.host, port=nas.port, secret=nas.secret, attributes=_attrs())
    assert reply.code == coa.DISCONNECT_NAK and reply.session_not_found
    assert nas.of_kind("disconnect")[0].authenticator_ok


def test_rate_parsing():
    assert coa.parse_rate("2M/512k") == (2_000_000, 512_000)
    assert coa.parse_rate("10M") == (10_000_000, 10_000_000)
    for bad in ("", "fast", "0/1M", "1M/2M/3M", "99999G"):
        with pytest.raises(ValueError):
            coa.parse_rate(bad)
