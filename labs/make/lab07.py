"""Lab 7: backpressure. A burst far above the backend's rate, absorbed by SQS and drained
by a capped Lambda consumer (source of labs/source/lab07_backpressure)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab07_backpressure"
C = "../../../content"


def build():
    return notebook([
        md("lab07-intro", f"""
        # Lab 7: backpressure under a burst

        A sale opens and the shop's checkout sends orders far faster than the warehouse
        system can reserve stock. The study guide's version: 10,000 requests a second in front
        of a backend that takes 1,000. Here everything is scaled down so that a run takes
        seconds: the **warehouse takes 4 orders a second**, one reservation takes **0.5 s**,
        and the burst is **20 orders a second for 30 s**. The ratios, not the sizes, are the
        lesson.

        The order API (API Gateway writing to SQS, lab 5) is given. You build the consumer
        side so that **no order is lost and the warehouse is never pushed past its rate**:
        the queue takes the burst, a capped consumer drains it, alarms tell operations what
        is happening, and you **predict how long the drain takes before you run it**. See
        [message buffering]({C}/patterns.md#message-buffering),
        [backpressure arithmetic]({C}/performance.md#backpressure-arithmetic) and
        [Lambda scaling and throttling per source]({C}/performance.md#lambda-scaling-and-throttling-per-source).

        Names the checks look for: queues `orders-queue` and `orders-dlq`; function
        `order-processor`; SNS topic `ops-alerts` with the queue `ops-inbox` subscribed;
        alarms `orders-age-alarm` and `orders-dlq-alarm`. Step 6's checks post
        **their own burst** through the API and grade what happened. Step 7 replaces the
        Lambda cap with container workers (the ECS service `order-workers` on its own queue
        `orders-work-queue`) scaled by target tracking on the **backlog per task**; its
        checks run a burst of their own there.
        """),
        given("lab07-setup", """
        import json

        import requests

        from autograder.lab import architecture, check, start
        from autograder.plot import line_chart

        sb = start("lab07")   # a fresh local AWS; zip_code(...), ROLE_ARN, APIGATEWAY_ROLE_ARN
        sqs, lam, apigw = sb.client("sqs"), sb.client("lambda"), sb.client("apigateway")
        cw, sns = sb.client("cloudwatch"), sb.client("sns")
        REGION, ACCOUNT = sb.region, sb.account_id

        WAREHOUSE_RATE = 4        # orders a second the warehouse takes (AWS's scenario: 1,000)
        CALL_SECONDS = 0.5        # one reservation; so one execution reserves 2 orders a second
        BURST_RATE = 20           # the burst: orders a second ...
        BURST_SECONDS = 30        # ... for 30 s
        FUNCTION_TIMEOUT = 30     # order-processor's timeout, in seconds
        """),
        md("lab07-queues-md", f"""
        ## Step 1: a queue sized for a consumer that is throttled now and then

        Create `orders-dlq` (14 days' retention) and `orders-queue` with a redrive policy to
        it. Two numbers matter under load:

        - **visibility timeout**: at least six times the function's timeout plus the
          batching window (AWS's advice for Lambda consumers). The function will time out
          after 30 s and batch for up to 5 s, so at least 185 s;
        - **`maxReceiveCount`**: every time the poller takes a batch counts as a receive,
          *also when the invocation is then throttled* and the batch comes back after the
          visibility timeout. With `maxReceiveCount` 1 or 2, a burst that throttles a few
          batches sends good orders to the DLQ. AWS recommends at least 5.

        See [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).
        Keep `queue_url`, `queue_arn`, `dlq_url` and `dlq_arn`.
        """),
        solution("lab07-queues", "", """
        dlq_url = sqs.create_queue(QueueName="orders-dlq",
                                   Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}
        queue_url = sqs.create_queue(QueueName="orders-queue", Attributes={
            "VisibilityTimeout": "200", "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        """),
        check("lab07-check-queues", "queues"),
        given("lab07-api", r"""
        # The order API of lab 5, given: POST /orders writes the JSON body to orders-queue.
        api_id = apigw.create_rest_api(name="orders-api")["id"]
        root_id = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        orders_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="orders")["id"]
        apigw.put_method(restApiId=api_id, resourceId=orders_id, httpMethod="POST", authorizationType="NONE")
        apigw.put_integration(
            restApiId=api_id, resourceId=orders_id, httpMethod="POST", type="AWS",
            integrationHttpMethod="POST", credentials=APIGATEWAY_ROLE_ARN,
            uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/orders-queue",
            requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
            passthroughBehavior="NEVER")
        apigw.put_method_response(restApiId=api_id, resourceId=orders_id, httpMethod="POST", statusCode="202")
        apigw.put_integration_response(restApiId=api_id, resourceId=orders_id, httpMethod="POST",
                                       statusCode="202", selectionPattern="",
                                       responseTemplates={"application/json": '{"accepted": true}'})
        apigw.create_deployment(restApiId=api_id, stageName="prod")
        invoke_url = f"{sb.endpoint_url}/restapis/{api_id}/prod/_user_request_/orders"
        r = requests.post(invoke_url, json={"orderId": "ord-first", "sku": "SKU-7", "quantity": 1}, timeout=10)
        print("POST /orders:", r.status_code, r.text)   # it waits in the queue until step 2's consumer

        # The warehouse client, given: ship it in the function's package as warehouse.py.
        # A reservation takes 0.5 s (time.sleep in a Lambda function costs virtual time).
        WAREHOUSE = '''
        import time

        def reserve(order):
            time.sleep(0.5)
            print(f"reserved {order['orderId']} at {time.time():.3f}")
        '''
        """),
        md("lab07-consumer-md", f"""
        ## Step 2: a consumer capped at the warehouse's rate

        Write the handler: for each record, parse the order; an order whose `quantity` is
        not a positive number fails (report its `messageId` in `batchItemFailures`); every
        other order goes to `warehouse.reserve(order)`.

        Then size the consumer. One execution reserves 1 / 0.5 = 2 orders a second, so the
        warehouse's 4 a second allow **2 executions at once**. Two settings can cap a
        function fed by SQS, and they behave differently under a burst:

        - the mapping's **`ScalingConfig.MaximumConcurrency`** (2 to 1,000) caps how many
          pollers, and so invocations, the mapping runs: excess messages simply wait in the
          queue;
        - the function's **reserved concurrency** caps the function for every caller. On its
          own it is a trap: the mapping still starts 5 pollers, the extra batches are
          throttled, and they come back after the visibility timeout with a higher receive
          count.

        Create `order-processor` (runtime `python3.12`, role `ROLE_ARN`, handler
        `lambda_function.handler`, timeout `FUNCTION_TIMEOUT`, code
        `zip_code(HANDLER, extra_files={{"warehouse.py": WAREHOUSE}})`), give it reserved
        concurrency 2 (so no other function can take its share), and map `orders-queue` to
        it with batches of 10 (5 s at the warehouse, well inside the timeout), a batching
        window of 5 s, `MaximumConcurrency` 2 and `ReportBatchItemFailures`. See
        [Lambda scaling and throttling per source]({C}/performance.md#lambda-scaling-and-throttling-per-source).
        """),
        solution("lab07-handler", "", '''
        HANDLER = """
        import json

        import warehouse

        def handler(event, context):
            failures = []
            for record in event["Records"]:
                try:
                    order = json.loads(record["body"])
                    if not int(order["quantity"]) > 0:
                        raise ValueError(f"bad quantity {order['quantity']}")
                except Exception as exc:
                    print("failed", record["messageId"], exc)
                    failures.append({"itemIdentifier": record["messageId"]})
                    continue
                warehouse.reserve(order)
            return {"batchItemFailures": failures}
        """
        '''),
        solution("lab07-consumer", "", """
        lam.create_function(FunctionName="order-processor", Runtime="python3.12", Role=ROLE_ARN,
                            Handler="lambda_function.handler", Timeout=FUNCTION_TIMEOUT,
                            Code={"ZipFile": zip_code(HANDLER, extra_files={"warehouse.py": WAREHOUSE})})
        lam.put_function_concurrency(FunctionName="order-processor", ReservedConcurrentExecutions=2)
        mapping_uuid = lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName="order-processor",
            BatchSize=10, MaximumBatchingWindowInSeconds=5,
            ScalingConfig={"MaximumConcurrency": 2},
            FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
        """),
        check("lab07-check-consumer", "consumer"),
        md("lab07-alarms-md", f"""
        ## Step 3: alarms that see the backlog and the dead letters

        While the queue absorbs a burst, the API keeps answering 202: only the metrics show
        that orders are waiting. Create the SNS topic `ops-alerts` with the queue
        `ops-inbox` subscribed (the operator's stand-in, with a queue policy that lets the
        topic send, as in lab 1), then two alarms, each `Maximum`
        over 60 s, one evaluation period, `AlarmActions` and `OKActions` = the topic:

        - `orders-age-alarm`: `ApproximateAgeOfOldestMessage` of `orders-queue`
          `GreaterThanThreshold` 60: an order has waited more than a minute;
        - `orders-dlq-alarm`: `ApproximateNumberOfMessagesVisible` of `orders-dlq`
          `GreaterThanThreshold` 0: any dead letter needs a person.

        Age, not depth, is the number a customer feels: 500 waiting orders are fine if they
        drain in 20 s. See [message buffering]({C}/patterns.md#message-buffering).
        """),
        solution("lab07-alarms", "", """
        topic_arn = sns.create_topic(Name="ops-alerts")["TopicArn"]
        inbox_url = sqs.create_queue(QueueName="ops-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(
            QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=inbox_url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": inbox_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        for name, metric, queue_name, threshold in [
            ("orders-age-alarm", "ApproximateAgeOfOldestMessage", "orders-queue", 60),
            ("orders-dlq-alarm", "ApproximateNumberOfMessagesVisible", "orders-dlq", 0),
        ]:
            cw.put_metric_alarm(
                AlarmName=name, Namespace="AWS/SQS", MetricName=metric,
                Dimensions=[{"Name": "QueueName", "Value": queue_name}], Statistic="Maximum",
                Period=60, EvaluationPeriods=1, Threshold=threshold,
                ComparisonOperator="GreaterThanThreshold",
                AlarmActions=[topic_arn], OKActions=[topic_arn])
        """),
        check("lab07-check-alarms", "alarms"),
        md("lab07-predict-md", f"""
        ## Step 4: predict the drain before you run it

        While the burst lasts, orders arrive at `BURST_RATE` and leave at the consumer's
        rate (executions at once x orders a second per execution, never more than the
        warehouse takes). The difference piles up: the backlog at the burst's end is
        (arrival rate - drain rate) x burst length. After the burst it drains at the drain
        rate alone. Compute `PREDICTED_DRAIN_S`, the seconds from the burst's end until the
        queue is empty, from the constants of the set-up cell and your consumer's cap, and
        record it on the queue as the tag `PredictedDrainSeconds` (the checks read it there:
        they cannot see your variables). See
        [backpressure arithmetic]({C}/performance.md#backpressure-arithmetic).
        """),
        solution("lab07-predict", "", """
        executions = 2
        drain_rate = min(executions / CALL_SECONDS, WAREHOUSE_RATE)     # 4 orders a second
        backlog = (BURST_RATE - drain_rate) * BURST_SECONDS               # 480 orders
        PREDICTED_DRAIN_S = backlog / drain_rate                          # 120 s
        sqs.tag_queue(QueueUrl=queue_url, Tags={"PredictedDrainSeconds": str(PREDICTED_DRAIN_S)})
        print(f"backlog {backlog:g} orders, drained {PREDICTED_DRAIN_S:g} s after the burst")
        """),
        check("lab07-check-predict", "predict"),
        md("lab07-burst-md", f"""
        ## Step 5: the burst, and the backlog rising and draining

        The cell below plays the burst: each virtual second it puts `BURST_RATE` orders on
        `orders-queue` (in batches of 10, `SendMessageBatch`: what that many `POST /orders`
        would do, but quicker to run here; the checks' own burst goes through the API),
        moves the clock one second, and records how many orders are in the queue (visible, and
        in flight: taken by the consumer but not yet deleted), until the queue is empty.
        Write `measured_drain(samples)`: from `samples`, a list of `(seconds since the burst
        began, orders in the queue)`, return the seconds from the burst's end
        (`BURST_SECONDS`) to the first sample at or after it with an empty queue (`None` if
        there is none).
        The chart then shows the backlog with your prediction; CloudWatch's own
        per-minute `ApproximateNumberOfMessagesVisible` is the second line. See
        [backpressure arithmetic]({C}/performance.md#backpressure-arithmetic).
        """),
        solution("lab07-measure", "", """
        def measured_drain(samples):
            for t, waiting in samples:
                if t >= BURST_SECONDS and waiting == 0:
                    return t - BURST_SECONDS
            return None
        """),
        given("lab07-burst", """
        sb.clock.advance(seconds=60 - sb.clock.time() % 60)    # start on a minute, as the metrics do
        began, samples = sb.clock.time(), []

        def in_queue():    # visible, and in flight (taken by the consumer, not yet deleted)
            return sum(int(v) for v in sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"].values())

        for second in range(BURST_SECONDS):
            for first in range(0, BURST_RATE, 10):
                sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"orderId": f"ord-{second}-{i}",
                                                              "sku": "SKU-7", "quantity": 1})}
                    for i in range(first, min(first + 10, BURST_RATE))])
            sb.clock.advance(seconds=1)
            samples.append((sb.clock.time() - began, in_queue()))
        while samples[-1][1] and samples[-1][0] < 3600:
            sb.clock.advance(seconds=5)
            samples.append((sb.clock.time() - began, in_queue()))
        sb.clock.advance(minutes=2)    # CloudWatch samples the queue at each minute's end

        points = cw.get_metric_statistics(
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders-queue"}],
            StartTime=LAB_START, EndTime=sb.clock.now(),
            Period=60, Statistics=["Maximum"])["Datapoints"]
        per_minute = [(p["Timestamp"].timestamp() + 60 - began, p["Maximum"])
                      for p in sorted(points, key=lambda p: p["Timestamp"])
                      if p["Timestamp"].timestamp() + 60 >= began]
        drained = measured_drain(samples)
        print(f"predicted {PREDICTED_DRAIN_S:g} s, measured {drained} s after the burst")
        line_chart([("orders in the queue (visible + in flight)", samples),
                    ("CloudWatch, end of each minute", per_minute)],
                   title="orders-queue during the burst", x_label="seconds since the burst began",
                   y_label="messages", marks=[(BURST_SECONDS, "burst ends"),
                                              (BURST_SECONDS + PREDICTED_DRAIN_S, "predicted drain")])
        """),
        check("lab07-check-burst", "burst"),
        md("lab07-outcomes-md", """
        The last check posts **its own burst** of the same shape through the API, with one
        order in a hundred carrying quantity 0, and grades what happened:

        - no good order lost: each reached the warehouse;
        - the warehouse never got more than 4 orders a second (measured over every 10 s,
          5 % slack for the windows' edges);
        - the backlog drained within **15 % or 10 s** (whichever is larger) of
          `PredictedDrainSeconds`;
        - `orders-age-alarm` went to ALARM while orders waited and back to OK afterwards;
          `orders-dlq-alarm` fired for the bad orders and recovered once the check removed
          them from the DLQ;
        - only the bad orders reached `orders-dlq`.
        """),
        check("lab07-check-outcomes", "outcomes"),
        given("lab07-look", """
        print(cw.describe_alarm_history(AlarmName="orders-age-alarm", HistoryItemType="StateUpdate",
                                        MaxRecords=4)["AlarmHistoryItems"][0]["HistorySummary"])
        architecture()
        """),
        md("lab07-workers-md", f"""
        ## Step 7: workers scaled on the backlog per task

        A cap fixes the rate; it does not care how long orders wait. Containers that poll
        the queue can be scaled on what the backlog means for latency, AWS's
        [backlog per instance](https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html)
        pattern: publish `visible messages / running tasks` as a metric and let
        Application Auto Scaling's
        [target tracking](https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html)
        keep it at the **acceptable backlog per task** = what one task takes a second x the
        latency you accept. Here a task takes `WORKER_RATE` = 0.5 orders a second and an
        order may wait `ACCEPTABLE_LATENCY` = 60 s, so 30 orders a task.

        The given cell starts the ECS service `order-workers` (cluster `orders`, 1 task) on
        its own queue `orders-work-queue`, so the Lambda path above keeps its grades (in
        production you would point the API at the workers' queue, or delete the event
        source mapping). The sandbox runs no containers: each task takes 0.5 orders a
        second off the queue, and the service publishes `OrdersWorkers/BacklogPerTask` at
        every minute's end (on AWS, a small scheduled publisher does that).

        Register the service as a scalable target (`ecs:service:DesiredCount`,
        `service/orders/order-workers`) and add a `TargetTrackingScaling` policy on that
        metric. Two limits matter: **`MinCapacity` at least 1** (with no task nobody takes
        the first orders, and there is no backlog *per task*), and the warehouse's cap
        still applies, now as **`MaxCapacity` x `WORKER_RATE` <= `WAREHOUSE_RATE`**. The
        checks then put 600 orders on the queue and grade what happened: tasks added during
        the burst and removed after it (after 15 quiet minutes), a task taking orders from
        the first seconds, every order taken within 10 minutes of the burst's end, never
        more than 4 a second. See [backlog per task]({C}/performance.md#backlog-per-task).
        """),
        given("lab07-workers", """
        WORKER_RATE = 0.5           # orders a second one task takes
        ACCEPTABLE_LATENCY = 60     # seconds an order may wait for a worker
        BACKLOG_METRIC = {"Namespace": "OrdersWorkers", "MetricName": "BacklogPerTask"}
        ecs = sb.client("ecs")
        ecs.create_cluster(clusterName="orders")
        ecs.register_task_definition(family="order-worker", containerDefinitions=[
            {"name": "worker", "image": "order-worker:1", "memory": 256}])
        ecs.create_service(cluster="orders", serviceName="order-workers",
                           taskDefinition="order-worker", desiredCount=1)
        work_url = sqs.create_queue(QueueName="orders-work-queue")["QueueUrl"]
        sb.service("ecs-workers").consume(cluster="orders", service="order-workers", queue_url=work_url,
                                          per_task_rate=WORKER_RATE, backlog_metric=BACKLOG_METRIC)
        """),
        solution("lab07-scaling", "", """
        ACCEPTABLE_BACKLOG = WORKER_RATE * ACCEPTABLE_LATENCY     # 30 orders a task
        MAX_TASKS = int(WAREHOUSE_RATE / WORKER_RATE)             # 8 tasks: 4 orders a second
        scaling = sb.client("application-autoscaling")
        target = dict(ServiceNamespace="ecs", ResourceId="service/orders/order-workers",
                      ScalableDimension="ecs:service:DesiredCount")
        scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=MAX_TASKS)
        scaling.put_scaling_policy(
            PolicyName="backlog-per-task", PolicyType="TargetTrackingScaling", **target,
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": ACCEPTABLE_BACKLOG,
                "CustomizedMetricSpecification": {
                    **BACKLOG_METRIC, "Statistic": "Average",
                    "Dimensions": [{"Name": "QueueName", "Value": "orders-work-queue"}]}})
        """),
        check("lab07-check-workers", "workers"),
        md("lab07-scaling-md", """
        The next check puts **its own burst** of 600 orders on `orders-work-queue` (after 20
        quiet minutes) and grades what the tasks did; the cell after it lists the scaling
        activities Application Auto Scaling recorded.
        """),
        check("lab07-check-scaling", "scaling"),
        given("lab07-workers-look", """
        for activity in reversed(sb.client("application-autoscaling").describe_scaling_activities(
                ServiceNamespace="ecs", ResourceId="service/orders/order-workers")["ScalingActivities"]):
            print(activity["Description"], activity["Cause"].split(" triggered")[0])
        """),
        *scorecard("lab07"),
        md("lab07-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on backpressure: see
        [backpressure arithmetic]({C}/performance.md#backpressure-arithmetic).
        """),
        given("lab07-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="buffer-vs-throttle", n=3)
        """),
    ])
