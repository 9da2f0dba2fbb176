import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.smtp import SmtpAdapter

pytestmark = pytest.mark.servers


@pytest.fixture
def mailbox(smtps_server):
    smtps_server.clear()
    yield smtps_server
    smtps_server.clear()


def settings(server, **over):
    with open(server.ca_file) as fh:
        ca = fh.read()
    return {"host": "localhost", "port": server.port, "security": "starttls", "ca_pem": ca,
            "username": server.user, "password": server.password,
            "from_address": "prov@isp.example", "to_address": "noc@hosting.example", **over}


def spec(**kw):
    return ServiceSpec(username="alice", password="pw-secret", realm="isp1", plan_code="gold",
                       details={"name": "Alice", "email": "alice@example.net"},
                       resources={"storage": "10 GB"}, **kw)


def test_request_mail_over_verified_starttls(mailbox):
    adapter = SmtpAdapter(settings(mailbox))
    assert "NOOP 250" in adapter.check()
    assert "mailed" in adapter.apply("create", spec())
    adapter.apply("create", spec())  # a retry: same Message-ID
    first, second = mailbox.messages
    assert first["Subject"] == "[isp1] create: alice"
    assert first["To"] == "noc@hosting.example"
    assert first.envelope_to == ["noc@hosting.example"]
    body = first.get_content()
    assert "Plan: gold" in body and "resource storage: 10 GB" in body
    assert "pw-secret" not in body  # the default body carries no password
    assert first["Message-ID"] == second["Message-ID"]
    adapter.apply("suspend", spec())
    assert "Status: suspended" in mailbox.messages[-1].get_content()


def test_header_injection_refused(mailbox):
    adapter = SmtpAdapter(settings(mailbox, subject_template="New: {{ details.name }}"))
    with pytest.raises(AdapterError, match="header injection"):
        adapter.apply("create", ServiceSpec(username="bob",
                                             details={"name": "x\r\nBcc: victim@x.example"}))
    with pytest.raises(AdapterError, match="header injection"):
        SmtpAdapter(settings(mailbox, to_address="a@b.example\r\nBcc: c@d.example"))
    with pytest.raises(AdapterError, match="e-mail address"):
        SmtpAdapter(settings(mailbox, to_address="a@b.example, c@d.example"))
    assert mailbox.messages == []


def test_certificate_verified(mailbox):
    with pytest.raises(AdapterError, match="TLS") as err:
        SmtpAdapter(settings(mailbox, ca_pem="")).check()
    assert not err.value.transient
    # (a refused login is not exercised here: smtps_server's authenticator answers a wrong
    # password with AuthResult(success=False), whose default handled=True sends no reply)


def test_operation_filter_and_plain_server(smtp_server):
    smtp_server.clear()
    adapter = SmtpAdapter({"host": smtp_server.host, "port": smtp_server.port,
                           "security": "none", "from_address": "prov@isp.example",
                           "to_address": "noc@hosting.example", "operations": "create, delete"})
    assert "no mail" in adapter.apply("change_plan", spec())
    adapter.apply("delete", spec())
    assert [m["X-Realmbill-Operation"] for m in smtp_server.messages] == ["delete"]
    smtp_server.clear()
    with pytest.raises(AdapterError, match="unknown operations"):
        SmtpAdapter({"host": "x", "from_address": "a@b.c", "to_address": "a@b.c",
                     "operations": "explode"})
