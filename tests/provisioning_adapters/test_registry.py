import pytest

from provisioning_adapters.base import (
    OPERATIONS,
    Adapter,
    AdapterError,
    Field,
    ServiceSpec,
    load_adapters,
    make_environment,
    render,
)

ALL = {"ldap", "ssh", "telnet", "ftp", "smtp", "radius_file", "http", "cli"}


def test_entry_points_list_all_eight_adapters():
    adapters = load_adapters()
    assert set(adapters) == ALL
    for name, cls in adapters.items():
        assert issubclass(cls, Adapter)
        assert cls.name == name and cls.label
        assert all(isinstance(f, Field) for f in cls.settings_fields)
        names = [f.name for f in cls.settings_fields]
        assert len(names) == len(set(names)), name
        for op in (*OPERATIONS, "check"):
            assert getattr(cls, op) is not getattr(Adapter, op), f"{name}.{op} not implemented"
    assert [n for n, c in adapters.items() if c.insecure] == ["telnet"]


def test_secret_fields_are_marked():
    adapters = load_adapters()
    for name, cls in adapters.items():
        for f in cls.settings_fields:
            if f.kind == "password" or "private_key" in f.name or f.name == "token":
                assert f.secret, f"{name}.{f.name} should be secret"


@pytest.mark.parametrize("name", sorted(ALL))
def test_bad_settings_raise_adapter_error(name):
    cls = load_adapters()[name]
    with pytest.raises(AdapterError):
        cls({"no_such_setting": 1})
    required = [f for f in cls.settings_fields if f.required and f.default is None]
    if required:
        with pytest.raises(AdapterError, match="required"):
            cls({})
    with pytest.raises(AdapterError):
        cls("not a dict")


def test_field_coercion_never_shows_secret_values():
    f = Field("mode", "Mode", "select", choices=("a", "b"), secret=True)
    with pytest.raises(AdapterError) as err:
        f.coerce("top-secret")
    assert "top-secret" not in str(err.value)
    assert Field("n", "N", "int").coerce("42") == 42
    assert Field("b", "B", "bool").coerce("yes") is True
    assert Field("b", "B", "bool", default=False).coerce("") is False
    with pytest.raises(AdapterError):
        Field("b", "B", "bool").coerce("maybe")
    with pytest.raises(AdapterError):
        Field("n", "N", "int").coerce(True)
    with pytest.raises(ValueError):
        Field("x", "X", "colour")


def test_apply_dispatch_and_validation():
    cls = load_adapters()["cli"]
    adapter = cls({})
    with pytest.raises(AdapterError, match="unknown operation"):
        adapter.apply("explode", ServiceSpec(username="a"))
    with pytest.raises(AdapterError, match="status"):
        adapter.apply("create", ServiceSpec(username="a", status="paused"))
    for bad in ["", "-rf", "a b", "a;b", "a\nb", "../x", "x" * 200, "*", "a$(id)"]:
        with pytest.raises(AdapterError, match="username"):
            adapter.apply("create", ServiceSpec(username=bad))
    assert adapter.apply("create", ServiceSpec(username="ok.user+1@isp-x")) == \
        "create: nothing configured"


def test_sandboxed_templates():
    env = make_environment()
    ctx = ServiceSpec(username="a", details={"name": "N"}).context()
    assert render(env, "{{ details.name }}/{{ details.missing }}/{{ resources.x }}", ctx) == "N//"
    for source in ["{{ username.__class__.__mro__ }}", "{{ ''.__class__.__subclasses__() }}",
                   "{{ details.__init__.__globals__ }}", "{{ undefined_name }}", "{% if %}"]:
        with pytest.raises(AdapterError):
            render(env, source, ctx)
