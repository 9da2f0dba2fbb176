"""Secrets at rest: never plaintext in any table, rotation re-encrypts, realms can't swap them."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.security.crypto import DecryptionError, SecretBox
from tenants import realm_context

NAS_SECRET = "nas-shared-secret-8d1f"
SERVICE_PASSWORD = "service-pw-77c2aa"


def _seed_secrets(db, realm, create_account):
    from app.services.nas import add_nas

    create_account(realm, "sally", password=SERVICE_PASSWORD)
    with realm_context(realm.id):
        add_nas(name="edge", address="192.0.2.10", secret=NAS_SECRET)
        db.session.commit()


def _all_text(db) -> str:
    """Every value of every column of every table, as text (what a database dump shows)."""
    from app.extensions import db as _db

    chunks = []
    for table in _db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_no_secret_is_stored_in_plaintext(db, realm_a, create_account):
    _seed_secrets(db, realm_a, create_account)
    dump = _all_text(db)
    assert NAS_SECRET not in dump and SERVICE_PASSWORD not in dump


def test_rotation_re_encrypts_every_secret(app, db, realm_a, create_account):
    from app.security.rotation import secret_rows
    from app.security.secrets import secret_box
    from tenants import all_realms

    _seed_secrets(db, realm_a, create_account)
    old_keys = app.config["ENCRYPTION_KEYS"]
    app.config["ENCRYPTION_KEYS"] = f"brand-new-key,{old_keys}"
    app.extensions.pop("realmbill_secret_box", None)
    try:
        result = CliRunner().invoke(app.cli, ["secrets", "rotate"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "re-encrypted" in result.output
        db.session.expire_all()
        only_new = SecretBox("brand-new-key")
        with all_realms():
            rows = list(secret_rows())
            assert rows
            for spec, row in rows:
                only_new.decrypt(getattr(row, spec.column), context=spec.context(row))
        with realm_context(realm_a.id):
            from app.services.nas import nas_secrets

            assert nas_secrets() == {"192.0.2.10": NAS_SECRET}
        again = CliRunner().invoke(app.cli, ["secrets", "rotate"], catch_exceptions=False)
        assert "already use the current key" in again.output
        assert secret_box() is not None
    finally:
        app.config["ENCRYPTION_KEYS"] = old_keys
        app.extensions.pop("realmbill_secret_box", None)


def test_a_ciphertext_copied_to_another_realm_does_not_decrypt(db, realm_a, realm_b, create_account):
    from app.models import NasClient
    from app.services.nas import add_nas, nas_secrets

    _seed_secrets(db, realm_a, create_account)
    with realm_context(realm_a.id):
        stolen = db.session.scalar(sa.select(NasClient.secret_enc))
    with realm_context(realm_b.id):
        add_nas(name="victim", address="192.0.2.20", secret="bravo-own-secret")
        db.session.flush()
        db.session.execute(sa.update(NasClient).values(secret_enc=stolen))
        with pytest.raises(DecryptionError):
            nas_secrets()
