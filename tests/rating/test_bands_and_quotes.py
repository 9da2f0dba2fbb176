"""Charge bands and quotes: DESIGN.md's worked example, jBilling, increments, properties."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rating.plan import Band, Fee, PlanSpec, Quota
from app.rating.quote import (
    UsageArgumentError,
    compile_plan,
    format_quote_table,
    parse_usage_args,
    quote,
)
from app.rating.units import UnitError

DESIGN_BANDS = (
    Band("MB", D("0"), D("0.50")),
    Band("MB", D("150"), D("0.10")),
    Band("MB", D("500"), D("0.20")),
    Band("hour", D("0"), D("5.00")),
)
DESIGN = PlanSpec("jet-mixed", "Mixed", "USD",
                  (Fee("setup", D("10.00")), Fee("recurring", D("20.00"), "monthly")), DESIGN_BANDS)


def usage_lines(result):
    return [(line["band"], line["units"], line["amount"]) for line in result.to_dict()["lines"]
            if line["kind"] == "usage"]


def test_design_worked_example():
    result = quote(DESIGN, {"MB": D("700"), "hour": D("3")})
    assert usage_lines(result) == [(2, "150", "15.00"), (3, "350", "70.00"), (1, "200", "100.00"),
                                   (4, "3", "15.00")]
    assert result.to_dict()["total"] == "220.00"  # 20 monthly + 200 usage; no setup


def test_setup_fee_only_with_setup():
    assert quote(DESIGN, {}, with_setup=True).to_dict()["total"] == "30.00"
    assert quote(DESIGN, {}).to_dict()["total"] == "20.00"


def test_usage_below_the_first_band():
    assert usage_lines(quote(DESIGN, {"MB": D("40")})) == [(2, "40", "4.00")]


def test_jbilling_example():
    plan = PlanSpec("dialup", "Dial-up", "USD", (Fee("recurring", D("20.00"), "monthly"),),
                    (Band("minute", D("0"), D("0.05")),))
    result = quote(plan, {"minute": D("100")}).to_dict()
    assert result["total"] == "25.00"
    assert sum(D(line["amount"]) for line in result["lines"]) == D(result["total"])


def test_only_an_unlimited_band_rates_everything():
    plan = PlanSpec("x", "x", "EUR", (), (Band("GB", D("0"), D("1.25")),))
    assert usage_lines(quote(plan, {"GB": D("12")})) == [(1, "12", "15.00")]


def test_no_unlimited_band_the_highest_band_goes_on():
    plan = PlanSpec("x", "x", "USD", (), (Band("MB", D("100"), D("0.10")), Band("MB", D("200"), D("0.05"))))
    assert usage_lines(quote(plan, {"MB": D("300")})) == [(1, "100", "10.00"), (2, "200", "10.00")]


def test_units_are_converted_once_at_the_edge():
    result = quote(DESIGN, {"byte": D("700000000"), "second": D("5400")})
    assert usage_lines(result)[-1] == (4, "1.5", "7.50")
    assert [u[1] for u in usage_lines(result)[:3]] == ["150", "350", "200"]


def test_increments_round_up_per_record_and_show_raw_units():
    plan = PlanSpec("calls", "Calls", "USD", (),
                    (Band("minute", D("0"), D("0.10"), increment=D("1"), round_per="record"),))
    # Three calls of 30 s, 61 s and 120 s: billed as 1 + 2 + 2 started minutes.
    result = quote(plan, {"second": [D("30"), D("61"), D("120")]}).to_dict()
    line = result["lines"][0]
    assert line["units"] == "5" and line["amount"] == "0.50"
    assert line["raw_units"] == "3.516667"
    assert "rounded up" in line["explanation"]


def test_increment_of_the_total():
    plan = PlanSpec("t", "t", "USD", (), (Band("MB", D("0"), D("1.00"), increment=D("10")),))
    assert usage_lines(quote(plan, {"MB": D("11")})) == [(1, "20", "20.00")]


def test_included_quota_comes_before_bands():
    plan = PlanSpec("q", "q", "USD", (), DESIGN_BANDS, (Quota("MB", D("100")),))
    result = quote(plan, {"MB": D("300")}).to_dict()
    assert result["lines"][0]["kind"] == "quota" and result["lines"][0]["units"] == "100"
    assert [(line["band"], line["units"]) for line in result["lines"][1:]] == [(2, "150"), (3, "50")]


def test_japanese_yen_has_no_decimals():
    plan = PlanSpec("y", "y", "JPY", (), (Band("MB", D("0"), D("0.7")),))
    assert quote(plan, {"MB": D("3")}).to_dict()["total"] == "2"


def test_parse_usage_args():
    assert parse_usage_args(["MB=700", "hour=2.5", "MB=1"]) == {"MB": D("701"), "hour": D("2.5")}
    for bad in (["MB"], ["parsec=3"], ["MB=abc"], ["MB=-1"], ["=3"]):
        with pytest.raises(UsageArgumentError):
            parse_usage_args(bad)


def test_unknown_unit_in_a_quote_is_refused():
    with pytest.raises(UnitError):
        quote(DESIGN, {"parsec": D("1")})


def test_unpriced_usage_is_reported_not_charged():
    result = quote(PlanSpec("t", "t", "USD", (), (Band("MB", D("0"), D("1")),)), {"hour": D("2")})
    assert result.to_dict()["total"] == "0.00"
    assert "not priced" in format_quote_table(result)


usage_amounts = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(usage_amounts, usage_amounts)
def test_band_units_sum_to_usage_and_totals_grow_with_usage(first, second):
    compiled = compile_plan(DESIGN)
    low, high = sorted((first, second))
    lines = quote(compiled, {"MB": high}).to_dict()["lines"]
    assert sum(D(line["units"]) for line in lines if line["kind"] == "usage") == high
    assert quote(compiled, {"MB": low}).total <= quote(compiled, {"MB": high}).total


@settings(max_examples=200, deadline=None)
@given(st.lists(usage_amounts, min_size=1, max_size=8))
def test_total_is_the_sum_of_the_lines(amounts):
    result = quote(DESIGN, {"MB": sum(amounts, D(0)), "hour": amounts[0]}).to_dict()
    assert D(result["total"]) == sum(D(line["amount"]) for line in result["lines"])
