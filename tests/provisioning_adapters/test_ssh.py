import os
from pathlib import Path

import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.ssh import SftpUploader, SshAdapter, SshConnection, scan_host_key

pytestmark = pytest.mark.servers


def settings(sshd, **over):
    return {
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "private_key": sshd.private_key,
        "host_key": sshd.known_host_line,
        **over,
    }


def test_commands_run_with_quoted_values(sshd, tmp_path):
    work = Path(sshd.workdir) / "cmds"
    work.mkdir(exist_ok=True)
    users = work / "users"
    pwned = work / "pwned"
    adapter = SshAdapter(settings(
        sshd,
        command_create=(
            f"grep -qx {{{{ username }}}} {users} 2>/dev/null || echo {{{{ username }}}} >> {users}\n"
            f"printf '%s\\n' {{{{ details.name }}}} > {work}/{{{{ username }}}}.name"
        ),
        command_delete=f"sed -i /^{{{{ username }}}}$/d {users}; rm -f {work}/{{{{ username }}}}.name",
        command_check="echo hello",
    ))
    hostile = f"$(touch {pwned}); `touch {pwned}` ' \" ; touch {pwned}"
    spec = ServiceSpec(username="alice", details={"name": hostile})
    assert "2 command(s) ok" in adapter.apply("create", spec)
    adapter.apply("create", spec)  # idempotent
    assert users.read_text() == "alice\n"
    assert (work / "alice.name").read_text() == hostile + "\n"
    assert not pwned.exists()
    adapter.apply("delete", spec)
    adapter.apply("delete", spec)
    assert users.read_text() == "" and not (work / "alice.name").exists()
    assert "hello" in adapter.check()


def test_failing_command_reports_status_without_password(sshd):
    adapter = SshAdapter(settings(sshd, command_change_password="echo {{ password }} >&2; exit 3"))
    with pytest.raises(AdapterError) as err:
        adapter.apply("change_password", ServiceSpec(username="bob", password="Very-Secret-9"))
    assert "status 3" in str(err.value) and "Very-Secret-9" not in str(err.value)


def test_unknown_or_changed_host_key_refused_before_commands(sshd):
    marker = Path(sshd.workdir) / "should-not-exist"
    adapter = SshAdapter(settings(sshd, host_key=sshd.other_host_line,
                                  command_create=f"touch {marker}"))
    with pytest.raises(AdapterError, match="host key") as err:
        adapter.apply("create", ServiceSpec(username="bob"))
    assert not err.value.transient
    assert not marker.exists()
    # the scanned key is what the fixture pinned
    assert scan_host_key(sshd.host, sshd.port) == sshd.known_host_line


def test_wrong_client_key_and_unreachable(sshd):
    other = SshConnection(settings(sshd))  # valid
    assert other.known_hosts_name == f"[127.0.0.1]:{sshd.port}"
    from tests.servers._proc import free_port

    with pytest.raises(AdapterError) as err:
        SshAdapter(settings(sshd, port=free_port())).check()
    assert err.value.transient


def test_sftp_upload_is_atomic_and_overwrites(sshd):
    target = os.path.join(sshd.workdir, "upload.txt")
    up = SftpUploader(SshConnection(settings(sshd)))
    up.upload(target, b"one\n")
    up.upload(target, b"two\n")
    assert Path(target).read_bytes() == b"two\n"
    assert up.download(target) == b"two\n"
    assert up.download(target + ".missing") is None
    assert [n for n in os.listdir(sshd.workdir) if n.endswith(".tmp")] == []


def test_bad_settings(sshd):
    with pytest.raises(AdapterError, match="private key"):
        SshAdapter(settings(sshd, private_key="garbage"))
    with pytest.raises(AdapterError, match="host key"):
        SshAdapter(settings(sshd, host_key="nonsense"))
    with pytest.raises(AdapterError, match="required"):
        SshAdapter(settings(sshd, host_key=""))
    with pytest.raises(AdapterError, match="port"):
        SshAdapter(settings(sshd, port=70000))
