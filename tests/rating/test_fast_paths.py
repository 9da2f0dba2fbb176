"""The rating hot paths give exactly what the straightforward code gives.

``rate_usage`` routes usage through a per-plan cache instead of ``normalise_usage``;
``compile_plan`` shares one compiled plan between equal specs; ``fmt`` decides on
rounding from the text instead of the exponent; explanations reuse cached parts.
"""

from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rating.bands import RatedLine, billed_quantity, fmt, normalise_usage, price_text, rate_unit
from app.rating.plan import Band, PlanSpec, Quota
from app.rating.quote import QuotaLine, compile_plan, rate_usage

PLAN = PlanSpec("mix", "Mix", "USD", (), (
    Band("MB", D("1000"), D("0.010"), D("1")),
    Band("MB", D("0"), D("0.005"), D("1")),
    Band("minute", D("100"), D("0.05"), D("1"), "record"),
    Band("minute", D("0"), D("0.03"), D("1"), "record"),
    Band("SMS", D("0"), D("0.10")),
), (Quota("MB", D("500")), Quota("minute", D("30"))), ("SMS",))


amounts = st.one_of(
    st.integers(0, 10**13).map(D),
    st.decimals(min_value=0, max_value=D("1e9"), allow_nan=False, allow_infinity=False),
)
units = st.sampled_from(["MB", "GB", "byte", "kB", "hour", "minute", "second", "SMS", "message"])
usages = st.dictionaries(units, st.one_of(amounts, st.lists(amounts, min_size=1, max_size=4)), max_size=6)


def reference(spec, usage):
    """rate_usage as it was before the fast paths: normalise_usage, then quotas and bands."""
    compiled = compile_plan(spec)
    priced, _ = normalise_usage(usage, compiled.rules, spec.units)
    lines = []
    for unit, rule in compiled.rules.items():
        quantity = priced.get(unit)
        if quantity is None:
            continue
        raw, billed = billed_quantity(rule, quantity)
        included = compiled.quotas.get(unit, D(0))
        if included > 0 and billed > 0:
            absorbed = min(included, billed)
            lines.append(QuotaLine(unit, absorbed, included, D("0.00")))
            billed -= absorbed
            raw = max(D(0), raw - absorbed)
        lines.extend(rate_unit(rule, billed, spec.currency, raw))
    return lines


def old_fmt(value):
    if value.as_tuple().exponent < -6:
        value = value.quantize(D("0.000001"), rounding=ROUND_HALF_UP)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def old_explanation(line: RatedLine) -> str:
    if line.upper is not None:
        span = f"from {old_fmt(line.lower)} to {old_fmt(line.upper)} {line.unit}"
    elif line.lower > 0:
        span = f"above {old_fmt(line.lower)} {line.unit}"
    else:
        span = f"all {line.unit}"
    rounding = f" ({old_fmt(line.raw_units)} used, rounded up)" if line.raw_units != line.units else ""
    return (f"band {line.band} ({span}): {old_fmt(line.units)} {line.unit}{rounding} "
            f"x {price_text(line.price)} = {format(line.amount, 'f')}")


def as_text(lines):
    return [(type(line).__name__, line.unit, str(line.units), str(line.amount), line.explanation)
            for line in lines]


@settings(max_examples=300, deadline=None)
@given(usages)
def test_rate_usage_matches_the_reference(usage):
    assert as_text(rate_usage(compile_plan(PLAN), usage)) == as_text(reference(PLAN, usage))


@settings(max_examples=300, deadline=None)
@given(usages)
def test_explanations_match_the_straightforward_text(usage):
    for line in rate_usage(compile_plan(PLAN), usage):
        if isinstance(line, RatedLine):
            assert line.explanation == old_explanation(line)


@settings(max_examples=500, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=D("-1e15"), max_value=D("1e15")))
def test_fmt_matches_the_exponent_rule(value):
    assert fmt(value) == old_fmt(value)


def test_equal_specs_share_one_compiled_plan_and_edits_do_not():
    copy = PlanSpec(PLAN.code, PLAN.name, PLAN.currency, PLAN.fees, PLAN.bands, PLAN.quotas, PLAN.units)
    assert compile_plan(copy) is compile_plan(PLAN)
    cheaper = PlanSpec(PLAN.code, PLAN.name, PLAN.currency, PLAN.fees,
                       (Band("MB", D("0"), D("0.001")),), (), PLAN.units)
    lines = rate_usage(compile_plan(cheaper), {"MB": D("2000")})
    assert [str(line.amount) for line in lines] == ["2.00"]
