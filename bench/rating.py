"""Rating throughput: accounts/s for one billing period of 100,000 accounts.

    .venv/bin/python -m bench.rating [--accounts N] [--processes P]

Goes through the engine API the billing run uses (app/services/billing/draft.py): per
account ``compile_plan(spec)`` of its plan version, then ``rate_usage(compiled, usage)``
with the month's usage as draft.py builds it (octets / 10**6 → MB, seconds / 3600 → hours,
counted units as they are). Eight realistic plans: data tiers with an included quota and
per-MB rounding, time bands with per-minute rounding, flat-rate with a fair-use band,
SMS bundles, a 3-decimal currency, a plan without bands. Usage is random with a fixed
seed (idle, light, heavy users; some use no data at all).

Prints accounts/s for one process, and with ``--processes P`` (default: the CPU count)
the total when P processes each rate their share. A digest of every rated line
(amounts, units, explanations) is printed so optimizations can be checked not to change
results: the same seed and account count give the same digest.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import time
from decimal import Decimal

from app.rating.plan import Band, Fee, PlanSpec, Quota
from app.rating.quote import compile_plan, rate_usage

from ._common import Figures

D = Decimal
MB = D(10) ** 6
HOUR = D(3600)


def plans() -> list[PlanSpec]:
    monthly = (Fee("recurring", D("29.90"), "monthly"),)
    return [
        PlanSpec("dsl-50", "DSL 50 GB", "USD", monthly,
                 (Band("MB", D("50000"), D("0"), D("1")), Band("MB", D("100000"), D("0.002"), D("1")),
                  Band("MB", D("0"), D("0.001"), D("1"))),
                 (Quota("MB", D("10000")),)),
        PlanSpec("mobile-5", "Mobile 5 GB", "EUR", monthly,
                 (Band("MB", D("1000"), D("0.010"), D("1")), Band("MB", D("5000"), D("0.008"), D("1")),
                  Band("MB", D("0"), D("0.005"), D("1")), Band("minute", D("0"), D("0.09"), D("1"))),
                 (Quota("MB", D("5000")), Quota("minute", D("300")))),
        PlanSpec("dialup", "Dial-up by the hour", "USD", monthly,
                 (Band("hour", D("10"), D("1.00")), Band("hour", D("40"), D("0.75")),
                  Band("hour", D("0"), D("0.50"))),
                 (Quota("hour", D("5")),)),
        PlanSpec("voice", "Voice per started minute", "GBP", (),
                 (Band("minute", D("100"), D("0.05"), D("1")), Band("minute", D("0"), D("0.03"), D("1")),),
                 ()),
        PlanSpec("sms", "SMS bundle", "USD", monthly,
                 (Band("message", D("100"), D("0.10")), Band("message", D("0"), D("0.05")),
                  Band("MB", D("0"), D("0.02"), D("0.1"))),
                 (Quota("message", D("50")), Quota("MB", D("1000")))),
        PlanSpec("kwd-biz", "Business (KWD)", "KWD", (Fee("recurring", D("12.500"), "monthly"),),
                 (Band("GB", D("100"), D("0.125")), Band("GB", D("0"), D("0.075")),
                  Band("hour", D("0"), D("0.250"), D("0.25"))),
                 (Quota("GB", D("20")),)),
        PlanSpec("flat", "Flat with fair use", "USD", monthly,
                 (Band("GB", D("500"), D("0")), Band("GB", D("0"), D("0.50"), D("1"))), ()),
        PlanSpec("fees-only", "Static IP", "USD", (Fee("recurring", D("5.00"), "monthly"),), (), ()),
    ]


def usage_for(rng: random.Random) -> dict[str, Decimal]:
    """One account's month, built as draft.py builds it from usage records."""
    kind = rng.random()
    if kind < 0.1:
        octets, seconds = 0, 0
    elif kind < 0.8:
        octets, seconds = rng.randrange(0, 20 * 10**9), rng.randrange(0, 60 * 3600)
    else:
        octets, seconds = rng.randrange(10**9, 400 * 10**9), rng.randrange(0, 300 * 3600)
    usage = {"MB": D(octets) / MB, "hour": D(seconds) / HOUR}
    if rng.random() < 0.3:
        usage["message"] = D(rng.randrange(0, 400))
    return {unit: q for unit, q in usage.items() if q > 0}


def workload(accounts: int, seed: int = 20261207) -> list[tuple[PlanSpec, dict[str, Decimal]]]:
    rng = random.Random(seed)
    specs = plans()
    # Specs are rebuilt per account in billing (spec_of reads the plan version): equal, not
    # identical objects. Emulate that with a few copies of each.
    copies = [PlanSpec(s.code, s.name, s.currency, s.fees, s.bands, s.quotas, s.units)
              for s in specs for _ in range(4)]
    return [(rng.choice(copies), usage_for(rng)) for _ in range(accounts)]


def rate_all(work: list[tuple[PlanSpec, dict[str, Decimal]]]) -> tuple[int, str]:
    lines = 0
    digest = hashlib.sha256()
    for spec, usage in work:
        compiled = compile_plan(spec)
        rated = rate_usage(compiled, usage)
        lines += len(rated)
        for line in rated:
            digest.update(f"{line.explanation}|{line.amount}|{line.units}\n".encode())
    return lines, digest.hexdigest()


def _timed_share(args: tuple[int, int, int]) -> tuple[int, float, float]:
    accounts, seed, _index = args
    work = workload(accounts, seed)
    began = time.perf_counter()
    rate_all(work)
    ended = time.perf_counter()
    return accounts, began, ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="Single-process rounds; the best is reported (the machine may be loaded).")
    args = parser.parse_args()

    figures = Figures("Rating: one billing period per account", "accounts/s")
    work = workload(args.accounts)
    rounds = []
    for _ in range(max(1, args.rounds)):
        began, cpu = time.perf_counter(), time.process_time()
        lines, digest = rate_all(work)
        rounds.append((time.perf_counter() - began, time.process_time() - cpu))
    wall, cpu = min(rounds)
    figures.add(f"1 process (best of {len(rounds)})", args.accounts, wall,
                f"{lines:,} rated lines; CPU {cpu:.2f} s = {args.accounts / cpu:,.0f}/s of CPU")

    if args.processes > 1:
        share = args.accounts // args.processes
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(args.processes) as pool:
            results = pool.map(_timed_share, [(share, 1000 + i, i) for i in range(args.processes)])
        first = min(r[1] for r in results)
        last = max(r[2] for r in results)
        for index, (count, start, end) in enumerate(results):
            figures.add(f"  process {index + 1} of {args.processes}", count, end - start)
        figures.add(f"{args.processes} processes, total", share * args.processes, last - first)
    figures.print()
    print(f"\nresult digest: {digest}  (target: >= 50,000 accounts/s)")


if __name__ == "__main__":
    main()
