"""The study guide's Pattern 5 on the virtual clock: a burst into SQS far above what the
Lambda consumers may take, capped by concurrency; every message accounted for.

    python benchmarks/bench_backpressure.py [--rate 10000] [--seconds 60] [--consumer-rate 1000]
                                            [--cap 10] [--batch 100] [--send backend|api]

Issue 17's figures are the defaults: one virtual minute at 10,000 messages/s (600,000
messages) into a queue whose Lambda consumer can take 1,000/s, because its concurrency is
capped: reserved concurrency and ``ScalingConfig.MaximumConcurrency`` = ``--cap``, each
message costing ``cap / consumer-rate`` seconds of virtual time in the handler
(``time.sleep``), ``--batch`` messages an invocation (``MaximumBatchingWindowInSeconds`` 1,
as AWS requires for batches above 10).  Printed: the load's summary (sent, accepted,
processed, in DLQ, still queued, unaccounted, backlog peak, drain time), each counted from
the sandbox (deleted by the consumers, ``NumberOfMessagesDeleted``; depth of the DLQ and
the queue), not assumed; the real and CPU time it took; and, as the baseline measured in
the same run, the real time of sending the same messages with no consumer at all (so the
ratio is what the consumers, pollers and concurrency accounting cost).

``--send backend`` (the default) puts the messages through moto's SQS backend (the same
queue model, metrics, consumers and pump; no request encoding and decoding, which costs
about 5 ms a message through boto3 here); ``--send api`` makes a boto3 ``SendMessage`` each
(use a smaller ``--rate``).  ``--batch 10`` is the console's default batch: ten times as
many invocations (each a real round trip to the function's Python process).
"""

from __future__ import annotations

import argparse
import json
import time

WORKER = """
import os
import time
def handler(event, context):
    time.sleep(float(os.environ["SECONDS_PER_MESSAGE"]) * len(event["Records"]))
    return {}
"""


def run(rate: int, seconds: int, cap: int, consumer: bool, send: str = "backend", batch: int = 100,
        consumer_rate: float = 1000.0) -> tuple[float, object]:
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
            lam.create_function(FunctionName="worker", Runtime="python3.12", Role=role, Timeout=60,
                                Handler="lambda_function.handler", Code={"ZipFile": zip_code(WORKER)},
                                Environment={"Variables": {"SECONDS_PER_MESSAGE": str(cap / consumer_rate)}})
            lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=cap)
            lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", BatchSize=batch,
                                            MaximumBatchingWindowInSeconds=1 if batch > 10 else 0,
                                            ScalingConfig={"MaximumConcurrency": max(2, cap)})
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
    parser.add_argument("--rate", type=int, default=10_000, help="messages sent per virtual second")
    parser.add_argument("--seconds", type=int, default=60, help="virtual seconds of load")
    parser.add_argument("--consumer-rate", type=float, default=1000.0,
                        help="messages per virtual second the consumers can take at full concurrency")
    parser.add_argument("--cap", type=int, default=10, help="the consumer's concurrency")
    parser.add_argument("--batch", type=int, default=100, help="the mapping's BatchSize")
    parser.add_argument("--send", choices=["api", "backend"], default="backend",
                        help="api: a boto3 SendMessage per message; backend: moto's SQS backend")
    args = parser.parse_args()
    options = {"send": args.send, "batch": args.batch, "consumer_rate": args.consumer_rate}
    base, _ = run(args.rate, args.seconds, args.cap, consumer=False, **options)
    cpu = time.process_time()
    real, result = run(args.rate, args.seconds, args.cap, consumer=True, **options)
    cpu = time.process_time() - cpu
    print(result)
    print(f"real time: {real:.1f} s with consumers (CPU {cpu:.1f} s in this process); baseline "
          f"(the same sends, no consumer) {base:.1f} s; ratio {real / base:.2f}x")


if __name__ == "__main__":
    main()
