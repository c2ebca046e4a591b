"""Credentials are known in every form they travel in, and masked in all of them."""

from __future__ import annotations

import base64

from codex_conformance import credentials
from codex_conformance.redaction import MASK, Redactor


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_pair_is_known_literally_encoded_and_by_its_secret() -> None:
    forms = credentials.forms("Basic " + b64("client-x:s3cret-value"))
    assert {
        "client-x:s3cret-value",
        "s3cret-value",
        b64("client-x:s3cret-value"),
        "Basic " + b64("client-x:s3cret-value"),
    } <= forms


def test_short_values_are_not_masked() -> None:
    assert all(len(f) >= credentials.MIN_LENGTH for f in credentials.forms("cs:ab"))


def test_base64_of_a_pair_with_an_unknown_tenant_is_found_and_masked() -> None:
    """The plugin's AXONFLOW_AUTH after a registration is base64(tenant:secret)."""
    leaked = b64(f"cs_3cf03594-05c4-439e:{credentials.REGISTRATION_SECRET}")
    text = f"blocked (credentials: {leaked})"
    assert credentials.find(text) == {"the Community-SaaS registration secret"}
    assert Redactor().text(text) == f"blocked (credentials: {MASK})"


def test_registration_answers_register_the_derived_auth() -> None:
    credentials.register_registration({"tenant_id": "cs_unit-test-tenant", "secret": "unit-test-secret-42"})
    assert b64("cs_unit-test-tenant:unit-test-secret-42") in credentials.known()
    assert "unit-test-secret-42" in credentials.known()


def test_redactor_masks_header_values_in_text_and_data() -> None:
    redactor = Redactor()
    assert redactor.text("X-User-Token: abc") == f"X-User-Token: {MASK}"
    assert redactor.text("{'Authorization': 'Basic q'}") == f"{{'Authorization': '{MASK}'}}"
    assert redactor.data({"headers": {"authorization": "x"}, "t": credentials.VALID_LICENSE}) == {
        "headers": {"authorization": MASK},
        "t": MASK,
    }


def test_licence_tokens_are_fixed_for_any_process() -> None:
    assert credentials.license_token(4102444800) == credentials.VALID_LICENSE
    assert credentials.EXPIRED_LICENSE != credentials.VALID_LICENSE


def test_a_piece_of_a_token_in_a_truncated_repr_is_found_and_masked() -> None:
    """pytest's repr keeps a long argument's head and tail around '...'."""
    token = credentials.VALID_LICENSE
    text = f"file = 'license_token = {token[:40]}...{token[-30:]}' > ~/.codex/axonflow.toml"
    assert credentials.find(text) == set()  # no whole form left
    assert credentials.find(text, fragments=True) == {"licence token"}
    assert token[:40] not in Redactor().text(text) and token[-30:] not in Redactor().text(text)


def test_words_a_form_shares_with_ordinary_text_are_kept() -> None:
    text = "[codex-conformance] demo-client axonflow-local starting"
    assert Redactor().text(text) == text
    assert credentials.find(text, fragments=True) == set()


def test_a_registration_makes_every_kept_answer_stale() -> None:
    """The maskers keep each run's answer; a credential registered later is still masked
    in a text that was masked (and found clean) before it existed."""
    secret = "later-registered-s3cret-7f2a"
    encoded = b64(f"cs_later-tenant:{secret}")
    text = f"auth {encoded} and piece {secret}"
    assert Redactor().text(text) == text  # unknown yet: nothing to mask, the answers kept
    credentials.register(secret, "a secret registered later")
    assert Redactor().text(text) == f"auth {MASK} and piece {MASK}"


def test_forms_given_to_mask_encoded_are_judged_without_the_registered_ones() -> None:
    encoded = b64("k7:zebra-unicorn-88")
    text = f"x {encoded} y"
    assert credentials.mask_encoded(text, MASK) == text
    assert credentials.mask_encoded(text, MASK, {"zebra-unicorn-88": "given"}) == f"x {MASK} y"
    assert credentials.mask_encoded(text, MASK) == text  # the given forms were not kept


def test_strings_shorter_than_any_credential_pass_unchanged() -> None:
    redactor = Redactor({"abcdefgh"})
    assert redactor.text("abcdefg") == "abcdefg"
    assert redactor.text("abcdefgh") == MASK


def test_one_redactor_masks_again_after_a_registration_or_an_added_secret() -> None:
    """A redactor keeps what it masked; a new secret makes those answers stale."""
    redactor = Redactor()
    registered, added = "kept-answers-regist3red-secret", "kept-answers-added-s3cret"
    text = f"first {registered} then {added}"
    assert redactor.text(text) == text
    credentials.register(registered, "a secret registered after a masking")
    assert redactor.text(text) == f"first {MASK} then {added}"
    redactor.add(added)
    assert redactor.text(text) == f"first {MASK} then {MASK}"
