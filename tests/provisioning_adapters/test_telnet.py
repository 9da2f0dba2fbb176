import threading

import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.telnet import TelnetAdapter

pytestmark = pytest.mark.servers


@pytest.fixture
def device(telnetd):
    telnetd.clear()
    yield telnetd
    telnetd.clear()


def settings(device, **over):
    return {
        "host": device.host, "port": device.port, "username": device.username,
        "password": device.password, "prompt": device.prompt_regex,
        "command_create": "user add {{ username }} {{ plan_code }}\nuser set {{ username }} {{ status }}",
        "command_suspend": "user set {{ username }} suspended",
        "command_resume": "user set {{ username }} active",
        "command_change_plan": "user plan {{ username }} {{ plan_code }}",
        "command_delete": "user del {{ username }}",
        "command_check": "show user nobody-{{ username }}",
        "error_pattern": r"^% ",
        "timeout": 5,
        **over,
    }


def test_lifecycle_over_telnet(device):
    adapter = TelnetAdapter(settings(device))
    assert adapter.insecure
    spec = ServiceSpec(username="alice", plan_code="gold plan; user del bob")
    assert "2 command(s) ok" in adapter.apply("create", spec)
    adapter.apply("create", spec)  # idempotent on the device
    assert device.users == {"alice": {"plan": "gold plan; user del bob", "status": "active"}}
    adapter.apply("suspend", spec)
    assert device.users["alice"]["status"] == "suspended"
    adapter.apply("resume", spec)
    spec.plan_code = "silver"
    adapter.apply("change_plan", spec)
    assert device.users["alice"] == {"plan": "silver", "status": "active"}
    adapter.apply("delete", spec)
    adapter.apply("delete", spec)
    assert device.users == {}
    assert device.commands[0] == "user add alice 'gold plan; user del bob'"
    assert all(ok for _, ok in device.logins)
    # each session ran in its own thread and loop, all finished
    assert not [t for t in threading.enumerate() if t.name == "telnet-session"]


def test_device_errors_and_status_command(device):
    adapter = TelnetAdapter(settings(device, command_suspend="user set ghost suspended"))
    with pytest.raises(AdapterError, match="Invalid command"):
        adapter.apply("suspend", ServiceSpec(username="ghost"))
    adapter = TelnetAdapter(settings(device, error_pattern="", status_command="echo-rc",
                                     status_pattern=r"RC=(\d+)",
                                     command_suspend="user set ghost suspended"))
    with pytest.raises(AdapterError, match="device reported"):
        adapter.apply("suspend", ServiceSpec(username="ghost"))


def test_newline_injection_refused(device):
    adapter = TelnetAdapter(settings(device))
    with pytest.raises(AdapterError, match="control"):
        adapter.apply("create", ServiceSpec(username="eve", plan_code="x\nuser del alice"))
    assert device.commands == []


def test_login_refused_and_check(device):
    with pytest.raises(AdapterError, match="login refused") as err:
        TelnetAdapter(settings(device, password="wrong")).check()
    assert "wrong" not in str(err.value)
    with pytest.raises(AdapterError, match="Invalid command"):
        TelnetAdapter(settings(device)).check()  # 'show user nobody-' is unknown
    assert "login ok" in TelnetAdapter(settings(device, command_check="")).check()


def test_unreachable_and_bad_settings(device):
    from tests.servers._proc import free_port

    with pytest.raises(AdapterError) as err:
        TelnetAdapter(settings(device, port=free_port())).check()
    assert err.value.transient
    with pytest.raises(AdapterError, match="regex"):
        TelnetAdapter(settings(device, prompt="(unclosed"))
    with pytest.raises(AdapterError, match="line breaks"):
        TelnetAdapter(settings(device, username="admin\nexit"))
