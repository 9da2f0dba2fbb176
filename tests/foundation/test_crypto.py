"""Secrets at rest: AES-GCM bound to their context, rotation, no plaintext."""

import pytest

from app.security.crypto import DecryptionError, SecretBox


def test_round_trip_and_no_plaintext():
    box = SecretBox("key-one")
    token = box.encrypt("s3cret-value", context="realm:1:gateway")
    assert "s3cret" not in token
    assert box.decrypt(token, context="realm:1:gateway") == "s3cret-value"


def test_ciphertext_copied_to_another_realm_fails():
    box = SecretBox("key-one")
    token = box.encrypt("s3cret-value", context="realm:1:gateway")
    with pytest.raises(DecryptionError):
        box.decrypt(token, context="realm:2:gateway")


def test_rotation_re_encrypts_with_the_new_key():
    old = SecretBox("key-one")
    token = old.encrypt("value", context="c")
    rotated_box = SecretBox("key-two,key-one")
    assert rotated_box.needs_rotation(token)
    new_token = rotated_box.rotate(token, context="c")
    assert not rotated_box.needs_rotation(new_token)
    assert SecretBox("key-two").decrypt(new_token, context="c") == "value"
    with pytest.raises(DecryptionError):
        SecretBox("key-one").decrypt(new_token, context="c")


def test_tampered_or_garbage_values_fail():
    box = SecretBox("key-one")
    token = box.encrypt("value", context="c")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (tampered, "garbage", "v1:deadbeef:AAAA"):
        with pytest.raises(DecryptionError):
            box.decrypt(bad, context="c")
