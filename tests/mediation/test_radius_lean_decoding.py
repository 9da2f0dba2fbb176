"""The accounting server reads Accounting-Requests from their bytes; pyrad's decoding agrees."""

from pyrad.packet import AcctPacket

from app.mediation.radius_acct_server import AccountingServer, _attributes, _Request
from app.mediation.radius_dictionary import load_dictionary

SECRET = b"lean-secret-1"


def _server():
    return AccountingServer("127.0.0.1", 0, {"127.0.0.1": SECRET}, lambda events: None)


def _request(**attributes) -> bytes:
    pkt = AcctPacket(dict=load_dictionary(), secret=SECRET, **attributes)
    pkt.AddAttribute("Proxy-State", b"first")
    pkt.AddAttribute("Proxy-State", b"second")
    return pkt.RequestPacket()


def test_attributes_and_reply_match_pyrad():
    raw = _request(
        Acct_Status_Type="Interim-Update", Acct_Session_Id="s-1", User_Name="alice@visp1.example",
        NAS_IP_Address="10.0.0.1", NAS_Identifier="bras-1", Framed_IP_Address="100.64.0.9",
        Acct_Input_Octets=4_000_000_000, Acct_Output_Octets=12, Acct_Input_Gigawords=3,
        Acct_Output_Gigawords=0, Acct_Session_Time=600, Event_Timestamp=1_700_000_000,
        Acct_Delay_Time=2, Called_Station_Id="ignored",
    )
    server = _server()
    try:
        lean = _Request(raw, SECRET, _attributes(raw))
        full = AcctPacket(packet=raw, secret=SECRET, dict=load_dictionary())
        assert server._read(lean) == server._read(full)
        assert server._read(lean)["Acct-Status-Type"] == "Interim-Update"
        assert server._read(lean)["Framed-IP-Address"] == "100.64.0.9"
        assert server._reply(lean) == server._reply(full)
        assert b"first" in server._reply(lean) and b"second" in server._reply(lean)
    finally:
        server.server_close()


def test_an_undecodable_value_becomes_a_reject_with_the_packet_rendered():
    raw = bytearray(_request(Acct_Status_Type="Start", Acct_Session_Id="s-2", User_Name="bob"))
    # Make Acct-Status-Type (an integer) 2 bytes long: it cannot be decoded.
    offsets = _attributes(bytes(raw))
    pos = next(p for kind, p, _ in offsets if kind == 40)
    del raw[pos + 4 : pos + 6]
    raw[pos + 1] = 4
    raw[2:4] = len(raw).to_bytes(2, "big")
    raw = bytes(raw)
    server = _server()
    try:
        result = server._event(_Request(raw, SECRET, _attributes(raw)), "127.0.0.1", 1_700_000_000.0)
        assert result.__class__.__name__ == "Reject"
        assert result.code == "bad_value" and result.field == "Acct-Status-Type"
        assert "Acct-Session-Id" in result.raw
    finally:
        server.server_close()
