"""The alerting YAML as pydantic models: types, allowed values and unknown keys checked in one place.

:func:`~tripcast.observability.alerting.config.parse_config` validates a file with
:class:`AlertingFile`, turns every pydantic error into a :class:`FieldProblem` named like
``rules[0].threshold`` or ``channels.slack.url``, then builds the manager's rule objects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from tripcast.core.domain.errors import FieldProblem
from tripcast.observability.alerting.config import DEFAULT_SMTP_PASSWORD_ENV

ModelT = TypeVar("ModelT", bound=BaseModel)
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _texts(value: Any) -> Any:
    """YAML label values may be numbers (``team: 7``); labels are text."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else value


Labels = Annotated[dict[str, str], BeforeValidator(_texts)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ChannelModel(_Strict):
    """One notification channel: ``log``, ``webhook`` (url) or ``email`` (host, recipients)."""

    type: Literal["log", "webhook", "email"]
    url: str | None = None
    timeout: float = Field(default=5.0, gt=0)
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "tripcast-alerts@localhost"
    recipients: list[str] | str | None = None
    starttls: bool = False
    username: str | None = None
    password: str | None = Field(default=None, repr=False)  # refused: see problems()
    password_env: str | None = None
    password_file: str | None = None

    def options(self) -> dict[str, Any]:
        """The options a channel is built from (those the file set, besides ``type``)."""
        return self.model_dump(exclude={"type", "password"}, exclude_unset=True)

    def problems(self, name: str) -> list[FieldProblem]:
        """Rules spanning fields, named ``channels.<name>.<field>``."""
        where = f"channels.{name}"
        found = []
        if self.type == "webhook" and not self.url:
            found.append(FieldProblem(f"{where}.url", "a webhook channel needs a url"))
        if self.type == "email" and (not self.host or not self.recipients):
            found.append(FieldProblem(where, "an email channel needs host and recipients"))
        if self.password is not None:
            found.append(
                FieldProblem(
                    f"{where}.password",
                    f"a password does not belong in the alerting YAML (it is shared and logged): remove it and "
                    f"set ${DEFAULT_SMTP_PASSWORD_ENV} (or password_env: OTHER_VARIABLE), or password_file: "
                    "/run/secrets/smtp-password",
                )
            )
        return found


class RuleModel(_Strict):
    """Fire when ``metric`` (series matching ``match``) satisfies ``condition threshold`` for ``for``."""

    name: str = Field(pattern=IDENTIFIER)
    metric: str = Field(pattern=IDENTIFIER)
    condition: Literal[">", ">=", "<", "<=", "==", "!="]
    threshold: float
    for_seconds: int = Field(default=0, alias="for")
    severity: Literal["info", "warning", "critical"] = "warning"
    match: Labels = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)
    summary: str = ""

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("for_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        """``90``, ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` -> seconds."""
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return int(value)
        text = str(value).strip()
        if len(text) >= 2 and text[:-1].isdigit() and text[-1] in _UNIT_SECONDS:
            return int(text[:-1]) * _UNIT_SECONDS[text[-1]]
        raise ValueError(f"{value!r} is not a duration like 30s, 10m, 2h, 1d")


class EscalationModel(_Strict):
    """Unacknowledged after ``after_minutes`` -> notify the next severity's channels (None: never)."""

    after_minutes: float | None = Field(default=30, ge=0)


class AlertingFile(_Strict):
    """The whole alerting YAML."""

    channels: dict[str, ChannelModel] = Field(default_factory=lambda: {"log": ChannelModel(type="log")})
    routes: dict[str, list[str]] = Field(default_factory=dict)
    escalation: EscalationModel = Field(default_factory=EscalationModel)
    repeat_interval_minutes: float = Field(default=240, ge=0)
    rules: list[RuleModel] = Field(default_factory=list)


class Settings(_Strict):
    """The file's scalar settings (validated apart from channels and rules, so every problem is reported)."""

    escalation: EscalationModel = Field(default_factory=EscalationModel)
    repeat_interval_minutes: float = Field(default=240, ge=0)
    routes: dict[str, list[str]] = Field(default_factory=dict)


def validated(model: type[ModelT], data: Any, where: str) -> tuple[ModelT | None, list[FieldProblem]]:
    """``data`` as ``model``, or None and the problems, each named under ``where``."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, field_problems(exc, where)


def field_problems(error: ValidationError, where: str = "") -> list[FieldProblem]:
    """Each pydantic error as a problem named by its path: ``rules[0].threshold``, ``channels.x.type``."""
    problems = []
    for item in error.errors():
        path = where
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(FieldProblem(path or "config", message))
    return problems
