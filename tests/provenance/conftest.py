"""The test CA and a chain it issued (tests/helpers/pki.py), once per session."""
from __future__ import annotations

from pathlib import Path

import pytest
from pki import make_ca, write_pki


@pytest.fixture(scope="session")
def test_ca() -> tuple[bytes, bytes]:
    return make_ca()


@pytest.fixture(scope="session")
def ca_signed(test_ca, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(chain.pem, key.pem, ca.pem) files: a signing certificate issued by the test CA."""
    return write_pki(tmp_path_factory.mktemp("pki"), test_ca)
