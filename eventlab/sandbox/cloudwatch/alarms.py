"""CloudWatch metric alarms, evaluated on the virtual clock.

moto stores alarms but never evaluates them (a new alarm even starts in ``OK``).  Here,
following https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html:

* a new alarm starts in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation");
  ``PutMetricAlarm`` on an existing alarm keeps its state;
* at every minute boundary that is a multiple of the alarm's ``Period`` (aligned to the
  epoch), the last ``EvaluationPeriods`` complete periods are read (``Statistic`` of the
  metric with exactly the alarm's dimensions, from :mod:`eventlab.sandbox.cloudwatch.metrics`),
  ``TreatMissingData`` (``missing``, ``ignore``, ``breaching``, ``notBreaching``) is
  applied, and the alarm goes to ``ALARM`` when at least ``DatapointsToAlarm`` of them
  breach ``Threshold`` under ``ComparisonOperator``, else ``OK``; with no data at all,
  ``INSUFFICIENT_DATA`` (``missing``) or no change (``ignore``);
* a change of state records ``StateReason``/``StateReasonData`` in AWS's wording and a
  ``StateUpdate`` history item (``DescribeAlarmHistory``, which moto lacks, is added),
  and runs the actions of the new state when ``ActionsEnabled``: an SNS topic gets the
  JSON notification AWS sends (``AlarmName`` ... ``Trigger``) with the subject
  ``ALARM: "name" in US East (N. Virginia)``; an Application Auto Scaling policy ARN is
  handed to :mod:`eventlab.sandbox.appscaling.service` (and, as on AWS, again every minute the
  alarm stays in that state).  ``SetAlarmState`` runs the actions too.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)", "eu-north-1": "EU (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-south-1": "Asia Pacific (Mumbai)",
    "ca-central-1": "Canada (Central)", "sa-east-1": "South America (Sao Paulo)",
}
_OPERATORS = {
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
_STAT_UPPER = {"SampleCount": "SAMPLE_COUNT", "Average": "AVERAGE", "Sum": "SUM",
               "Minimum": "MINIMUM", "Maximum": "MAXIMUM"}


def _iso(epoch: float) -> str:
    """AWS's alarm timestamp format: 2019-10-01T13:56:40.985+0000."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _short(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


class AlarmsService:
    name = "alarms"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._due: list[float] = []
        self._lock = threading.Lock()
        self._regions: set[str] = set()
        self.history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.cloudwatch.models import CloudWatchBackend
        from moto.cloudwatch.responses import CloudWatchResponse

        service = self
        metrics = self.sandbox.service("metrics")
        metrics.minute_listeners.append(self._on_minute)
        metrics.keep_ticking.append(self._have_alarms)

        def make_put(original: Any) -> Any:
            def put_metric_alarm(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
                old = backend.alarms.get(name)
                alarm = original(backend, name, *args, **kwargs)
                now = service.sandbox.clock.time()
                if old is not None:
                    alarm.state_value, alarm.state_reason = old.state_value, old.state_reason
                    alarm.state_reason_data = old.state_reason_data
                    alarm.state_updated_timestamp = old.state_updated_timestamp
                    verb = "updated"
                else:
                    alarm.state_value = "INSUFFICIENT_DATA"
                    alarm.state_reason = "Unchecked: Initial alarm creation"
                    verb = "created"
                if alarm.rule is None:
                    service._record(backend.region_name, name, now, "ConfigurationUpdate",
                                    f'Alarm "{name}" {verb}', {"type": verb.capitalize()})
                service._regions.add(backend.region_name)
                metrics.arm()
                return alarm
            return put_metric_alarm

        def make_set_state(original: Any) -> Any:
            def set_alarm_state(backend: Any, alarm_name: str, reason: str, reason_data: str,
                                state_value: str) -> None:
                alarm = backend.alarms.get(alarm_name)
                old = alarm.state_value if alarm is not None else None
                original(backend, alarm_name, reason, reason_data, state_value)
                if alarm is not None and old != state_value:
                    service._transitioned(backend, alarm, old or "OK", service.sandbox.clock.time())
            return set_alarm_state

        def describe_alarm_history(response: Any) -> Any:
            from moto.core.responses import ActionResult

            return ActionResult({"AlarmHistoryItems": service.describe_history(
                response.region, response._get_param("AlarmName"),
                response._get_param("HistoryItemType"), response._get_param("StartDate"),
                response._get_param("EndDate"), response._get_param("MaxRecords"),
                response._get_param("ScanBy"))})

        patches.wrap(CloudWatchBackend, "put_metric_alarm", make_put,
                     "a new alarm starts in INSUFFICIENT_DATA; updating one keeps its state")
        patches.wrap(CloudWatchBackend, "set_alarm_state", make_set_state,
                     "SetAlarmState records history and runs the alarm's actions")
        patches.replace(CloudWatchResponse, "describe_alarm_history", describe_alarm_history,
                        "DescribeAlarmHistory (moto answers 'not implemented')")

    def _have_alarms(self) -> bool:
        return any(self.sandbox.backend("cloudwatch", r).alarms for r in list(self._regions))

    # -- evaluation ----------------------------------------------------------------
    def _on_minute(self, boundary: float) -> None:
        with self._lock:
            self._due.append(boundary)

    def poll(self) -> bool:
        with self._lock:
            due, self._due = self._due, []
        for boundary in due:
            for region in list(self._regions):
                backend = self.sandbox.backend("cloudwatch", region)
                for alarm in list(backend.alarms.values()):
                    if alarm.rule is None:
                        self.evaluate(backend, alarm, boundary)
        return bool(due)

    def _metric(self, alarm: Any) -> tuple[str, str, tuple[tuple[str, str], ...], str, int] | None:
        """(namespace, name, dims, statistic, period) of what the alarm watches."""
        if alarm.metric_name:
            dims = tuple(sorted((d.name, d.value) for d in alarm.dimensions))
            return alarm.namespace, alarm.metric_name, dims, alarm.statistic, int(alarm.period)
        stats = [q.metric_stat for q in alarm.metric_data_queries
                 if q.metric_stat is not None and str(q.return_data).lower() != "false"]
        if len(stats) != 1:
            return None  # metric math: not evaluated
        stat = stats[0]
        dims = tuple(sorted((d.name, d.value) for d in stat.metric.dimensions))
        return stat.metric.namespace, stat.metric.metric_name, dims, stat.stat, int(stat.period)

    def evaluate(self, backend: Any, alarm: Any, boundary: float) -> None:
        watched = self._metric(alarm)
        if watched is None or alarm.statistic is None and alarm.metric_name:
            return  # ExtendedStatistic and metric math are not evaluated (see the differences page)
        namespace, name, dims, statistic, period = watched
        period = max(period, 60)
        if int(boundary) % period:
            return
        metrics = self.sandbox.service("metrics")
        n = int(alarm.evaluation_periods or 1)
        m = int(alarm.datapoints_to_alarm or n)
        points: list[tuple[float, float | None, float]] = []  # (period start, value, count), newest first
        for k in range(1, n + 1):
            start = boundary - k * period
            stats = metrics.statistics(backend.region_name, namespace, name, dims, start, start + period)
            points.append((start, None if stats is None else stats[statistic],
                           0.0 if stats is None else stats["SampleCount"]))
        words, breaches = _OPERATORS.get(alarm.comparison_operator, _OPERATORS["GreaterThanThreshold"])
        threshold = float(alarm.threshold)
        treat = alarm.treat_missing_data or "missing"
        judged: list[tuple[float, float | None, bool]] = []  # (start, value, breaching)
        for start, value, _ in points:
            if value is None:
                if treat in ("breaching", "notBreaching"):
                    judged.append((start, None, treat == "breaching"))
                continue
            judged.append((start, value, breaches(value, threshold)))
        old = alarm.state_value
        if not judged:
            if treat == "ignore":
                return
            new = "INSUFFICIENT_DATA"
            count = len(points)
            reason = (f"Insufficient Data: {count} datapoint{'s were' if count > 1 else ' was'} "
                      "unknown.")
        else:
            breaching = [j for j in judged if j[2]]
            new = "ALARM" if len(breaching) >= m else "OK"
            shown = breaching if new == "ALARM" else [j for j in judged if not j[2]]
            listed = ", ".join(f"{v} ({_short(s)})" for s, v, _ in shown if v is not None)
            minimum = m if new == "ALARM" else 1
            reason = (f"Threshold Crossed: {len(shown)} out of the last {n} datapoints [{listed}] "
                      f"was {'' if new == 'ALARM' else 'not '}{words} the threshold ({threshold}) "
                      f"(minimum {minimum} datapoint{'s' if minimum > 1 else ''} for "
                      f"{old} -> {new} transition).")
        if new == old:
            if new != "OK" and alarm.actions_enabled:
                self._repeat_scaling_actions(backend, alarm, new)
            return
        present = [(s, v, c) for s, v, c in reversed(points) if v is not None]
        reason_data = {
            "version": "1.0", "queryDate": _iso(self.sandbox.clock.time()),
            "startDate": _iso(boundary - n * period), "statistic": statistic, "period": period,
            "recentDatapoints": [v for _, v, _ in present], "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": _iso(s), "sampleCount": c, "value": v}
                                    for s, v, c in reversed(present)],
        }
        alarm.update_state(reason, json.dumps(reason_data), new)
        alarm.state_updated_timestamp = self.sandbox.clock.utcnow()
        self._transitioned(backend, alarm, old, self.sandbox.clock.time())

    # -- state changes and actions -----------------------------------------------------
    def _transitioned(self, backend: Any, alarm: Any, old: str, now: float) -> None:
        new = alarm.state_value
        self._record(backend.region_name, alarm.name, now, "StateUpdate",
                     f"Alarm updated from {old} to {new}",
                     {"version": "1.0",
                      "oldState": {"stateValue": old},
                      "newState": {"stateValue": new, "stateReason": alarm.state_reason,
                                   "stateReasonData": _maybe_json(alarm.state_reason_data)}})
        if not alarm.actions_enabled:
            return
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                   "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[new] or []
        message = self.notification(backend, alarm, old, now)
        for arn in actions:
            self._run_action(backend, alarm, arn, message, now)

    def _repeat_scaling_actions(self, backend: Any, alarm: Any, state: str) -> None:
        actions = alarm.alarm_actions if state == "ALARM" else alarm.insufficient_data_actions
        for arn in actions or []:
            if ":autoscaling:" in arn:
                self._run_action(backend, alarm, arn, {}, self.sandbox.clock.time())

    def _run_action(self, backend: Any, alarm: Any, arn: str, message: dict[str, Any],
                    now: float) -> None:
        region = backend.region_name
        try:
            if arn.split(":")[2] == "sns":
                subject = f'{alarm.state_value}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'
                self.sandbox.client("sns", arn.split(":")[3], arn.split(":")[4]).publish(
                    TopicArn=arn, Subject=subject[:100], Message=json.dumps(message))
                self.notifications.append({"alarm": alarm.name, "topic": arn, "message": message})
            elif ":autoscaling:" in arn:
                self.sandbox.service("appscaling").alarm_fired(arn, alarm)
            else:
                raise ValueError(f"the sandbox does not run alarm actions of this kind: {arn}")
        except Exception as exc:
            self._record(region, alarm.name, now, "Action", f"Failed to execute action {arn}",
                         {"actionState": "Failed", "notificationResource": arn, "error": str(exc)})
            return
        self._record(region, alarm.name, now, "Action", f"Successfully executed action {arn}",
                     {"actionState": "Succeeded", "notificationResource": arn,
                      "stateUpdateTimestamp": int(now * 1000)})

    def notification(self, backend: Any, alarm: Any, old: str, now: float) -> dict[str, Any]:
        """The JSON body CloudWatch publishes to an SNS topic on a state change."""
        region = backend.region_name
        trigger: dict[str, Any] = {
            "MetricName": alarm.metric_name, "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
        }
        if alarm.extended_statistic:
            trigger["ExtendedStatistic"] = alarm.extended_statistic
        else:
            trigger["Statistic"] = _STAT_UPPER.get(alarm.statistic, str(alarm.statistic).upper())
        trigger.update({
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": int(alarm.period or 0), "EvaluationPeriods": int(alarm.evaluation_periods),
            "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
            "ComparisonOperator": alarm.comparison_operator, "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        })
        return {
            "AlarmName": alarm.name, "AlarmDescription": alarm.description or None,
            "AWSAccountId": backend.account_id,
            "AlarmConfigurationUpdatedTimestamp": _iso(_epoch(alarm.configuration_updated_timestamp)),
            "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason,
            "StateChangeTime": _iso(now), "Region": REGION_NAMES.get(region, region),
            "AlarmArn": alarm.alarm_arn, "OldStateValue": old,
            "OKActions": list(alarm.ok_actions or []), "AlarmActions": list(alarm.alarm_actions or []),
            "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
            "Trigger": trigger,
        }

    # -- history -------------------------------------------------------------------
    def _record(self, region: str, name: str, now: float, kind: str, summary: str,
                data: dict[str, Any]) -> None:
        with self._lock:
            self.history.setdefault((region, name), []).append({
                "AlarmName": name, "AlarmType": "MetricAlarm",
                "Timestamp": datetime.fromtimestamp(now, UTC), "HistoryItemType": kind,
                "HistorySummary": summary, "HistoryData": json.dumps(data)})

    def describe_history(self, region: str, name: str | None, kind: str | None, start: Any,
                         end: Any, max_records: Any, scan_by: str | None) -> list[dict[str, Any]]:
        items = [item for (r, n), entries in list(self.history.items()) if r == region
                 and (not name or n == name) for item in entries
                 if (not kind or item["HistoryItemType"] == kind)
                 and (start is None or item["Timestamp"].timestamp() >= _epoch(start))
                 and (end is None or item["Timestamp"].timestamp() <= _epoch(end))]
        items.sort(key=lambda i: i["Timestamp"], reverse=(scan_by or "TimestampDescending") == "TimestampDescending")
        return items[:int(max_records)] if max_records else items


def _maybe_json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text
