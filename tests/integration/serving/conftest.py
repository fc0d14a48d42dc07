"""The session's real champion for serving integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_champion import Champion, train_champion


@pytest.fixture(scope="session")
def champion(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Champion:
    return train_champion(shared_data_dir, tmp_path_factory.mktemp("serving-integration"))
