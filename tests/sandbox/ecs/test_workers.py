"""Target tracking on the SQS backlog per task, end to end: ECS workers (sandbox-specific)
consume a queue at a rate per task; Application Auto Scaling sets their number
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html)."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest

from eventlab.sandbox.ecs.workers import WorkersError

RESOURCE = "service/workers/consumer"
DIMENSION = "ecs:service:DesiredCount"
BACKLOG = {"Namespace": "Workers", "MetricName": "BacklogPerTask"}


def setup(sandbox):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName="workers")
    ecs.register_task_definition(family="consumer", containerDefinitions=[
        {"name": "app", "image": "consumer:1", "memory": 256}])
    ecs.create_service(cluster="workers", serviceName="consumer", taskDefinition="consumer", desiredCount=1)
    url = sandbox.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    scaling = sandbox.client("application-autoscaling")
    scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
                                     MinCapacity=1, MaxCapacity=10)
    # acceptable backlog per task: 60 s of latency x 1 message/s per task = 60
    scaling.put_scaling_policy(
        PolicyName="backlog-per-task", ServiceNamespace="ecs", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0, "ScaleOutCooldown": 90, "ScaleInCooldown": 150,
            "CustomizedMetricSpecification": {
                **BACKLOG, "Dimensions": [{"Name": "QueueName", "Value": "jobs"}], "Statistic": "Average"}})
    return url


def tasks(sandbox):
    return sandbox.client("ecs").describe_services(cluster="workers", services=["consumer"])[
        "services"][0]["desiredCount"]


def visible(sandbox, url):
    return int(sandbox.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
        "ApproximateNumberOfMessages"])


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_a_burst_scales_the_workers_out_the_backlog_drains_and_they_scale_in(sandbox, over):
    url = setup(sandbox)
    spec = {"cluster": "workers", "service": "consumer", "queue_url": url, "per_task_rate": 1,
            "backlog_metric": BACKLOG}
    if over == "http":
        request = urllib.request.Request(f"{sandbox.endpoint_url}/_eventlab/ecs-workers",
                                         data=json.dumps(spec).encode(), method="POST")
        assert json.loads(urllib.request.urlopen(request).read())["perTaskRate"] == 1.0
    else:
        sandbox.service("ecs-workers").consume(**spec)
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        for batch in range(120):                           # a burst of 1,200 jobs
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{batch}-{i}"}
                                                          for i in range(10)])
        counts, backlog = [], []
        for _ in range(30):
            sandbox.clock.advance(minutes=1)
            counts.append(tasks(sandbox))
            backlog.append(visible(sandbox, url))
    # one task takes 60 a minute: the backlog per task stays above 60 for three minutes,
    # AlarmHigh fires and tracking sets ceil(1 x backlog/task / 60) tasks; more tasks
    # drain faster; once the queue is empty for 15 minutes AlarmLow brings them back to 1
    assert counts[0] == 1 and max(counts) > 5
    peak = counts.index(max(counts))
    assert backlog[peak + 3] < backlog[peak] and 0 in backlog
    assert counts[-1] == 1
    assert backlog[-1] == 0
    workers = sandbox.service("ecs-workers").workers[0]
    assert workers.consumed == 1200                        # every job taken once
    # the custom metric is the backlog divided by the tasks at each minute's end
    start = sandbox.clock.now() - timedelta(hours=1)
    points = sandbox.client("cloudwatch").get_metric_statistics(
        **BACKLOG, Dimensions=[{"Name": "QueueName", "Value": "jobs"}], StartTime=start,
        EndTime=sandbox.clock.now(), Period=60, Statistics=["Maximum"])["Datapoints"]
    assert max(p["Maximum"] for p in points) == pytest.approx(max(b / t for _, t, b in workers.history))
    assert max(p["Maximum"] for p in points) > 60


def test_workers_need_an_existing_service_and_a_sensible_rate(sandbox):
    url = setup(sandbox)
    workers = sandbox.service("ecs-workers")
    with pytest.raises(WorkersError, match="no ECS service 'nope'"):
        workers.consume(cluster="workers", service="nope", queue_url=url, per_task_rate=1)
    with pytest.raises(WorkersError, match="per_task_rate=0"):
        workers.consume(cluster="workers", service="consumer", queue_url=url, per_task_rate=0)
    with pytest.raises(WorkersError, match="Namespace and a MetricName"):
        workers.consume(cluster="workers", service="consumer", queue_url=url, per_task_rate=1,
                        backlog_metric={"MetricName": "x"})


def test_tasks_consume_at_their_rate_each_virtual_second(sandbox):
    url = setup(sandbox)
    sandbox.client("ecs").update_service(cluster="workers", service="consumer", desiredCount=3)
    sandbox.service("ecs-workers").consume(cluster="workers", service="consumer", queue_url=url,
                                           per_task_rate=2.5)
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        for _batch in range(10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(10)])
        sandbox.clock.advance(seconds=10)                  # 3 tasks x 2.5/s x 10 s = 75
        assert visible(sandbox, url) == 25
