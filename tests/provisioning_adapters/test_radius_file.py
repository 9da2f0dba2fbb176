import os
from pathlib import Path

import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.radius_file import RadiusFileAdapter, quote, unquote

pytestmark = pytest.mark.servers

HOSTILE_PW = "p\"w\\'x%{User-Name}`id`$(id)"


def adapter_for(freeradius, **over):
    return RadiusFileAdapter({
        "path": freeradius.users_file,
        "plan_rate_limits": "gold: 10M/10M\nsilver: 2M/1M",
        **over,
    })


def apply(freeradius, adapter, operation, spec, reload=True):
    summary = adapter.apply(operation, spec)
    if reload:
        freeradius.reload()
    return summary


def gold(username="alice", **kw):
    base = dict(password=HOSTILE_PW, realm="isp1", plan_code="gold", status="active",
                attributes={"framed_ip": "10.0.0.5", "session_timeout": 3600,
                            "simultaneous_use": 1})
    base.update(kw)
    return ServiceSpec(username=username, **base)


def test_quote_roundtrip_and_control_characters():
    for value in ["plain", "it's", "back\\slash", HOSTILE_PW]:
        assert unquote(quote(value)) == value
    with pytest.raises(AdapterError):
        quote("line\nbreak")


def test_freeradius_accepts_active_and_rejects_suspended(freeradius):
    Path(freeradius.users_file).write_text("# hand-written content stays\n")
    adapter = adapter_for(freeradius)
    s = gold()
    assert "added" in apply(freeradius, adapter, "create", s)
    accepted, reply = freeradius.authenticate("alice", HOSTILE_PW)
    assert accepted
    assert reply == {"Framed-IP-Address": "10.0.0.5", "Session-Timeout": "3600",
                     "Mikrotik-Rate-Limit": "10M/10M"}
    assert freeradius.authenticate("alice", "wrong")[0] is False
    # %{...} is not expanded: the literal User-Name is not the password
    assert freeradius.authenticate("alice", "p\"w\\'xalice`id`$(id)")[0] is False

    before = Path(freeradius.users_file).read_text()
    assert "unchanged" in apply(freeradius, adapter, "create", s, reload=False)  # idempotent
    assert Path(freeradius.users_file).read_text() == before

    # a second user, then suspend alice (no password needed to keep the entry right)
    apply(freeradius, adapter, "create", gold("bob", password="bob-pw", plan_code="silver",
                                              attributes={}), reload=False)
    apply(freeradius, adapter, "suspend", gold(password=None))
    assert freeradius.authenticate("bob", "bob-pw") == (True, {"Mikrotik-Rate-Limit": "2M/1M"})
    accepted, reply = freeradius.authenticate("alice", HOSTILE_PW)
    assert not accepted and reply.get("Reply-Message") == "Account suspended"
    assert freeradius.authenticate("bob", "bob-pw")[0]

    # a suspended entry keeps the password: resume needs none in the spec
    apply(freeradius, adapter, "resume", gold(password=None))
    assert freeradius.authenticate("alice", HOSTILE_PW)[0]
    # an active entry cannot be written without any password: clear error, nothing changed
    text = Path(freeradius.users_file).read_text()
    with pytest.raises(AdapterError, match="no password"):
        adapter.apply("create", gold("carol", password=None))
    assert Path(freeradius.users_file).read_text() == text

    # plan change keeps the stored password
    apply(freeradius, adapter, "change_plan", gold(password=None, plan_code="silver"))
    assert freeradius.authenticate("alice", HOSTILE_PW) == (True, {
        "Framed-IP-Address": "10.0.0.5", "Session-Timeout": "3600", "Mikrotik-Rate-Limit": "2M/1M"})

    apply(freeradius, adapter, "change_password", gold(password="new-pw"))
    assert freeradius.authenticate("alice", "new-pw")[0]
    assert not freeradius.authenticate("alice", HOSTILE_PW)[0]

    apply(freeradius, adapter, "delete", gold(), reload=False)
    assert "absent" in apply(freeradius, adapter, "delete", gold())
    assert not freeradius.authenticate("alice", "new-pw")[0]
    text = Path(freeradius.users_file).read_text()
    assert text.startswith("# hand-written content stays\n")
    assert "alice" not in text and "bob" in text
    apply(freeradius, adapter, "delete", gold("bob"), reload=False)
    assert "BEGIN realmbill" not in Path(freeradius.users_file).read_text()


def test_realm_blocks_are_separate(freeradius, tmp_path):
    path = tmp_path / "users"
    a = RadiusFileAdapter({"path": str(path)})
    a.apply("create", gold("u1", realm="isp1"))
    a.apply("create", gold("u1", realm="isp2", password="other"))
    a.apply("delete", gold("u1", realm="isp1"))
    text = path.read_text()
    assert "realm=isp1" not in text and "realm=isp2" in text and "'other'" in text
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".users.")]


@pytest.mark.parametrize("attributes, message", [
    ({"framed_ip": "10.0.0.1\nAuth-Type := Accept"}, "IPv4"),
    ({"session_timeout": "3600, Auth-Type := Accept"}, "whole number"),
    ({"rate_limit": "1M'\n\"x\" Auth-Type := Accept"}, "not allowed"),
    ({"simultaneous_use": "0"}, "out of range"),
])
def test_hostile_values_refused_and_file_unchanged(tmp_path, attributes, message):
    path = tmp_path / "users"
    path.write_text("# keep\n")
    adapter = RadiusFileAdapter({"path": str(path)})
    with pytest.raises(AdapterError, match=message):
        adapter.apply("create", gold(attributes=attributes))
    with pytest.raises(AdapterError, match="control"):
        adapter.apply("create", gold(password="a\nDEFAULT Auth-Type := Accept"))
    with pytest.raises(AdapterError, match="realm"):
        adapter.apply("create", gold(realm="x\n# END"))
    assert path.read_text() == "# keep\n"


def test_wispr_attribute_and_sftp_upload(tmp_path, sshd):
    remote = os.path.join(sshd.workdir, "raddb-users")
    adapter = RadiusFileAdapter({
        "path": str(tmp_path / "users"),
        "rate_limit_attribute": "WISPr-Bandwidth-Max-Down",
        "plan_rate_limits": "gold: 10000000",
        "upload": "sftp", "remote_path": remote,
        "sftp_host": sshd.host, "sftp_port": sshd.port, "sftp_username": sshd.username,
        "sftp_private_key": sshd.private_key, "sftp_host_key": sshd.known_host_line,
    })
    assert "uploaded by SFTP" in adapter.apply("create", gold())
    assert "WISPr-Bandwidth-Max-Down = 10000000" in Path(remote).read_text()
    assert "reachable" in adapter.check()
    with pytest.raises(AdapterError, match="bit/s"):
        adapter.apply("create", gold(attributes={"rate_limit": "10M"}))


def test_bad_settings(tmp_path):
    with pytest.raises(AdapterError, match="directory"):
        RadiusFileAdapter({"path": "/nonexistent/dir/users"})
    with pytest.raises(AdapterError, match="plan_rate_limits"):
        RadiusFileAdapter({"path": str(tmp_path / "u"), "plan_rate_limits": "gold"})
    with pytest.raises(AdapterError, match="not allowed"):
        RadiusFileAdapter({"path": str(tmp_path / "u"), "plan_rate_limits": "gold: 1M'"})
    with pytest.raises(AdapterError, match="remote_path"):
        RadiusFileAdapter({"path": str(tmp_path / "u"), "upload": "sftp"})
    with pytest.raises(AdapterError, match="required"):
        RadiusFileAdapter({"path": str(tmp_path / "u"), "upload": "sftp", "remote_path": "/x"})


def test_reload_command_runs_after_write(tmp_path):
    marker = tmp_path / "reloaded"
    adapter = RadiusFileAdapter({"path": str(tmp_path / "users"),
                                 "reload_command": f"touch {marker}"})
    assert "reload signalled" in adapter.apply("create", gold())
    assert marker.exists()
    failing = RadiusFileAdapter({"path": str(tmp_path / "users"), "reload_command": "false"})
    with pytest.raises(AdapterError, match="reload") as err:
        failing.apply("create", gold())
    assert err.value.transient


def test_mtime_strictly_increases_for_hup_reloads(tmp_path):
    path = tmp_path / "users"
    adapter = RadiusFileAdapter({"path": str(path)})
    seconds = []
    for i in range(3):
        adapter.apply("create", gold(password=f"pw{i}"))
        seconds.append(path.stat().st_mtime_ns // 10**9)
    assert seconds[0] < seconds[1] < seconds[2]


def test_ftp_upload(tmp_path, ftpd):
    adapter = RadiusFileAdapter({
        "path": str(tmp_path / "users"), "upload": "ftp", "remote_path": "/radius-users",
        "ftp_host": ftpd.host, "ftp_port": ftpd.port, "ftp_username": ftpd.username,
        "ftp_password": ftpd.password, "ftp_ca_pem": ftpd.ca_pem,
    })
    assert "uploaded by FTP" in adapter.apply("create", gold())
    uploaded = (Path(ftpd.root) / "radius-users").read_text()
    assert uploaded == (tmp_path / "users").read_text() and '"alice"' in uploaded
