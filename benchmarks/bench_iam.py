"""What identity policies cost: the same flows with ``iam="off"`` and ``iam="enforce"``.

    python benchmarks/bench_iam.py [--quick]

Prints the CPU time of each flow in both modes (fastest of the runs, one process) and the
ratio.  The flows: an EventBridge pipe SQS -> SQS (its role checked per batch under
enforce), and S3 put/get by an assumed role (each call checked under enforce).  Measured
2026-12-06 on 2 shared cores (issue 18), default mode against main's code in the same run,
median of 3 alternating processes: pipe 300 messages 0.559 s (main) vs 0.558 s (1.00x),
S3 400 calls 1.205 s vs 1.054 s (0.87x, noise); with iam="enforce" the S3 flow, now
checked, 1.128 s vs 1.241 s (1.10x) and the pipe flow 0.358 s vs 0.351 s (0.98x).  This
script, same day, fastest of 4: pipe 370 ms off vs 341 ms enforce (0.92x), S3 1,024 ms vs
1,040 ms (1.01x); a profile puts the S3 check at about 5% of the S3 calls' time.  ``--quick``
(2 runs, small flows) swings by 30% on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import time

import boto3

from eventlab.sandbox import Sandbox


def pipe_flow(sb: Sandbox, batches: int) -> None:
    sqs = sb.client("sqs")
    src = sqs.create_queue(QueueName="src")["QueueUrl"]
    out = sqs.create_queue(QueueName="out")["QueueUrl"]

    def arn(url: str) -> str:
        return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam = sb.client("iam")
    role = iam.create_role(RoleName="p", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="p", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    sb.client("pipes").create_pipe(Name="p", Source=arn(src), Target=arn(out), RoleArn=role)
    sb.clock.advance(seconds=1)
    for i in range(batches):
        sqs.send_message_batch(QueueUrl=src, Entries=[{"Id": str(j), "MessageBody": f"{i}-{j}"} for j in range(10)])
    got = 0
    while messages := sqs.receive_message(QueueUrl=out, MaxNumberOfMessages=10).get("Messages", []):
        got += len(messages)
    assert got == batches * 10, got


def s3_flow(sb: Sandbox, objects: int) -> None:
    sb.client("s3").create_bucket(Bucket="bench-bucket")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": sb.account_id}, "Action": "sts:AssumeRole"}]}
    iam = sb.client("iam")
    role = iam.create_role(RoleName="w", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="w", PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::bench-bucket/*"}]}))
    keys = sb.client("sts").assume_role(RoleArn=role, RoleSessionName="bench")["Credentials"]
    s3 = boto3.client("s3", region_name=sb.region, aws_access_key_id=keys["AccessKeyId"],
                      aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"])
    for i in range(objects):
        s3.put_object(Bucket="bench-bucket", Key=f"k{i}", Body=b"x")
        s3.get_object(Bucket="bench-bucket", Key=f"k{i}")["Body"].read()


def cpu(flow: str, mode: str, size: int) -> float:
    with Sandbox(iam=mode) as sb:
        start = time.process_time()
        (pipe_flow if flow == "pipe" else s3_flow)(sb, size)
        return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller flows, fewer runs")
    args = parser.parse_args()
    runs = 2 if args.quick else 4
    sizes = {"pipe": 10 if args.quick else 30, "s3": 50 if args.quick else 200}
    cpu("pipe", "off", 1)                                   # warm the imports up
    for flow, size in sizes.items():
        best = {mode: min(cpu(flow, mode, size) for _ in range(runs)) for mode in ("off", "enforce")}
        print(f"{flow:5} flow ({size})  iam=off CPU {best['off'] * 1000:7.0f} ms  "
              f"iam=enforce {best['enforce'] * 1000:7.0f} ms  ratio {best['enforce'] / best['off']:.2f}x")


if __name__ == "__main__":
    main()
