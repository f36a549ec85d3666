"""EventBridge Pipes from Kafka beside Pipes from Kinesis, in the same run.

    python benchmarks/bench_pipes_kafka.py [--records 1000]

Puts ``--records`` JSON records on an MSK topic (4 partitions, the sandbox's broker) and
on a Kinesis stream (4 shards), each read by a pipe (``BatchSize`` 100, ``TRIM_HORIZON``)
into the same do-nothing Lambda function, and prints the real seconds from the first record
put to the last one delivered (``clock.advance(seconds=1)`` after producing), the ratio
Kafka/Kinesis, and the
real cost of an idle pump round with a Kafka pipe (it reads every partition's high
watermark at each round).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eventlab.kafka import tools  # noqa: E402
from eventlab.sandbox import Sandbox, inspect, zip_code  # noqa: E402

SOURCE = {"kafka": "ManagedStreamingKafkaParameters", "kinesis": "KinesisStreamParameters"}


def through_a_pipe(kind: str, records: int) -> tuple[float, float]:
    """(seconds to deliver ``records`` records, seconds per idle pump round)."""
    with Sandbox() as sb:
        iam = sb.client("iam")
        role = iam.create_role(RoleName="pipe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fn = sb.client("lambda").create_function(
            FunctionName="sink", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
            Code={"ZipFile": zip_code("def handler(event, context):\n    return {}\n")}, Timeout=30)["FunctionArn"]
        payloads = [json.dumps({"n": i}) for i in range(records)]
        if kind == "kafka":
            kafka = sb.client("kafka")
            source = kafka.create_cluster(ClusterName="bench", KafkaVersion="3.6.0", NumberOfBrokerNodes=1,
                                          BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large",
                                                               "ClientSubnets": ["subnet-a"]})["ClusterArn"]
            sb.clock.advance(minutes=5)
            bootstrap = kafka.get_bootstrap_brokers(ClusterArn=source)["BootstrapBrokerStringTls"]
            tools.create_topic(bootstrap, "bench", 4)
            params = {"TopicName": "bench"}
        else:
            kinesis = sb.client("kinesis")
            kinesis.create_stream(StreamName="bench", ShardCount=4)
            source = kinesis.describe_stream(StreamName="bench")["StreamDescription"]["StreamARN"]
            params = {}
        sb.client("pipes").create_pipe(Name="bench", Source=source, Target=fn, RoleArn=role, SourceParameters={
            SOURCE[kind]: {**params, "StartingPosition": "TRIM_HORIZON", "BatchSize": 100}})
        sb.clock.advance(seconds=1)
        with sb.clock.held():
            began = time.perf_counter()
            if kind == "kafka":
                tools.produce(bootstrap, "bench", [(str(i), p) for i, p in enumerate(payloads)])
            else:
                for start in range(0, records, 500):
                    kinesis.put_records(StreamName="bench", Records=[
                        {"Data": p.encode(), "PartitionKey": str(start + i)}
                        for i, p in enumerate(payloads[start:start + 500])])
            sb.clock.advance(seconds=1)
            took = time.perf_counter() - began
        delivered = sum(b.get("delivered", 0) for b in inspect.pipe_batches(sb, "bench"))
        assert delivered == records, f"{kind}: {delivered} of {records} delivered"
        began = time.perf_counter()
        for _ in range(100):
            sb.settle()
        return took, (time.perf_counter() - began) / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    kinesis, kinesis_idle = through_a_pipe("kinesis", args.records)
    kafka, kafka_idle = through_a_pipe("kafka", args.records)
    print(f"{args.records} records through a pipe (real seconds): Kafka {kafka:.2f}, Kinesis {kinesis:.2f}, "
          f"ratio {kafka / kinesis:.1f}")
    print(f"an idle pump round: Kafka pipe {kafka_idle * 1000:.2f} ms, Kinesis pipe {kinesis_idle * 1000:.2f} ms")


if __name__ == "__main__":
    main()
