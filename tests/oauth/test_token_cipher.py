"""Sealing refresh tokens with GOOGLE_TOKEN_KEYS: the first key seals, every key opens."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from middleware.token_cipher import SealBroken, TokenCipher, fernet_key_problem, split_keys

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_sealed_token_opens_and_holds_no_clear_text() -> None:
    cipher = TokenCipher([OLD])
    sealed = cipher.seal("1//refresh-token-in-clear")
    assert "refresh-token-in-clear" not in sealed and sealed.isascii()
    assert cipher.open(sealed) == "1//refresh-token-in-clear"
    assert cipher.seal("same") != cipher.seal("same")  # a fresh IV each time


def test_rotation_new_key_first_old_key_still_opens_then_reseal_frees_the_old_key() -> None:
    sealed_before = TokenCipher([OLD]).seal("tok")
    rotated = TokenCipher([NEW, OLD])
    assert rotated.open(sealed_before) == "tok"
    with pytest.raises(SealBroken):  # the new key alone cannot open what the old one sealed
        TokenCipher([NEW]).open(sealed_before)
    resealed = rotated.reseal(sealed_before)
    assert TokenCipher([NEW]).open(resealed) == "tok"
    with pytest.raises(SealBroken):
        TokenCipher([OLD]).open(resealed)


def test_tampering_and_age_are_refused() -> None:
    cipher = TokenCipher([OLD])
    sealed = cipher.seal("tok")
    with pytest.raises(SealBroken):
        cipher.open(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"))
    with pytest.raises(SealBroken):
        cipher.open("not even base64 !")
    assert cipher.open(sealed, max_age=60) == "tok"


def test_signatures_verify_under_any_listed_key_only() -> None:
    old = TokenCipher([OLD])
    signature = old.sign("connect", "rep@x.example")
    assert TokenCipher([NEW, OLD]).verify("connect", "rep@x.example", signature)
    assert not TokenCipher([NEW]).verify("connect", "rep@x.example", signature)
    assert not old.verify("connect", "other@x.example", signature)
    assert not old.verify("cookie", "rep@x.example", signature)


def test_bad_keys_are_named_by_position_never_quoted() -> None:
    assert split_keys(f" {NEW} ,, {OLD} ") == (NEW, OLD)
    problem = fernet_key_problem([NEW, "not-a-key-hunter2"])
    assert problem is not None and problem.startswith("key 2 of 2 is not a Fernet key")
    assert "hunter2" not in problem
    assert fernet_key_problem([]) == "no key given"
    with pytest.raises(ValueError):
        TokenCipher(["short"])
    assert OLD not in repr(TokenCipher([OLD]))
