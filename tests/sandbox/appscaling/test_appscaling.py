"""Application Auto Scaling: target tracking on queue depth scales an ECS service."""

from __future__ import annotations

import json

RESOURCE = "service/workers/consumer"
DIMENSION = "ecs:service:DesiredCount"


def ecs_service(sandbox, desired=1):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName="workers")
    ecs.register_task_definition(family="consumer", containerDefinitions=[
        {"name": "app", "image": "consumer:1", "memory": 256}])
    ecs.create_service(cluster="workers", serviceName="consumer", taskDefinition="consumer",
                       desiredCount=desired)


def desired(sandbox):
    return sandbox.client("ecs").describe_services(cluster="workers", services=["consumer"])[
        "services"][0]["desiredCount"]


def track_queue_depth(sandbox, target=100.0, **extra):
    autoscaling = sandbox.client("application-autoscaling")
    autoscaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE,
                                         ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=8)
    return autoscaling.put_scaling_policy(
        PolicyName="backlog", ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                "Dimensions": [{"Name": "QueueName", "Value": "jobs"}], "Statistic": "Average"},
            # Cooldowns off the one-minute alarm grid, so that "is the cooldown over?" never
            # lands exactly on an evaluation.
            "ScaleOutCooldown": 90, "ScaleInCooldown": 150, **extra})


def test_target_tracking_scales_out_on_backlog_and_back_in(sandbox):
    ecs_service(sandbox)
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    policy = track_queue_depth(sandbox)
    names = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert len(names) == 2 and "AlarmHigh" in names[0] and "AlarmLow" in names[1]
    high = sandbox.client("cloudwatch").describe_alarms(AlarmNames=[names[0]])["MetricAlarms"][0]
    assert (high["Threshold"], high["EvaluationPeriods"], high["ComparisonOperator"]) == (
        100.0, 3, "GreaterThanThreshold")

    for _batch in range(45):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "job"} for i in range(10)])

    def minute_by_minute(minutes):
        counts = []
        for _ in range(minutes):
            sandbox.clock.advance(minutes=1)
            counts.append(desired(sandbox))
        return counts

    # Three one-minute datapoints above 100 put AlarmHigh in ALARM: ceil(1 x 450 / 100) = 5.
    # The alarm stays in ALARM and repeats its action every minute; a TOTAL backlog does not
    # fall as tasks are added, so once the 90 s cooldown has passed it scales again,
    # ceil(5 x 450 / 100) = 23, held at MaxCapacity 8. (This is why AWS recommends tracking
    # the backlog per task instead.)
    assert minute_by_minute(6) == [1, 1, 5, 5, 8, 8]

    sqs.purge_queue(QueueUrl=url)
    # AlarmLow needs 15 one-minute datapoints below 90: ceil(8 x 0 / 100) = 0 -> MinCapacity 1.
    assert minute_by_minute(16) == [8] * 14 + [1, 1]

    activities = sandbox.client("application-autoscaling").describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=RESOURCE)["ScalingActivities"]
    assert [a["Description"] for a in activities] == [
        "Setting desired count to 1.", "Setting desired count to 8.", "Setting desired count to 5."]
    assert all(a["StatusCode"] == "Successful" for a in activities)


def test_disable_scale_in_creates_no_low_alarm_and_max_capacity_bounds(sandbox):
    ecs_service(sandbox)
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    policy = track_queue_depth(sandbox, target=10.0, DisableScaleIn=True)
    assert [("AlarmHigh" in a["AlarmName"]) for a in policy["Alarms"]] == [True]
    for _batch in range(30):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps(i)} for i in range(10)])
    sandbox.clock.advance(minutes=4)
    assert desired(sandbox) == 8  # ceil(300 / 10) = 30, held at MaxCapacity
