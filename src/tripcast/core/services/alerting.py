"""``tripcast alerts``: list what fires, silence a rule, acknowledge an alert, raise one; each change audited.

Acknowledging is silencing one alert's exact label set: it stops repeats and escalation for that alert only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.ports.alerting import ActiveAlert, AlertGateway, AlertNotice
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock

SILENCED = "alert.silenced"
ACKNOWLEDGED = "alert.acknowledged"
RAISED = "alert.raised"
SEVERITIES = ("info", "warning", "critical")


class AlertOperations:
    """The operator's alert use cases over the alert manager."""

    def __init__(self, *, gateway: AlertGateway, audit: AuditLog, clock: Clock) -> None:
        self.gateway = gateway
        self.audit = audit
        self.clock = clock

    def alerts(self, *, state: str | None = None) -> list[ActiveAlert]:
        """Alerts held now (``state``: active or suppressed)."""
        held = self.gateway.alerts()
        return [alert for alert in held if state is None or alert.state == state]

    def silence_rule(self, rule: str, *, minutes: float, by: str, reason: str) -> str:
        """Mute every alert of ``rule`` for ``minutes``; the silence id."""
        _positive(minutes)
        if not rule.strip():
            raise InvalidInputError([FieldProblem("rule", "name the alert rule to silence")])
        until = self.clock.now() + timedelta(minutes=minutes)
        silence_id = self.gateway.silence({"alertname": rule}, until=until, created_by=by, comment=reason)
        self._record(by, SILENCED, f"alert-rule:{rule}", {"silence": silence_id, "minutes": f"{minutes:g}",
                                                            "reason": reason})  # fmt: skip
        return silence_id

    def acknowledge(self, fingerprint: str, *, by: str, minutes: float = 240) -> tuple[ActiveAlert, str]:
        """Silence the one alert whose fingerprint starts with ``fingerprint``: the alert and the silence id."""
        _positive(minutes)
        matches = [a for a in self.gateway.alerts() if fingerprint and a.fingerprint.startswith(fingerprint)]
        if len(matches) != 1:
            found = "no alert" if not matches else f"{len(matches)} alerts"
            raise NotFoundError(f"{found} with id {fingerprint!r}: `tripcast alerts list` shows the ids")
        alert = matches[0]
        until = self.clock.now() + timedelta(minutes=minutes)
        silence_id = self.gateway.silence(alert.labels, until=until, created_by=by, comment=f"acknowledged by {by}")
        self._record(by, ACKNOWLEDGED, f"alert:{alert.name}/{alert.fingerprint}", {"silence": silence_id})
        return alert, silence_id

    def raise_alerts(self, notices: Sequence[AlertNotice], *, by: str) -> None:
        """Send alerts a job raises itself; each audited."""
        for notice in notices:
            if notice.severity not in SEVERITIES:
                raise InvalidInputError([FieldProblem("severity", f"must be one of {', '.join(SEVERITIES)}")])
        self.gateway.send(notices)
        for notice in notices:
            self._record(by, RAISED, f"alert:{notice.name}", {"severity": notice.severity, "summary": notice.summary})

    def _record(self, actor: str, action: str, subject: str, details: dict[str, str]) -> None:
        self.audit.record(AuditEvent(self.clock.now(), actor, action, subject, details))


def _positive(minutes: float) -> None:
    if minutes <= 0:
        raise InvalidInputError([FieldProblem("minutes", f"must be > 0, got {minutes:g}")])
