"""Application Auto Scaling that scales: target tracking and step scaling on alarms.

moto stores scalable targets and policies, creates target-tracking alarms only for ECS
and DynamoDB (with a fixed threshold) and never acts on them.  Here, following
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html:

* ``PutScalingPolicy`` with ``TargetTrackingScaling`` creates the two alarms AWS creates:
  ``TargetTracking-<resource>-AlarmHigh-<uuid>`` (3 of 3 one-minute datapoints above the
  target) and, unless ``DisableScaleIn``, ``...-AlarmLow-<uuid>`` (15 of 15 below 90% of
  it), on the policy's ``CustomizedMetricSpecification`` or, for ECS, its predefined CPU or
  memory metric.  The alarms service (:mod:`eventlab.sandbox.cloudwatch.alarms`) evaluates them on the
  virtual clock and hands their actions here.
* Target tracking sets capacity to ``ceil(current * metric / target)`` (out on the high
  alarm, in on the low one); step scaling applies the ``StepAdjustments`` whose bounds hold
  ``metric - threshold`` (``ChangeInCapacity``, ``ExactCapacity``,
  ``PercentChangeInCapacity`` with ``MinAdjustmentMagnitude``).  Capacity stays within
  ``MinCapacity``/``MaxCapacity``, respects ``ScaleOutCooldown``/``ScaleInCooldown`` (or
  ``Cooldown``; 300 s when unset) and ``SuspendedState``.
* Capacity is the ECS service's ``desiredCount`` when the target is an ECS service that
  exists; otherwise the sandbox keeps it (starting at ``MinCapacity``):
  ``sandbox.service("appscaling").capacity(namespace, resource_id, dimension)``.
* ``DescribeScalingActivities`` (not in moto) lists what happened, newest first.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

DEFAULT_COOLDOWN = 300.0


class AppScalingService:
    name = "appscaling"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._capacity: dict[tuple[str, str, str], int] = {}
        self._last_scaled: dict[tuple[str, str, str, str], float] = {}
        self.activities: list[dict[str, Any]] = []

    # -- installation ----------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        # moto's Application Auto Scaling imports its ECS and EC2 models (about 0.8 s): patch
        # it when a sandbox first uses it.
        patches.after_import("moto.applicationautoscaling.models", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy
        from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

        service = self

        def make_create_alarms(original: Any) -> Any:
            def create_alarms(policy: Any) -> None:
                config = policy.target_tracking_scaling_policy_configuration or {}
                metric = _tracked_metric(policy, config)
                if policy.policy_type != "TargetTrackingScaling" or metric is None:
                    return original(policy)
                policy.alarms.extend(service._target_tracking_alarms(policy, config, metric))
            return create_alarms

        patches.wrap(FakeApplicationAutoscalingPolicy, "create_alarms", make_create_alarms,
                     "target tracking alarms use the policy's metric and target value")

        def describe_scaling_activities(response: Any) -> str:
            namespace = response._get_param("ServiceNamespace")
            resource_id = response._get_param("ResourceId")
            dimension = response._get_param("ScalableDimension")
            found = [a for a in reversed(service.activities)
                     if a["ServiceNamespace"] == namespace
                     and (resource_id is None or a["ResourceId"] == resource_id)
                     and (dimension is None or a["ScalableDimension"] == dimension)]
            return json.dumps({"ScalingActivities": found})

        patches.replace(ApplicationAutoScalingResponse, "describe_scaling_activities",
                        describe_scaling_activities,
                        "DescribeScalingActivities lists what the sandbox scaled (moto lacks it)")

    def _target_tracking_alarms(self, policy: Any, config: dict[str, Any],
                                metric: dict[str, Any]) -> list[Any]:
        cloudwatch = self.sandbox.backend("cloudwatch", policy.region_name)
        target = float(config["TargetValue"])
        action = f"{policy.policy_arn}:createdBy/{uuid.uuid4()}"
        description = f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}."
        common = dict(namespace=metric["Namespace"], metric_name=metric["MetricName"],
                      metric_data_queries=[], period=60, statistic=metric.get("Statistic", "Average"),
                      unit=metric.get("Unit"), dimensions=metric.get("Dimensions", []),
                      description=description, alarm_actions=[action])
        alarms = [cloudwatch.put_metric_alarm(
            name=f"TargetTracking-{policy.resource_id}-AlarmHigh-{uuid.uuid4()}",
            comparison_operator="GreaterThanThreshold", evaluation_periods=3, datapoints_to_alarm=3,
            threshold=target, **common)]
        if not config.get("DisableScaleIn"):
            alarms.append(cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-AlarmLow-{uuid.uuid4()}",
                comparison_operator="LessThanThreshold", evaluation_periods=15,
                datapoints_to_alarm=15, threshold=round(target * 0.9, 6), **common))
        return alarms

    # -- capacity ------------------------------------------------------------------------
    def capacity(self, namespace: str, resource_id: str, dimension: str) -> int | None:
        """Current capacity of a scalable target (None if it is not registered)."""
        target = self._target(namespace, resource_id, dimension)
        if target is None:
            return None
        service = self._ecs_service(resource_id) if namespace == "ecs" else None
        if service is not None:
            return int(service.desired_count)
        return self._capacity.setdefault((namespace, resource_id, dimension), int(target.min_capacity or 0))

    def _set_capacity(self, namespace: str, resource_id: str, dimension: str, value: int) -> None:
        service = self._ecs_service(resource_id) if namespace == "ecs" else None
        if service is not None:
            service.desired_count = value
        self._capacity[(namespace, resource_id, dimension)] = value

    def _target(self, namespace: str, resource_id: str, dimension: str) -> Any:
        backend = self.sandbox.backend("applicationautoscaling")
        for target in backend.targets.get(dimension, {}).values():
            if target.service_namespace == namespace and target.resource_id == resource_id:
                return target
        return None

    def _ecs_service(self, resource_id: str) -> Any:
        parts = resource_id.split("/")
        if len(parts) != 3 or parts[0] != "service":
            return None
        ecs = self.sandbox.backend("ecs")
        return ecs.services.get(f"{parts[1]}:{parts[2]}")

    # -- alarm actions -------------------------------------------------------------------
    def alarm_fired(self, action_arn: str, alarm: Any) -> None:
        """An alarm in ALARM state runs a scaling policy's action (called by the alarms service)."""
        backend = self.sandbox.backend("applicationautoscaling")
        policy = next((p for p in backend.policies.values() if action_arn.startswith(p.policy_arn)), None)
        if policy is None:
            raise ValueError(f"no scaling policy for the alarm action {action_arn}")
        target = self._target(policy.service_namespace, policy.resource_id, policy.scalable_dimension)
        if target is None:
            raise ValueError(f"the scalable target {policy.resource_id} is not registered")
        value = self._latest(alarm)
        if value is None:
            return
        current = self.capacity(policy.service_namespace, policy.resource_id, policy.scalable_dimension)
        assert current is not None
        if policy.policy_type == "TargetTrackingScaling":
            config = policy.target_tracking_scaling_policy_configuration or {}
            wanted = math.ceil(max(current, 1) * value / float(config["TargetValue"]))
            direction = "out" if "AlarmHigh" in alarm.name else "in"
            if (direction == "out") != (wanted > current):
                return
            cooldown = config.get("ScaleOutCooldown" if direction == "out" else "ScaleInCooldown")
        else:
            config = policy.step_scaling_policy_configuration or {}
            wanted = _step(config, current, value - float(alarm.threshold))
            if wanted == current:
                return
            direction = "out" if wanted > current else "in"
            cooldown = config.get("Cooldown")
        suspended = target.suspended_state or {}
        if suspended.get("DynamicScalingOutSuspended" if direction == "out" else "DynamicScalingInSuspended"):
            return
        key = (policy.service_namespace, policy.resource_id, policy.scalable_dimension, direction)
        now = self.sandbox.clock.time()
        wait = DEFAULT_COOLDOWN if cooldown is None else float(cooldown)
        if now - self._last_scaled.get(key, -math.inf) < wait:
            return
        bounded = max(int(target.min_capacity or 0), min(int(target.max_capacity or wanted), wanted))
        if bounded == current:
            return
        self._set_capacity(policy.service_namespace, policy.resource_id, policy.scalable_dimension, bounded)
        self._last_scaled[key] = now
        stamp = datetime.fromtimestamp(now, UTC)
        self.activities.append({
            "ActivityId": str(uuid.uuid4()), "ServiceNamespace": policy.service_namespace,
            "ResourceId": policy.resource_id, "ScalableDimension": policy.scalable_dimension,
            "Description": f"Setting desired count to {bounded}.",
            "Cause": f"monitor alarm {alarm.name} in state ALARM triggered policy {policy.policy_name}",
            "StartTime": stamp.timestamp(), "EndTime": stamp.timestamp(),
            "StatusCode": "Successful", "StatusMessage": f"Successfully set desired count to {bounded}.",
        })

    def _latest(self, alarm: Any) -> float | None:
        """The alarm's statistic over its last period (what it just evaluated)."""
        end = datetime.fromtimestamp(self.sandbox.clock.time(), UTC)
        points = self.sandbox.client("cloudwatch").get_metric_statistics(
            Namespace=alarm.namespace, MetricName=alarm.metric_name,
            Dimensions=[{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
            StartTime=end - timedelta(seconds=int(alarm.period) * 2), EndTime=end,
            Period=int(alarm.period), Statistics=[alarm.statistic])["Datapoints"]
        if not points:
            return None
        return float(max(points, key=lambda p: p["Timestamp"])[alarm.statistic])


def _tracked_metric(policy: Any, config: dict[str, Any]) -> dict[str, Any] | None:
    custom = config.get("CustomizedMetricSpecification")
    if custom and custom.get("MetricName"):
        return custom
    predefined = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
    if policy.service_namespace == "ecs" and predefined.startswith("ECSService"):
        _, cluster, service = policy.resource_id.split("/")
        return {"Namespace": "AWS/ECS", "Statistic": "Average", "Unit": "Percent",
                "MetricName": "MemoryUtilization" if "Memory" in predefined else "CPUUtilization",
                "Dimensions": [{"Name": "ClusterName", "Value": cluster},
                               {"Name": "ServiceName", "Value": service}]}
    return None


def _step(config: dict[str, Any], current: int, breach: float) -> int:
    """Capacity after the step adjustment whose bounds hold ``breach`` (metric - threshold)."""
    for step in config.get("StepAdjustments", []):
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        if (lower is None or breach >= float(lower)) and (upper is None or breach < float(upper)):
            adjustment = float(step["ScalingAdjustment"])
            kind = config.get("AdjustmentType", "ChangeInCapacity")
            if kind == "ExactCapacity":
                return int(adjustment)
            if kind == "PercentChangeInCapacity":
                change = current * adjustment / 100
                change = math.floor(change) if change > 0 else math.ceil(change)
                minimum = int(config.get("MinAdjustmentMagnitude") or 0)
                if minimum and abs(change) < minimum:
                    change = int(math.copysign(minimum, adjustment))
                return current + int(change)
            return current + int(adjustment)
    return current
