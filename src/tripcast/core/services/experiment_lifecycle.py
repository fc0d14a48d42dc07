"""The lifecycle link of experiments (issue #14 item 5): retraining opens an A/B test of the champion against
its new challenger, and an approval that requires a won experiment finds the one that shipped the version.

Generic: a model, versions, an experiment; the experiment's rule (``ship`` / ``keep champion``) decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from tripcast.core.domain.access import Identity
from tripcast.core.domain.errors import NotFoundError, TripcastError
from tripcast.core.domain.experiment import Arm, Experiment, ExperimentDefinition, ExperimentState, Verdict
from tripcast.core.services.experiments import Experiments


@dataclass(frozen=True, slots=True)
class ChallengerExperimentPlan:
    """How retraining sets up the experiment of a challenger (from the retraining policy)."""

    start: bool = True
    treatment_share: float = 0.5
    minimum_detectable_effect: float = 0.05


@dataclass(frozen=True, slots=True)
class LaunchedExperiment:
    """The experiment retraining created, and why it is not running when it could not be started."""

    experiment: Experiment
    not_started_because: str = ""

    def describe(self) -> str:
        """One sentence for the retraining decision."""
        name = self.experiment.definition.experiment_id
        if self.not_started_because:
            return f"experiment {name} created as a draft, not started: {self.not_started_because}"
        return f"experiment {name} is {self.experiment.state.value}"


class ExperimentLifecycle:
    """Experiments as the lifecycle uses them: open one per challenger, find the one that won for a version."""

    def __init__(self, experiments: Experiments) -> None:
        self.experiments = experiments

    def launch_for_challenger(
        self,
        model: str,
        champion_version: str,
        challenger_version: str,
        *,
        name: str,
        plan: ChallengerExperimentPlan,
        actor: Identity,
    ) -> LaunchedExperiment:
        """Create the A/B test champion (control) vs challenger (treatment); start it when ``plan.start``.

        A start the store refuses (another experiment runs on the model's traffic) leaves a draft and says why.
        """
        share = plan.treatment_share
        definition = ExperimentDefinition(
            experiment_id=name,
            model_name=model,
            arms=(Arm("control", champion_version, 1.0 - share), Arm("treatment", challenger_version, share)),
            minimum_detectable_effect=plan.minimum_detectable_effect,
            description=f"retraining's challenger v{challenger_version} against champion v{champion_version}",
        )
        created = self.experiments.create(definition, actor=actor)
        if not plan.start:
            return LaunchedExperiment(created, "the retraining policy does not start experiments (experiment.start)")
        try:
            return LaunchedExperiment(self.experiments.start(name, actor=actor))
        except TripcastError as exc:
            return LaunchedExperiment(created, str(exc))

    def shipped(self, model: str, version: str) -> str | None:
        """The id of a decided experiment on ``model`` with verdict ship whose treatment arm serves ``version``."""
        registry = self.experiments.registry
        for experiment in reversed(self.experiments.list(ExperimentState.DECIDED)):
            definition = experiment.definition
            if definition.model_name != model or experiment.verdict is not Verdict.SHIP:
                continue
            for arm in definition.arms[1:]:
                try:
                    served = registry.get(model, arm.model_ref).version  # an alias: the version it names now
                except NotFoundError:
                    continue
                if served == version:
                    return definition.experiment_id
        return None
