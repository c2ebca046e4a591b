"""Credentials never reach an artifact (DEVELOPERS.md Standards)."""

from codex_conformance.redaction import MASK, Redactor


def test_secret_headers_are_masked_in_data() -> None:
    data = {
        "headers": {
            "Authorization": "Basic c2VjcmV0",
            "X-License-Token": "AXON-abc",
            "X-Axonflow-Client": "codex-plugin/1.7.0",
        }
    }
    out = Redactor().data(data)
    assert out["headers"]["Authorization"] == MASK
    assert out["headers"]["X-License-Token"] == MASK
    assert out["headers"]["X-Axonflow-Client"] == "codex-plugin/1.7.0"


def test_known_secret_values_are_masked_anywhere() -> None:
    redactor = Redactor({"s3cr3t-value"})
    assert "s3cr3t-value" not in redactor.text("curl -H 'x: s3cr3t-value' http://e")


def test_header_lines_in_text_are_masked() -> None:
    text = Redactor().text('Authorization: Basic Zm9vOmJhcg==\n"x-user-token": "eyJ.abc"')
    assert "Zm9vOmJhcg" not in text and "eyJ.abc" not in text


def test_env_masks_secret_names() -> None:
    env = Redactor().env({"AXONFLOW_AUTH": "Basic x", "AXONFLOW_ENDPOINT": "http://a"})
    assert env == {"AXONFLOW_AUTH": MASK, "AXONFLOW_ENDPOINT": "http://a"}
