"""Fixtures of the unit tests (the builders they share are in ``tests/builders.py``)."""

from pathlib import Path

import pytest

from helpers import config
from tests.builders import make_image_folder


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    return make_image_folder(tmp_path / "natural_images")


@pytest.fixture
def smoke_settings(tmp_path) -> config.Settings:
    return config.load({"ENSEMBLE_PRESET": "smoke",
                        "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "artifacts")})
