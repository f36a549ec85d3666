"""Lab 5 (API Gateway -> SQS -> Lambda) beyond the shared tests of test_grading.py and
test_notebooks.py (which cover every lab): a correct variant of the integration (the
``action/SendMessage`` URI with QueueUrl as a parameter) keeps full marks, and the
integration role's permissions are read as IAM would read them."""

from __future__ import annotations

import json

from autograder.golden import MUTATIONS, TOTALS

LAB = "lab05"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders-queue"


def test_the_action_uri_variant_is_a_correct_answer(lab_course) -> None:
    variant = next(m for m in MUTATIONS[LAB] if m.name == "action-uri-variant")
    assert not variant.fails
    assert lab_course.grade(LAB, variant.name)["score"] == TOTALS[LAB]
    assert lab_course.nbgrader_score(LAB, variant.name) == TOTALS[LAB]


def _role(sb, name: str, *statements: dict, managed: dict | None = None) -> str:
    iam = sb.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "apigateway.amazonaws.com"}}]}))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    if managed:
        policy = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [managed]}))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def test_the_integration_role_must_allow_send_message_on_the_queue(sandbox) -> None:
    from autograder.probes import permission_problem

    def problem(arn: str) -> str | None:
        return permission_problem(sandbox, arn, "sqs:SendMessage", QUEUE_ARN)

    exact = _role(sandbox, "exact", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN})
    wild = _role(sandbox, "wild", {"Effect": "Allow", "Action": ["SQS:*"],
                                   "Resource": "arn:aws:sqs:*:123456789012:orders-*"})
    attached = _role(sandbox, "attached", managed={"Effect": "Allow", "Action": "sqs:Send*",
                                                   "Resource": "*"})
    assert problem(exact) is None and problem(wild) is None and problem(attached) is None

    consumer = _role(sandbox, "consumer", {"Effect": "Allow", "Resource": QUEUE_ARN,
                                           "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"]})
    assert problem(consumer) == (f"the role consumer does not allow sqs:SendMessage on {QUEUE_ARN} "
                                 f"(it allows sqs:ReceiveMessage on {QUEUE_ARN}; sqs:DeleteMessage "
                                 f"on {QUEUE_ARN})")
    other_queue = _role(sandbox, "other", {"Effect": "Allow", "Action": "sqs:SendMessage",
                                           "Resource": QUEUE_ARN.replace("orders-queue", "orders-dlq")})
    assert "does not allow sqs:SendMessage" in problem(other_queue)
    denied = _role(sandbox, "denied", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                   {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN})
    assert problem(denied).endswith("(a Deny statement refuses it)")
    assert problem(_role(sandbox, "empty")).endswith("(it has no permission policy)")
