"""Money is stored exactly on both databases and refuses silent rounding or floats."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models.types import ExactDecimal


@pytest.fixture
def money_table(db):
    metadata = sa.MetaData()
    table = sa.Table(
        "money_probe", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("amount", ExactDecimal(scale=4)),
        sa.Column("price", ExactDecimal(scale=6)),
    )
    connection = db.session.connection()
    metadata.create_all(connection)
    yield table, connection
    metadata.drop_all(connection)


@pytest.mark.parametrize(
    "amount",
    ["0.1", "0.2", "0.3", "12345678901234.5678", "-0.0001", "19.99", "0", "99999999999999.9999"],
)
def test_round_trip_is_exact(money_table, amount):
    table, connection = money_table
    connection.execute(table.insert().values(id=1, amount=Decimal(amount)))
    stored = connection.execute(sa.select(table.c.amount)).scalar_one()
    assert stored == Decimal(amount)
    assert isinstance(stored, Decimal)


def test_sums_in_sql_are_exact(money_table):
    table, connection = money_table
    connection.execute(table.insert(), [{"id": i, "amount": Decimal("0.1")} for i in range(1, 11)])
    total = connection.execute(sa.select(sa.func.sum(table.c.amount))).scalar_one()
    # SUM keeps the column type; 10 x 0.1 is exactly 1 (a float column gives 0.9999999999999999).
    assert total == Decimal("1") and isinstance(total, Decimal)


def test_more_decimals_than_the_scale_are_refused(money_table):
    table, connection = money_table
    with pytest.raises(sa.exc.StatementError, match="decimal places"):
        connection.execute(table.insert().values(id=1, amount=Decimal("0.00001")))


def test_floats_are_refused(money_table):
    table, connection = money_table
    with pytest.raises(sa.exc.StatementError, match="not float"):
        connection.execute(table.insert().values(id=1, amount=0.1))


def test_six_decimal_prices(money_table):
    table, connection = money_table
    connection.execute(table.insert().values(id=1, price=Decimal("0.000125")))
    assert connection.execute(sa.select(table.c.price)).scalar_one() == Decimal("0.000125")
