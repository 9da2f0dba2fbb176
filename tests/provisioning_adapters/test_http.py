import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.http import HttpAdapter

pytestmark = pytest.mark.servers

CREATE = """PUT /subscribers/{{ username }}
{"name": {{ details.name }}, "plan": {{ plan_code }}, "active": {{ status == "active" }},
 "limit": {{ attributes.rate_limit }}}"""


def settings(http_echo, **over):
    return {"base_url": http_echo.url, "ca_pem": http_echo.ca_pem, "token": "tok-123",
            "headers": "X-Realm: {{ realm }}", "request_create": CREATE,
            "request_delete": "DELETE /subscribers/{{ username }}", **over}


@pytest.fixture
def echo(http_echo):
    http_echo.clear()
    yield http_echo
    http_echo.clear()


def test_json_body_and_path_are_escaped(echo):
    adapter = HttpAdapter(settings(echo))
    hostile = 'Eve", "plan": "free"}, {"x": "\\u0000'
    spec = ServiceSpec(username="eve+1", realm="isp1", plan_code="gold",
                       details={"name": hostile}, attributes={"rate_limit": "10M/2M"})
    assert "-> 200" in adapter.apply("create", spec)
    req = echo.requests[-1]
    assert req.method == "PUT" and req.path == "/subscribers/eve%2B1"
    assert req.json() == {"name": hostile, "plan": "gold", "active": True, "limit": "10M/2M"}
    assert req.headers["Authorization"] == "Bearer tok-123"
    assert req.headers["X-Realm"] == "isp1"
    assert req.headers["Content-Type"] == "application/json"
    # not configured: no request at all
    assert adapter.apply("suspend", spec) == "suspend: nothing configured"
    assert len(echo.requests) == 1


def test_status_handling(echo):
    adapter = HttpAdapter(settings(echo))
    spec = ServiceSpec(username="gone")
    echo.respond("DELETE", "/subscribers/gone", 404, {"error": "not found"})
    assert "already absent" in adapter.apply("delete", spec)
    echo.respond("PUT", "/subscribers/gone", 503, {"error": "busy"})
    with pytest.raises(AdapterError, match="503") as err:
        adapter.apply("create", spec)
    assert err.value.transient
    echo.respond("PUT", "/subscribers/gone", 422, {"error": "bad"})
    with pytest.raises(AdapterError, match="422") as err:
        adapter.apply("create", spec)
    assert not err.value.transient
    assert "tok-123" not in str(err.value)


def test_header_injection_refused(echo):
    adapter = HttpAdapter(settings(echo, headers="X-Name: {{ details.name }}"))
    with pytest.raises(AdapterError, match="control"):
        adapter.apply("create", ServiceSpec(username="a", details={"name": "x\r\nX-Admin: 1"}))
    assert echo.requests == []


def test_tls_verified(echo):
    with open(echo.other_ca_file) as fh:
        other = fh.read()
    with pytest.raises(AdapterError, match="certificate") as err:
        HttpAdapter(settings(echo, ca_pem=other)).check()
    assert not err.value.transient
    assert "-> 200" in HttpAdapter(settings(echo)).check()


def test_bad_settings(echo):
    with pytest.raises(AdapterError, match="https"):
        HttpAdapter(settings(echo, base_url="http://127.0.0.1:1"))
    HttpAdapter(settings(echo, base_url="http://127.0.0.1:1", allow_plain_http=True))
    with pytest.raises(AdapterError, match="METHOD"):
        HttpAdapter(settings(echo, request_create="FETCH /x"))
    with pytest.raises(AdapterError, match="headers"):
        HttpAdapter(settings(echo, headers="Bad Header: x"))
    with pytest.raises(AdapterError, match="JSON"):
        HttpAdapter(settings(echo, request_create="POST /x\n{broken")).apply(
            "create", ServiceSpec(username="a"))
    from tests.servers._proc import free_port

    with pytest.raises(AdapterError) as err:
        HttpAdapter(settings(echo, base_url=f"https://127.0.0.1:{free_port()}")).check()
    assert err.value.transient
