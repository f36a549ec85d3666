"""The study guide's Pattern 5 on the virtual clock: a burst into SQS far above what the
Lambda consumers may take, capped by concurrency; every message accounted for.

    python benchmarks/bench_backpressure.py [--rate 200] [--seconds 30] [--cap 10]

The consumer handles a batch of 10 in 1 s of virtual time (``time.sleep(1)``), with
reserved concurrency and ``MaximumConcurrency`` = ``--cap``: it processes ``cap x 10``
messages a virtual second.  Printed: the load's summary (sent, processed, DLQ, backlog
peak, drain time, unaccounted), the real time it took, and, as the baseline measured in
the same run, the real time of sending the same number of messages with no consumer at
all (so the ratio is what the consumers, pollers and concurrency accounting cost).

Issue 17's target is one virtual minute at 10,000 messages/s capped to 1,000/s in at most
60 s of real time; run with ``--rate 10000 --cap 100`` to measure it.

``--send backend`` puts the messages through moto's SQS backend instead of a boto3
``SendMessage`` each (the same queue model, metrics, consumers and pump; no request
encoding and decoding, which costs about 1-2 ms of CPU per message here): it measures
the delivery side alone.  CPU time is printed too, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import time

WORKER = """
import time
def handler(event, context):
    time.sleep(1.0)
    return {}
"""


def run(rate: int, seconds: int, cap: int, consumer: bool, send: str = "api") -> tuple[float, object]:
    from eventlab.sandbox import Sandbox, zip_code

    with Sandbox(background=False) as sb:
        sqs = sb.client("sqs")
        dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="orders", Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if consumer:
            role = sb.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            lam = sb.client("lambda")
            lam.create_function(FunctionName="worker", Runtime="python3.12", Role=role, Timeout=10,
                                Handler="lambda_function.handler", Code={"ZipFile": zip_code(WORKER)})
            lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=cap)
            lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", BatchSize=10,
                                            ScalingConfig={"MaximumConcurrency": cap})
        body = json.dumps({"order": 0, "items": 3})
        backend = sb.backend("sqs")

        def send_one(i: int) -> object:
            if send == "backend":
                return backend.send_message(queue_name="orders", message_body=body)
            return sqs.send_message(QueueUrl=url, MessageBody=body)

        started = time.perf_counter()
        result = sb.load(rate=rate, seconds=seconds, queue="orders", dlq="orders-dlq", drain=consumer,
                         send=send_one)
        return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--cap", type=int, default=10, help="consumer concurrency (x 10 msg/s)")
    parser.add_argument("--send", choices=["api", "backend"], default="api",
                        help="api: a boto3 SendMessage per message; backend: moto's SQS backend")
    args = parser.parse_args()
    base, _ = run(args.rate, args.seconds, args.cap, consumer=False, send=args.send)
    cpu = time.process_time()
    real, result = run(args.rate, args.seconds, args.cap, consumer=True, send=args.send)
    cpu = time.process_time() - cpu
    print(result)
    print(f"real time: {real:.1f} s with consumers (CPU {cpu:.1f} s in this process); baseline "
          f"(the same sends, no consumer) {base:.1f} s; ratio {real / base:.2f}x")


if __name__ == "__main__":
    main()
