"""``eventlab serve --quota NAME=VALUE`` makes a service API limit small enough to hit,
and the error reaches an SDK over HTTP as AWS sends it."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import serve_process
from tests.sandbox.helpers import NO_RETRY


def test_serve_quota_option_throttles_a_fifo_queue_and_put_events(tmp_path):
    with serve_process(tmp_path, "--quota", "sqs.fifo.calls=1", "--quota", "events.put-events=0") as (url, _):
        listed = json.loads(urllib.request.urlopen(f"{url}/_eventlab/quotas").read())["quotas"]
        assert listed["sqs.fifo.calls"]["value"] == 1 and listed["sqs.fifo.calls"]["default"] == 300
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=url, config=NO_RETRY,
                           aws_access_key_id="test", aws_secret_access_key="test")
        queue = sqs.create_queue(QueueName="q.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        codes = []
        for i in range(4):   # the clock runs with real time here: four calls well inside a second
            try:
                sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}", MessageGroupId="g")
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        assert codes[0] == "ok" and "ThrottlingException" in codes[1:]
        events = boto3.client("events", region_name="us-east-1", endpoint_url=url, config=NO_RETRY,
                              aws_access_key_id="test", aws_secret_access_key="test")
        with pytest.raises(ClientError) as raised:
            events.put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_serve_reports_each_regions_defaults_and_an_option_wins_in_every_region(tmp_path):
    with serve_process(tmp_path, "--region", "eu-south-1", "--quota", "sns.publish.messages=1") as (url, _):
        def quotas(query=""):
            return json.loads(urllib.request.urlopen(f"{url}/_eventlab/quotas{query}").read())

        milan = quotas()
        assert milan["region"] == "eu-south-1"      # the sandbox's region
        assert (milan["quotas"]["apigateway.account.rate"]["value"], milan["quotas"]["apigateway.account.burst"]["value"]) == (2_500, 1_250)
        virginia = quotas("?region=us-east-1")["quotas"]
        assert virginia["apigateway.account.rate"]["value"] == 10_000
        assert (virginia["sns.publish.messages"]["value"], virginia["sns.publish.messages"]["default"]) == (1, 30_000)
        assert milan["quotas"]["sns.publish.messages"]["value"] == 1
        sns = boto3.client("sns", region_name="us-east-1", endpoint_url=url, config=NO_RETRY,
                           aws_access_key_id="test", aws_secret_access_key="test")
        topic = sns.create_topic(Name="t")["TopicArn"]
        sns.publish(TopicArn=topic, Message="one")
        with pytest.raises(ClientError) as raised:      # well within the second the first one spent
            sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
                {"Id": str(i), "Message": "m"} for i in range(10)])
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
