"""The composition root hands out the model-lifecycle use cases (``tc.ml``) wired to its own adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.bootstrap import bootstrap
from tripcast.core.services.optimization import CompileOnRegistration
from tripcast.settings import Settings


@pytest.mark.parametrize("compile_on_register", [False, True])
def test_ml_services_share_the_roots_adapters(tmp_path: Path, compile_on_register: bool) -> None:
    tc = bootstrap(Settings(data_dir=tmp_path / "data", compile_on_register=compile_on_register))

    training, promotion, optimization = tc.ml.training, tc.ml.promotion, tc.ml.optimization

    assert training.registry is tc.registry is promotion.registry is optimization.registry
    assert training.audit is tc.audit is promotion.audit is optimization.audit
    assert training.store is tc.store is promotion.store and promotion.locks is tc.registry_locks
    assert training.features is tc.features and training.tracker is tc.tracker
    compiling = [hook for hook in training.hooks if isinstance(hook, CompileOnRegistration)]
    assert len(compiling) == int(compile_on_register)
    assert all(hook.optimization is optimization for hook in compiling)
    assert tc.ml is tc.ml  # built once per root


def test_compile_on_register_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIPCAST_COMPILE_ON_REGISTER", raising=False)
    assert Settings(data_dir=tmp_path).compile_on_register is False
