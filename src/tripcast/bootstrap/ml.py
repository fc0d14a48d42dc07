"""Wiring of the model lifecycle: the training, promotion and optimisation use cases (``tc.ml``)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from tripcast.core.ports.ledger import PromotionLedger
from tripcast.core.ports.tracking import ModelCompiler, RegistrationHook
from tripcast.core.services.optimization import CompileOnRegistration, Optimization
from tripcast.core.services.promotion import Promotion
from tripcast.core.services.training import Training

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from tripcast.bootstrap import Tripcast
    from tripcast.core.domain.month import Month
    from tripcast.core.services.rollback import Rollback  # level: expert
    from tripcast.settings import Settings


@dataclass
class MlServices:
    """The model-lifecycle use cases, each built once from the root's adapters on first use."""

    root: Tripcast
    #: Who the registration hooks record as the actor of what they do (the user running the command).
    actor: str = field(default_factory=getpass.getuser)

    @cached_property
    def compiler(self) -> ModelCompiler:
        """Compiles LightGBM versions to native code (treelite + tl2cgen)."""
        from tripcast.mlops.serving.optimization.hook import TreeliteModelCompiler

        return TreeliteModelCompiler(self.root.tracking_store_uri)

    @cached_property
    def optimization(self) -> Optimization:
        """``tripcast optimize``: compile a version, publish it with the version, audit ``model.optimized``."""
        root = self.root
        return Optimization(registry=root.registry, compiler=self.compiler, clock=root.clock, audit=root.audit)

    @cached_property
    def registration_hooks(self) -> list[RegistrationHook]:
        """Run after each registration: the drift reference profile and, with ``compile_on_register``, the
        compiled inference form (off by default: a ~1 min build the server often does not pick)."""
        hooks = list(self.root.registration_hooks)
        if self.root.settings.compile_on_register:
            hooks.append(CompileOnRegistration(self.optimization, actor=self.actor))
        return hooks

    @cached_property
    def training(self) -> Training:
        """``tripcast train``: fit, track, register (audited ``model.registered``), run the hooks."""
        from tripcast.bootstrap import tracer_of

        root = self.root
        return Training(
            store=root.store,
            features=root.features,
            trainer=root.trainer,
            baseline_trainer=root.baseline_trainer,
            metrics=root.metrics,
            tracker=root.tracker,
            registry=root.registry,
            clock=root.clock,
            audit=root.audit,
            hooks=self.registration_hooks,
            tracer=tracer_of(root.settings),
        )

    @cached_property
    def promotion(self) -> Promotion:
        """``tripcast evaluate`` / ``promote``: the quality gate and audited alias moves."""
        root = self.root
        return Promotion(
            registry=root.registry,
            store=root.store,
            features=root.features,
            metrics=root.metrics,
            clock=root.clock,
            audit=root.audit,
            locks=root.registry_locks,
            ledger=self.ledger,
        )

    @cached_property
    def ledger(self) -> PromotionLedger | None:
        """The promotion ledger (expert level, :meth:`_sql_ledger`); None below it: aliases move without one."""
        ledger: PromotionLedger | None = None
        ledger = self._sql_ledger()  # level: expert
        return ledger

    def _sql_ledger(self) -> PromotionLedger | None:  # level: expert
        """The promotion ledger in the registry's database: every alias move commits with its row.

        None when the registry is reached through an MLflow server (``http(s)://``): the ledger must share
        the alias rows' database to move them in one transaction, so aliases then move without one.
        """
        from tripcast.mlops.model_registry.ledger import SqlPromotionLedger, keeps_a_ledger

        if not keeps_a_ledger(self.root.settings.tracking_uri):
            return None
        return SqlPromotionLedger(self.root.tracking_store_uri, self.root.clock)

    @cached_property  # level: expert
    def rollback(self) -> Rollback:
        """``tripcast rollback``: the champion back to an earlier ledger entry, audited, with its ledger row."""
        from tripcast.core.domain.errors import TripcastError
        from tripcast.core.services.rollback import Rollback

        if self.ledger is None:
            uri = self.root.settings.tracking_uri.split("://", 1)[0]
            raise TripcastError(
                f"rollback reads the promotion ledger, kept in the registry's SQL database; a {uri}:// "
                "tracking URI has none: point TRIPCAST_MLFLOW_TRACKING_URI at the database"
            )
        root = self.root
        return Rollback(promotion=self.promotion, ledger=self.ledger, registry=root.registry, clock=root.clock)


def synthetic_bootstrap(settings: Settings, months: Sequence[Month], rows: int) -> tuple[Tripcast, list[Path]]:
    """A root over generated months (``rows`` trips each) under ``<data_dir>/synthetic``, for a demo with
    no network and no TLC files; also the files written, in ``months`` order."""
    from tripcast.bootstrap import bootstrap
    from tripcast.data_engineering.tlc.synthetic import write_synthetic_month

    synthetic_dir = settings.data_dir / "synthetic"
    synthetic = settings.model_copy(update={"data_dir": synthetic_dir, "raw_dir": synthetic_dir / "raw"})
    written = [
        write_synthetic_month(synthetic.raw_path, month, rows, seed=month.month, service=settings.service)
        for month in months
    ]
    return bootstrap(synthetic, allow_download=False), written
