"""The rating engine: pure Python (no Flask, no database), Decimal money throughout.

- ``planfile``: plan YAML in and out; ``plan``: the plan values;
- ``bands``: charge bands (DESIGN.md semantics); ``quotas``: cascading pools;
- ``proration``: billing periods and proration by days; ``quote``: one period's price;
- ``money`` and ``units``: rounding per currency, unit conversion at the edge.
"""
