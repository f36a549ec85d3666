"""Pipe enrichment: a Lambda function or an EXPRESS state machine gets the batch and what it
returns goes to the target (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-enrichment.html)."""

from __future__ import annotations

import json

from tests.sandbox.helpers import depth, drain, make_function, make_queue
from tests.sandbox.pipes.helpers import role, running_pipe

ENRICH = '''
import json
def handler(event, context):
    # event: the batch, each record after the enrichment's InputTemplate
    return [{"order": e["id"], "customer": "cust-" + str(e["id"]), "size": len(event)} for e in event]
'''


def test_a_lambda_enrichment_gets_the_templated_batch_and_its_answer_is_delivered(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "enriched")
    fn = make_function(sandbox, "enrich", ENRICH)
    running_pipe(sandbox, "with-enrichment", arn, out_arn, Enrichment=fn,
                 EnrichmentParameters={"InputTemplate": '{"id": <$.body.id>}'},
                 SourceParameters={"SqsQueueParameters": {"BatchSize": 2, "MaximumBatchingWindowInSeconds": 5}})
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        for i in (1, 2):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": i}))
    got = sorted((json.loads(m) if isinstance(m, str) else m for m in drain(sandbox, out)), key=lambda e: e["order"])
    assert got == [{"order": 1, "customer": "cust-1", "size": 2}, {"order": 2, "customer": "cust-2", "size": 2}]


def test_a_failing_enrichment_leaves_the_messages_to_the_redrive_policy(sandbox):
    dlq, dlq_arn = make_queue(sandbox, "orders-dlq")
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="30", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    out, out_arn = make_queue(sandbox, "enriched")
    fn = make_function(sandbox, "broken", "def handler(event, context):\n    raise ValueError('no')\n")
    running_pipe(sandbox, "broken-enrichment", arn, out_arn, Enrichment=fn)
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    assert depth(sandbox, url) == 0 and depth(sandbox, dlq) == 0     # in flight
    sandbox.clock.advance(seconds=31)                                # received a second time, fails again
    sandbox.clock.advance(seconds=31)
    assert depth(sandbox, dlq) == 1 and drain(sandbox, out) == []
    assert [b["ok"] for b in sandbox.service("pipes").batches] == [False, False]


def test_an_express_state_machine_enriches_synchronously(sandbox):
    sfn = sandbox.client("stepfunctions")
    definition = {"StartAt": "Tag", "States": {"Tag": {"Type": "Pass", "Parameters": {"tagged.$": "$"},
                                                       "End": True}}}
    machine = sfn.create_state_machine(name="tagger", definition=json.dumps(definition), roleArn=role(sandbox),
                                       type="EXPRESS")["stateMachineArn"]
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "enriched")
    running_pipe(sandbox, "sfn-enrichment", arn, out_arn, Enrichment=machine,
                 EnrichmentParameters={"InputTemplate": "<$.body>"})
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody='{"id": 3}')
    [message] = drain(sandbox, out)
    assert message == {"tagged": [{"id": 3}]}


API = '''
import json
def handler(event, context):
    order = json.loads(event["body"])
    return {"statusCode": 200, "body": json.dumps({"order": order["id"], "via": event["rawPath"],
                                                   "tenant": event["headers"].get("x-tenant")})}
'''


def test_an_api_gateway_enrichment_is_called_per_event(sandbox):
    fn = make_function(sandbox, "api-handler", API)
    api = sandbox.client("apigatewayv2").create_api(Name="lookup", ProtocolType="HTTP", Target=fn)["ApiId"]
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "enriched")
    running_pipe(sandbox, "api-enrichment", arn, out_arn,
                 Enrichment=f"arn:aws:execute-api:us-east-1:123456789012:{api}/$default/POST/lookup/*",
                 EnrichmentParameters={"InputTemplate": "<$.body>", "HttpParameters": {
                     "PathParameterValues": ["orders"], "HeaderParameters": {"x-tenant": "acme"}}})
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        for i in (1, 2):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": i}))
    got = sorted(drain(sandbox, out), key=lambda e: e["order"])
    assert got == [{"order": 1, "via": "/lookup/orders", "tenant": "acme"},
                   {"order": 2, "via": "/lookup/orders", "tenant": "acme"}]
