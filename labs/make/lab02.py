"""Lab 2: a Kinesis real-time pipeline for IoT telemetry (source of labs/source/lab02_kinesis)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab02_kinesis"
C = "../../../content"


def build():
    return notebook([
        md("lab02-intro", f"""
        # Lab 2: a real-time telemetry pipeline with Kinesis

        Temperature sensors on the motors of a factory line send a reading every few seconds:
        `{{"device_id": "sensor-07", "temperature": 61.2, "humidity": 48.0, "ts": 1795900000}}`.
        Maintenance wants an **alert within seconds** when a motor goes above 80 °C, and
        analysts want the history in S3 to query **per device and minute**. You will build
        the [real-time analytics pipeline]({C}/patterns.md#real-time-analytics-pipeline) of
        the [IoT scenario]({C}/scenarios.md#real-time-iot-data-processing): one Kinesis data
        stream read by two independent consumers, a Lambda function that alerts and
        Amazon Data Firehose that lands the data in S3 for Athena.

        Use these names (the checks look for them): stream `telemetry`; topic
        `telemetry-alerts` and queue `alert-inbox`; functions `threshold-alerter` and
        `telemetry-transform`; bucket `telemetry-lake`; delivery stream `telemetry-to-s3`;
        Glue database `telemetry` with table `readings`; Athena named query
        `per-device-minute`; alarm `telemetry-consumer-lag`; dashboard `telemetry`.

        The checks read the sandbox and put their own probe readings (devices named
        `probe-...`) on your stream; they never read your variables. The sandbox clock is
        virtual: `sb.clock.advance(seconds=61)` lets a Firehose buffer interval pass at once.
        """),
        given("lab02-setup", """
        import json
        import random
        from collections import Counter

        from autograder.lab import architecture, check, hidden, start

        sb = start("lab02")   # a fresh local AWS; also zip_code(...), ROLE_ARN (Lambda's role),
                      # FIREHOSE_ROLE_ARN (Firehose's, for the delivery stream)
        kinesis, lam, sns, sqs = (sb.client(n) for n in ("kinesis", "lambda", "sns", "sqs"))
        firehose, s3, athena, cloudwatch = (sb.client(n) for n in ("firehose", "s3", "athena",
                                                                   "cloudwatch"))
        DEVICES = [f"sensor-{n:02d}" for n in range(12)]

        def make_readings(n, seed=2026):
            \"\"\"n readings from the 12 sensors, two seconds apart, starting now.\"\"\"
            rng, start_ts = random.Random(seed), int(sb.clock.time())
            return [{"device_id": DEVICES[i % len(DEVICES)],
                     "temperature": round(rng.uniform(55.0, 75.0), 1),
                     "humidity": round(rng.uniform(40.0, 55.0), 1),
                     "ts": start_ts + 2 * i} for i in range(n)]

        def shard_counts(stream="telemetry"):
            \"\"\"How many records each shard of the stream holds (read from TRIM_HORIZON).\"\"\"
            counts = {}
            for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
                it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                counts[shard["ShardId"]] = len(kinesis.get_records(ShardIterator=it,
                                                                   Limit=10000)["Records"])
            return counts

        def athena_sql(sql, database=None):
            \"\"\"Run one Athena statement; returns the result rows (the header row first).\"\"\"
            context = {"QueryExecutionContext": {"Database": database}} if database else {}
            qid = athena.start_query_execution(QueryString=sql, ResultConfiguration={
                "OutputLocation": "s3://telemetry-lake/athena-results/"}, **context)["QueryExecutionId"]
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            if status["State"] != "SUCCEEDED":
                raise RuntimeError(f"{status['State']}: {status.get('StateChangeReason')}")
            rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
            return [[d.get("VarCharValue") for d in row["Data"]] for row in rows]
        """),
        md("lab02-stream-md", f"""
        ## Step 1: an on-demand data stream

        A Kinesis data stream is an ordered, replayable log split into **shards**. Each
        shard takes 1 MB/s or 1,000 records/s of writes and serves 2 MB/s of reads shared by
        its consumers. In **provisioned** mode you choose and reshard the shard count; in
        **on-demand** mode AWS adds shards as traffic grows (a new stream starts at 4 MB/s of
        writes and scales up to 10 GB/s in the largest Regions, 200 MB/s elsewhere, in 2026)
        and you pay per GB instead of per shard-hour. A new sensor fleet with unknown,
        spiky traffic is the on-demand case. Retention is 24 hours unless you raise it (up
        to 365 days). See [capacity modes and limits]({C}/streams.md#capacity-modes-and-limits-2026).

        Create the stream `telemetry` in on-demand mode and keep its ARN in `stream_arn`.
        (The sandbox gives an on-demand stream 4 shards, and they never split.)
        """),
        solution("lab02-stream", "", """
        kinesis.create_stream(StreamName="telemetry",
                              StreamModeDetails={"StreamMode": "ON_DEMAND"})
        kinesis.get_waiter("stream_exists").wait(StreamName="telemetry")
        summary = kinesis.describe_stream_summary(StreamName="telemetry")["StreamDescriptionSummary"]
        stream_arn = summary["StreamARN"]
        print(summary["StreamStatus"], summary["StreamModeDetails"], summary["OpenShardCount"], "shards")
        """),
        check("lab02-check-stream", "stream"),
        md("lab02-producer-md", f"""
        ## Step 2: batch puts and the partition key

        `PutRecords` sends up to 500 records (5 MB) in one call. It is **not atomic**: the
        answer has a `FailedRecordCount`, and each failed entry carries an `ErrorCode` (for
        example `ProvisionedThroughputExceededException`); a producer must resend just those,
        with back-off. The **partition key** is hashed (MD5) to pick the shard, and order is
        kept per shard, so per key. Use a key with many values that spreads the load and
        whose order matters: the **device id**. A constant key (or a low-cardinality one
        such as the warehouse) puts everything on one *hot shard* that throttles while the
        others idle; more shards do not help. See
        [ordering and delivery guarantees]({C}/streams.md#ordering-and-delivery-guarantees).

        The sandbox enforces Kinesis's limits on its virtual clock, and this lab gives the
        stream a small share of AWS's capacity so that you meet them: 100 records per
        second for the stream (AWS starts a new on-demand stream at 4,000) and 20 per
        second for one partition key (one key always lands on one shard: 1,000/s on AWS).
        Your first `PutRecords` of 120 readings **will** come back with throttled entries.

        Write `send(readings)`: batches of at most 500, partition key = device id, resend
        failed entries with back-off on the virtual clock (`sb.clock.advance(seconds=...)`,
        never `time.sleep`), and return a `Counter` of records per shard (each successful
        entry of the answer has its `ShardId`). Then send `make_readings(120)`: all 120
        must reach the stream, once each.
        """),
        solution("lab02-producer", "", """
        def send(readings):
            per_shard = Counter()
            for i in range(0, len(readings), 500):
                entries = [{"Data": json.dumps(r).encode(), "PartitionKey": r["device_id"]}
                           for r in readings[i:i + 500]]
                for attempt in range(6):
                    answer = kinesis.put_records(StreamName="telemetry", Records=entries)
                    retry = []
                    for entry, result in zip(entries, answer["Records"], strict=True):
                        if "ErrorCode" in result:
                            retry.append(entry)
                        else:
                            per_shard[result["ShardId"]] += 1
                    if not retry:
                        break
                    entries = retry
                    sb.clock.advance(seconds=0.1 * 2 ** attempt)   # back-off, then resend
                else:
                    raise RuntimeError(f"{len(entries)} records still failing")
            return per_shard

        print(send(make_readings(120)))
        """),
        given("lab02-shards", """
        # What each shard of the stream holds: with a good key, every shard gets a share.
        shard_counts()
        """),
        check("lab02-check-producer", "producer"),
        md("lab02-alerts-md", f"""
        ## Step 3: a Lambda consumer that alerts

        An **event source mapping** reads each shard in order and invokes the function with
        batches (`BatchSize` up to 10,000, default 100; `MaximumBatchingWindowInSeconds` to
        wait for fuller batches). Records arrive base64-encoded in
        `record["kinesis"]["data"]`. A batch that raises is retried and **blocks its shard**
        until it succeeds or expires, so in production set `MaximumRetryAttempts`,
        `BisectBatchOnFunctionError` and an on-failure destination. Watch the function's
        `IteratorAge` (step 6): it grows when the consumer falls behind. See
        [consumers and error handling]({C}/streams.md#consumers-and-error-handling).

        Create the topic `telemetry-alerts`, the queue `alert-inbox` subscribed to it (raw
        delivery; on AWS it also needs a queue policy for the topic, see lab 1) and the
        function `threshold-alerter` (python3.12, role `ROLE_ARN`, environment `TOPIC_ARN`
        and `THRESHOLD` = 80). For every record above the threshold it publishes the
        reading (with its `device_id`) to the topic. Map the stream to it with
        `StartingPosition` `LATEST`.
        """),
        solution("lab02-alerts", "", '''
        ALERTER = """
        import base64, json, os
        import boto3

        sns = boto3.client("sns")
        THRESHOLD = float(os.environ["THRESHOLD"])

        def handler(event, context):
            alerts = 0
            for record in event["Records"]:
                reading = json.loads(base64.b64decode(record["kinesis"]["data"]))
                if reading["temperature"] > THRESHOLD:
                    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Subject="temperature alert",
                                Message=json.dumps(reading))
                    alerts += 1
            print(f"batch of {len(event['Records'])}, {alerts} alert(s)")
        """
        topic_arn = sns.create_topic(Name="telemetry-alerts")["TopicArn"]
        inbox_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=inbox_url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": inbox_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn,
                      Attributes={"RawMessageDelivery": "true"})
        lam.create_function(FunctionName="threshold-alerter", Runtime="python3.12", Role=ROLE_ARN,
                            Handler="lambda_function.handler", Timeout=30,
                            Code={"ZipFile": zip_code(ALERTER)},
                            Environment={"Variables": {"TOPIC_ARN": topic_arn, "THRESHOLD": "80"}})
        lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName="threshold-alerter",
                                        StartingPosition="LATEST", BatchSize=100,
                                        MaximumBatchingWindowInSeconds=1)
        '''),
        given("lab02-try-alerts", """
        # One overheating motor among normal readings; two seconds later the alert is in the inbox.
        send(make_readings(24, seed=1) + [{"device_id": "sensor-03", "temperature": 91.5,
                                            "humidity": 50.0, "ts": int(sb.clock.time())}])
        sb.clock.advance(seconds=2)
        inbox = sqs.get_queue_url(QueueName="alert-inbox")["QueueUrl"]
        print([m["Body"] for m in sqs.receive_message(QueueUrl=inbox,
                                                      MaxNumberOfMessages=10).get("Messages", [])])
        """),
        check("lab02-check-alerts", "alerts", hidden=True),
        md("lab02-firehose-md", f"""
        ## Step 4: Firehose from the stream to S3

        Firehose is the second, independent consumer of the same stream (a queue could not
        give both consumers every reading). With a **Kinesis stream as source**
        (`KinesisStreamSourceConfiguration`) it reads from the moment it is created. It
        **buffers** until `SizeInMBs` (1-128, default 5) or `IntervalInSeconds` (0-900,
        default 300) is reached, calls an optional **Lambda processor** with the buffer
        (each record must come back with its `recordId` and `result` `Ok`, `Dropped` or
        `ProcessingFailed`), compresses and writes one object under the **prefix**.
        `!{{timestamp:yyyy}}`-style expressions make date folders (`year=2026/month=11/...`)
        that Athena can prune, and a prefix with expressions needs an `ErrorOutputPrefix`.
        Firehose adds **no delimiter** between records: JSON must end in a newline or
        Athena reads only the first object of each line. See
        [Amazon Data Firehose]({C}/streams.md#amazon-data-firehose).

        Write the processor `telemetry-transform`: decode each record, round the temperature
        to one decimal, and return it as JSON plus `"\\n"` with result `Ok`. Create the
        bucket `telemetry-lake` and the delivery stream `telemetry-to-s3` with the role
        `FIREHOSE_ROLE_ARN` for both its source and its destination. Firehose assumes that
        role, so its trust policy names `firehose.amazonaws.com` (`ROLE_ARN` is Lambda's: AWS
        would refuse it here) and its permissions let it read the stream, invoke the
        processor and write the bucket; `start` made it for you. Give the stream the
        prefix `readings/year=!{{timestamp:yyyy}}/month=!{{timestamp:MM}}/day=!{{timestamp:dd}}/`,
        an error prefix under `errors/`, GZIP, a 60-second buffer and the processor.
        """),
        solution("lab02-firehose", "", '''
        TRANSFORM = """
        import base64, json

        def handler(event, context):
            out = []
            for record in event["records"]:
                reading = json.loads(base64.b64decode(record["data"]))
                reading["temperature"] = round(float(reading["temperature"]), 1)
                line = (json.dumps(reading) + "\\\\n").encode()
                out.append({"recordId": record["recordId"], "result": "Ok",
                            "data": base64.b64encode(line).decode()})
            return {"records": out}
        """
        transform_arn = lam.create_function(
            FunctionName="telemetry-transform", Runtime="python3.12", Role=ROLE_ARN,
            Handler="lambda_function.handler", Timeout=60,
            Code={"ZipFile": zip_code(TRANSFORM)})["FunctionArn"]
        s3.create_bucket(Bucket="telemetry-lake")
        firehose.create_delivery_stream(
            DeliveryStreamName="telemetry-to-s3", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": FIREHOSE_ROLE_ARN},
            ExtendedS3DestinationConfiguration={
                "BucketARN": "arn:aws:s3:::telemetry-lake", "RoleARN": FIREHOSE_ROLE_ARN,
                "Prefix": "readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/",
                "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60},
                "CompressionFormat": "GZIP",
                "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                    "Type": "Lambda",
                    "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": transform_arn}]}]},
            })
        '''),
        given("lab02-try-firehose", """
        # Three minutes of readings; after the 60-second buffer interval Firehose writes to S3.
        send(make_readings(90, seed=7))
        sb.clock.advance(seconds=61)
        for obj in s3.list_objects_v2(Bucket="telemetry-lake").get("Contents", []):
            print(obj["Key"], obj["Size"], "bytes")
        """),
        check("lab02-check-firehose", "firehose"),
        md("lab02-athena-md", f"""
        ## Step 5: Athena over the lake

        Athena runs SQL over the objects in S3 through a table in the Glue Data Catalog; you
        pay per TB scanned (10 MB minimum per query), so GZIP and date partitions that let a
        query skip folders cut the bill. The JSON SerDe reads one object per line. Folders
        named `key=value` become partitions after `MSCK REPAIR TABLE` (or `ALTER TABLE ADD
        PARTITION`, or partition projection, which needs no repair at all). See
        [streams cost drivers]({C}/cost.md#streams).

        Create the database `telemetry` and the table `readings` (`device_id string,
        temperature double, humidity double, ts bigint`, partitioned by `year`, `month`,
        `day` strings, OpenX JSON SerDe, location `s3://telemetry-lake/readings/`), load the
        partitions, then write the query analysts want: per device **and per minute**,
        columns `device_id`, `minute`, `min_temp`, `avg_temp`, `max_temp`. Save it as the
        named query `per-device-minute` (database `telemetry`) and run it. The helper
        `athena_sql(sql, database)` runs one statement and returns its rows.
        """),
        solution("lab02-athena", "", '''
        athena_sql("CREATE DATABASE IF NOT EXISTS telemetry")
        athena_sql("""
        CREATE EXTERNAL TABLE readings (device_id string, temperature double, humidity double, ts bigint)
        PARTITIONED BY (year string, month string, day string)
        ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
        LOCATION 's3://telemetry-lake/readings/'
        """, "telemetry")
        athena_sql("MSCK REPAIR TABLE readings", "telemetry")
        PER_MINUTE = """
        SELECT device_id,
               date_trunc('minute', from_unixtime(ts)) AS minute,
               min(temperature) AS min_temp,
               round(avg(temperature), 2) AS avg_temp,
               max(temperature) AS max_temp
        FROM readings
        GROUP BY device_id, date_trunc('minute', from_unixtime(ts))
        ORDER BY device_id, minute
        """
        athena.create_named_query(Name="per-device-minute", Database="telemetry",
                                  QueryString=PER_MINUTE)
        for row in athena_sql(PER_MINUTE, "telemetry")[:6]:
            print(row)
        '''),
        check("lab02-check-athena", "athena"),
        md("lab02-metrics-md", f"""
        ## Step 6: throughput and iterator age in CloudWatch

        Two numbers tell you whether the pipeline keeps up. `AWS/Kinesis` `IncomingRecords`
        (per `StreamName`) is the write throughput: compare it with what the shards can take.
        `AWS/Lambda` `IteratorAge` (per `FunctionName`, in milliseconds) is how old the last
        record of a batch was when the function got it: when it grows, the consumer falls
        behind and alerts come late, and at the retention period records are lost. Alarm on
        its **Maximum**, not its average (one lagging shard hides in an average). See
        [streams performance]({C}/performance.md#streams).

        Print the per-minute `Sum` of `IncomingRecords` and the `Maximum` of `IteratorAge`
        for the last hour. Create the alarm `telemetry-consumer-lag` (IteratorAge of
        `threshold-alerter`, Maximum, 60-second period, above 60,000 ms for 3 of 5 periods)
        and the dashboard `telemetry` graphing both metrics.
        """),
        solution("lab02-metrics", "", """
        end = sb.clock.now()
        for namespace, metric, dimension, stat in [
                ("AWS/Kinesis", "IncomingRecords", {"Name": "StreamName", "Value": "telemetry"}, "Sum"),
                ("AWS/Lambda", "IteratorAge", {"Name": "FunctionName", "Value": "threshold-alerter"},
                 "Maximum")]:
            points = cloudwatch.get_metric_statistics(
                Namespace=namespace, MetricName=metric, Dimensions=[dimension], Period=60,
                StartTime=end.timestamp() - 3600, EndTime=end.timestamp() + 60,
                Statistics=[stat])["Datapoints"]
            print(metric, [(p["Timestamp"].strftime("%H:%M"), p[stat])
                           for p in sorted(points, key=lambda p: p["Timestamp"])])
        cloudwatch.put_metric_alarm(
            AlarmName="telemetry-consumer-lag", Namespace="AWS/Lambda", MetricName="IteratorAge",
            Dimensions=[{"Name": "FunctionName", "Value": "threshold-alerter"}],
            Statistic="Maximum", Period=60, EvaluationPeriods=5, DatapointsToAlarm=3,
            Threshold=60000, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching")
        widgets = [
            {"type": "metric", "properties": {"title": "Readings in", "region": "us-east-1",
             "stat": "Sum", "period": 60,
             "metrics": [["AWS/Kinesis", "IncomingRecords", "StreamName", "telemetry"]]}},
            {"type": "metric", "properties": {"title": "Consumer lag (ms)", "region": "us-east-1",
             "stat": "Maximum", "period": 60,
             "metrics": [["AWS/Lambda", "IteratorAge", "FunctionName", "threshold-alerter"]]}},
        ]
        cloudwatch.put_dashboard(DashboardName="telemetry", DashboardBody=json.dumps({"widgets": widgets}))
        """),
        check("lab02-check-metrics", "metrics"),
        *scorecard("lab02"),
        md("lab02-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on the decision behind this lab:
        [Kinesis Data Streams vs SQS]({C}/decision-points.md#kinesis-data-streams-vs-sqs).
        Your answers are saved with your `eventlab quiz` progress.
        """),
        given("lab02-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="kinesis-vs-sqs", n=3)
        """),
    ])
