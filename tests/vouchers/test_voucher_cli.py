"""realmbill voucher: generate with files written once, list, export once, void a range."""

from __future__ import annotations

import csv
import io
import os
import re
import stat

import pytest


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args), catch_exceptions=False)

    return invoke


def test_generate_list_export_void(cli, db, realm_a, tmp_path):
    out_csv, out_pdf = tmp_path / "cards.csv", tmp_path / "cards.pdf"
    made = cli("voucher", "generate", "--realm", "alpha", "--name", "Kiosk", "--count", "5", "--amount", "2.00",
               "--prefix", "KI", "--expires", "2099-01-31", "--csv", str(out_csv), "--pdf", str(out_pdf))
    assert made.exit_code == 0, made.output
    assert "KI000000001" in made.output and "KI000000005" in made.output
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert len(rows) == 5 and all(len(r["pin"]) == 13 for r in rows)
    assert out_pdf.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(os.stat(out_csv).st_mode) == 0o600
    batch_id = re.search(r"batch (\d+):", made.output).group(1)

    again = cli("voucher", "export", batch_id, "--realm", "alpha", "--out", str(tmp_path / "again.csv"))
    assert again.exit_code == 1 and "already exported" in again.output
    assert not (tmp_path / "again.csv").exists()

    later = cli("voucher", "generate", "--realm", "alpha", "--name", "Later", "--count", "2", "--kind", "quota",
                "--amount", "5", "--unit", "GB")
    assert later.exit_code == 0 and "export the PINs once" in later.output
    later_id = re.search(r"batch (\d+):", later.output).group(1)
    exported = cli("voucher", "export", later_id, "--realm", "alpha", "--out", str(tmp_path / "later.csv"))
    assert exported.exit_code == 0, exported.output

    voided = cli("voucher", "void", "--realm", "alpha", "--from", rows[1]["serial"], "--to", rows[2]["serial"])
    assert voided.exit_code == 0 and "void: 2 vouchers changed" in voided.output
    listing = cli("voucher", "list", "--realm", "alpha").output
    kiosk = next(line for line in listing.splitlines() if "Kiosk" in line).split()
    assert kiosk[-6:] == ["5", "0", "0", "0", "2", "yes"]

    bad = cli("voucher", "generate", "--realm", "alpha", "--name", "Bad", "--count", "1", "--amount", "1.001")
    assert bad.exit_code == 1 and "amount: too_many_decimals" in bad.output
