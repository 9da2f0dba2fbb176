import os
from pathlib import Path

import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.ftp import FtpAdapter, FtpConnection

pytestmark = pytest.mark.servers


def settings(ftpd, **over):
    return {"host": ftpd.host, "port": ftpd.port, "username": ftpd.username,
            "password": ftpd.password, "ca_pem": ftpd.ca_pem, **over}


def spec(username="alice", **kw):
    return ServiceSpec(username=username, password="pw", realm="r1", plan_code="gold", **kw)


def test_per_user_files_over_ftps(ftpd):
    adapter = FtpAdapter(settings(ftpd))
    assert "FTPS" in adapter.check()
    assert "uploaded" in adapter.apply("create", spec())
    path = Path(ftpd.root) / "alice.conf"
    assert path.read_text() == "username=alice\nstatus=active\nplan=gold\n"
    adapter.apply("suspend", spec())
    assert "status=suspended" in path.read_text()
    adapter.apply("delete", spec())
    assert not path.exists()
    assert "absent" in adapter.apply("delete", spec())
    assert not [n for n in os.listdir(ftpd.root) if n.endswith(".tmp")]


def test_user_list_is_idempotent_per_user(ftpd):
    adapter = FtpAdapter(settings(ftpd, mode="user_list", list_file="list.txt", tls=False))
    adapter.apply("create", spec("bob"))
    adapter.apply("create", spec("alice"))
    assert "unchanged" in adapter.apply("create", spec("alice"))
    adapter.apply("change_plan", ServiceSpec(username="alice", plan_code="silver"))
    text = (Path(ftpd.root) / "list.txt").read_text()
    assert text == "alice:active:silver\nbob:active:gold\n"
    adapter.apply("delete", spec("bob"))
    adapter.apply("delete", spec("bob"))
    assert (Path(ftpd.root) / "list.txt").read_text() == "alice:active:silver\n"


def test_line_and_path_injection_refused(ftpd):
    adapter = FtpAdapter(settings(ftpd, mode="user_list", list_file="inj.txt",
                                  line_template="{{ username }}:{{ details.name }}"))
    with pytest.raises(AdapterError, match="control"):
        adapter.apply("create", spec(details={"name": "x\nroot:admin"}))
    adapter = FtpAdapter(settings(ftpd, filename_template="{{ details.name }}"))
    with pytest.raises(AdapterError, match="plain file name"):
        adapter.apply("create", spec(details={"name": "../../etc/passwd"}))
    assert not (Path(ftpd.root) / "inj.txt").exists()


def test_certificate_is_verified_and_bad_login(ftpd):
    with open(ftpd.other_ca_file) as fh:
        other = fh.read()
    with pytest.raises(AdapterError, match="TLS") as err:
        FtpAdapter(settings(ftpd, ca_pem=other)).check()
    assert not err.value.transient
    with pytest.raises(AdapterError, match="login") as err:
        FtpAdapter(settings(ftpd, password="nope")).check()
    assert "nope" not in str(err.value)


def test_connection_download_missing(ftpd):
    conn = FtpConnection(host=ftpd.host, port=ftpd.port, username=ftpd.username,
                         password=ftpd.password, ca_pem=ftpd.ca_pem)
    assert conn.download("/missing.txt") is None
    conn.upload("/x.bin", b"\x00\x01")
    assert conn.download("/x.bin") == b"\x00\x01"


def test_bad_settings(ftpd):
    with pytest.raises(AdapterError, match="remote_dir"):
        FtpAdapter(settings(ftpd, remote_dir="rel"))
    with pytest.raises(AdapterError, match="list_file"):
        FtpAdapter(settings(ftpd, mode="user_list", list_file="../x"))
    with pytest.raises(AdapterError, match="port"):
        FtpAdapter(settings(ftpd, port="abc"))
