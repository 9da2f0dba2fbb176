import json
import sys

import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.cli import CliAdapter

HOSTILE = "x'; touch /tmp/pwned-cli; echo \"$(id)\" `id` $HOME *"


def recorder(tmp_path):
    """A small program that appends its argv as JSON to a file."""
    script = tmp_path / "record.py"
    out = tmp_path / "calls.jsonl"
    script.write_text(
        "import json, sys\n"
        f"open({str(out)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(int(sys.argv[1]) if sys.argv[1:2] and sys.argv[1].isdigit() else 0)\n"
    )
    return f"{sys.executable} {script}", out


def calls(out):
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_arguments_are_passed_verbatim_without_a_shell(tmp_path):
    prog, out = recorder(tmp_path)
    adapter = CliAdapter({
        "command_create": f"{prog} add {{{{ username }}}} --name {{{{ details.name }}}} --pw={{{{ password }}}}",
        "command_delete": f"{prog} del {{{{ username }}}}",
    })
    spec = ServiceSpec(username="alice", password=HOSTILE, realm="r1",
                       details={"name": "Alice O'Hara; rm -rf /"})
    summary = adapter.apply("create", spec)
    assert "1 command(s) ok" in summary
    assert HOSTILE not in summary
    assert calls(out) == [["add", "alice", "--name", "Alice O'Hara; rm -rf /", f"--pw={HOSTILE}"]]
    assert adapter.apply("delete", spec).startswith("delete:")
    assert calls(out)[-1] == ["del", "alice"]
    # not configured: nothing runs
    assert adapter.apply("suspend", spec) == "suspend: nothing configured"
    assert len(calls(out)) == 2


def test_failure_status_and_accepted_codes(tmp_path):
    prog, out = recorder(tmp_path)
    spec = ServiceSpec(username="bob", password="s3cret-pw")
    adapter = CliAdapter({"command_create": f"{prog} 9 {{{{ password }}}}"})
    with pytest.raises(AdapterError) as err:
        adapter.apply("create", spec)
    assert "status 9" in str(err.value)
    assert "s3cret-pw" not in str(err.value)
    # e.g. useradd exits 9 when the user already exists: accept it -> idempotent create
    adapter = CliAdapter({"command_create": f"{prog} 9 x", "accept_exit_codes": "0, 9"})
    assert adapter.apply("create", spec).startswith("create: 1 command(s) ok")


def test_control_characters_in_values_are_refused(tmp_path):
    prog, out = recorder(tmp_path)
    adapter = CliAdapter({"command_update_details": f"{prog} {{{{ details.name }}}}"})
    with pytest.raises(AdapterError, match="control characters"):
        adapter.apply("update_details", ServiceSpec(username="bob", details={"name": "a\nb"}))
    assert calls(out) == []


def test_timeout_is_transient(tmp_path):
    adapter = CliAdapter({"command_create": f"{sys.executable} -c 'import time; time.sleep(5)'",
                          "timeout": 1})
    with pytest.raises(AdapterError) as err:
        adapter.apply("create", ServiceSpec(username="bob"))
    assert err.value.transient


def test_check_and_bad_settings(tmp_path):
    assert "ok" in CliAdapter({}).check()
    with pytest.raises(AdapterError, match="not found"):
        CliAdapter({"command_check": "no-such-program-xyz"}).check()
    with pytest.raises(AdapterError, match="timeout"):
        CliAdapter({"timeout": "soon"})
    with pytest.raises(AdapterError, match="unknown settings"):
        CliAdapter({"shell": True})
    with pytest.raises(AdapterError, match="invalid"):
        CliAdapter({"command_create": "echo {{ username"})
    with pytest.raises(AdapterError, match="UndefinedError"):
        CliAdapter({"command_create": "echo {{ nope }}"}).apply("create", ServiceSpec(username="a"))


def test_sandbox_refuses_unsafe_template_access():
    adapter = CliAdapter({"command_create": "echo {{ username.__class__.__mro__ }}"})
    with pytest.raises(AdapterError):
        adapter.apply("create", ServiceSpec(username="a"))
