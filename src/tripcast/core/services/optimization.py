"""Compile a registered model version to a faster inference form, on demand or right after registration."""

from __future__ import annotations

import logging

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.ports.tracking import CompiledForm, ModelCompiler, ModelRegistry, RegistrationHook

log = logging.getLogger(__name__)

#: Audit action of a published compiled form.
OPTIMIZED = "model.optimized"
#: gcc optimisation levels a user may ask for: Os gives the fastest predictions, O1 a ~3x faster build.
COMPILER_LEVELS = ("Os", "O0", "O1", "O2", "O3")


class Optimization:
    """The optimisation use case: compile a version, publish the form with it, audit ``model.optimized``."""

    def __init__(self, *, registry: ModelRegistry, compiler: ModelCompiler, clock: Clock, audit: AuditLog) -> None:
        self.registry = registry
        self.compiler = compiler
        self.clock = clock
        self.audit = audit

    def compile(self, name: str, ref: str, *, actor: str, level: str = "Os") -> CompiledForm:
        """Compile version ``ref`` (number or alias) of ``name`` at gcc level ``level``."""
        if level not in COMPILER_LEVELS:
            raise InvalidInputError(
                [FieldProblem("--level", f"must be one of {', '.join(COMPILER_LEVELS)}; got {level!r}")]
            )
        version = self.registry.get(name, ref)
        return self._publish(version, actor, options=(f"-{level}",))

    def compile_fitted(
        self, version: ModelVersion, model: TrainedModel, train: TrainingSet, *, actor: str
    ) -> CompiledForm:
        """Compile a version just registered from the fitted ``model``, checked on ``train`` rows too."""
        return self._publish(version, actor, options=None, fitted=model, check=train)

    def _publish(
        self,
        version: ModelVersion,
        actor: str,
        *,
        options: tuple[str, ...] | None,
        fitted: TrainedModel | None = None,
        check: TrainingSet | None = None,
    ) -> CompiledForm:
        form = self.compiler.compile(version, options=options, fitted=fitted, check=check)
        details = {
            "artifact": form.artifact_path,
            "sha256": form.sha256,
            "compiler_options": " ".join(form.compiler_options),
            "compile_seconds": f"{form.compile_seconds:.1f}",
            "max_abs_diff": f"{form.max_abs_diff:.3g}",
            "check_rows": str(form.check_rows),
        }
        subject = f"model:{version.name}/{version.version}"
        self.audit.record(AuditEvent(self.clock.now(), actor, OPTIMIZED, subject, details))
        return form


class CompileOnRegistration(RegistrationHook):
    """Compiles each newly registered version (setting ``compile_on_register``; off by default, since
    servers race the compiled form against LightGBM's single-row API and the latter often wins).

    A failed build or verification never fails the training run: the version is registered already and
    servers fall back to the native model, so the summary says what went wrong and nothing is published.
    """

    def __init__(self, optimization: Optimization, *, actor: str = "tripcast") -> None:
        self.optimization = optimization
        self.actor = actor

    def after_registration(self, version: ModelVersion, model: TrainedModel, train: TrainingSet) -> str:
        if not self.optimization.compiler.supports(model.flavor):
            return f"compiled form skipped: {model.flavor} models do not compile"
        try:
            form = self.optimization.compile_fitted(version, model, train, actor=self.actor)
        except Exception as exc:
            log.exception("compiling %s v%s failed", version.name, version.version)
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            return f"compiled form NOT published for v{version.version} (serving stays native): {first_line}"
        return (
            f"compiled inference form ({' '.join(form.compiler_options)}) in {form.compile_seconds:.1f} s, "
            f"max |compiled - native| {form.max_abs_diff:.1e} on {form.check_rows:,} rows -> {form.artifact_path}"
        )
