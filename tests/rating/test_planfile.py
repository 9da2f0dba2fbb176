"""Plan files: the DESIGN.md format in and out; every problem named by file and key path."""

import textwrap
from decimal import Decimal as D

import pytest

from app.rating.planfile import PlanFileError, dump_plan_yaml, load_plan_yaml

GOOD = textwrap.dedent("""\
    code: jet-mixed
    name: Mixed time and traffic
    currency: USD
    fees:
      - {kind: setup, amount: "10.00"}
      - {kind: recurring, period: monthly, amount: "20.00"}
      - {kind: recurring, period: days, every_days: 7, amount: "1.50"}
    bands:
      - {unit: MB,   max_usage: "0",   price: "0.50"}
      - {unit: MB,   max_usage: "150", price: "0.10"}
      - {unit: hour, max_usage: "0",   price: "5.00", increment: "0.25", round_per: record}
      - {unit: SMS-x, max_usage: 0, price: "0.09"}
    quotas:
      - {unit: MB, amount: "100"}
    units:
      - {name: SMS-x}
""")


def test_load_and_round_trip():
    spec = load_plan_yaml(GOOD, "good.yaml")
    assert spec.bands[2].increment == D("0.25") and spec.fees[2].every_days == 7
    assert spec.units == ("SMS-x",)
    assert load_plan_yaml(dump_plan_yaml(spec), "again.yaml") == spec


@pytest.mark.parametrize("replace,path,problem", [
    ('price: "0.50"', "bands[0].price", "quoted strings"),  # becomes an unquoted float below
    ('amount: "10.00"', "fees[0].amount", "not a decimal number"),
    ("unit: hour", "bands[2].unit", "unknown unit"),
    ("period: monthly", "fees[1].period", "unknown period"),
    ("kind: setup", "fees[0].kind", "unknown fee kind"),
    ('max_usage: "150"', "bands[1].max_usage", "must not be negative"),
    ("currency: USD", "currency", "unknown currency"),
    ("every_days: 7", "fees[2].every_days", "whole number"),
])
def test_each_problem_names_its_path(replace, path, problem):
    broken = {
        'price: "0.50"': "price: 0.50",
        'amount: "10.00"': 'amount: "ten"',
        "unit: hour": "unit: parsec",
        "period: monthly": "period: fortnightly",
        "kind: setup": "kind: bonus",
        'max_usage: "150"': 'max_usage: "-150"',
        "currency: USD": "currency: XYZ",
        "every_days: 7": "every_days: seven",
    }[replace]
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_yaml(GOOD.replace(replace, broken, 1), "plan.yaml")
    text = str(excinfo.value)
    assert f"plan.yaml: {path}: " in text and problem in text


def test_all_problems_are_reported_together_with_unknown_and_missing_keys():
    text = GOOD.replace("name: Mixed time and traffic\n", "colour: blue\n").replace(
        'price: "0.10"', 'price: "x"')
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_yaml(text, "p.yaml")
    paths = {p.path for p in excinfo.value.problems}
    assert {"colour", "name", "bands[1].price"} <= paths


def test_duplicate_bands_and_disagreeing_increments():
    text = GOOD.replace('{unit: MB,   max_usage: "150", price: "0.10"}',
                        '{unit: MB,   max_usage: "0", price: "0.10", increment: "1"}')
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_yaml(text, "p.yaml")
    messages = str(excinfo.value)
    assert "bands[1].max_usage: same unit and maximum as bands[0]" in messages


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(PlanFileError, match="not valid YAML"):
        load_plan_yaml("code: [unclosed", "p.yaml")
    with pytest.raises(PlanFileError, match="expected a mapping"):
        load_plan_yaml("- just\n- a list\n", "p.yaml")
