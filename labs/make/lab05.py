"""Lab 5: API Gateway -> SQS -> Lambda, buffering and monitoring (source of
labs/source/lab05_apigw_sqs)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab05_apigw_sqs"
C = "../../../content"


def build():
    return notebook([
        md("lab05-intro", f"""
        # Lab 5: API Gateway with an SQS integration

        A shop's checkout posts orders to `POST /orders`. On sale days the traffic comes in
        bursts that the order processor (a Lambda function in front of a warehouse system)
        cannot take at once. You will build the
        [message buffering]({C}/patterns.md#message-buffering) pattern: API Gateway writes
        each order **straight to SQS** (an AWS service integration, no Lambda in between),
        answers at once, and the consumer drains the queue at its own pace. Bad orders go
        to a dead-letter queue, and an alarm tells operations when that happens.

        Everything runs in a local sandbox (no AWS account). Use these names, because the
        checks look for them: REST API `orders-api` with `POST /orders` on stage `prod`;
        queues `orders-queue` and `orders-dlq`; function `order-processor`; SNS topic
        `ops-alerts` with the queue `ops-inbox` subscribed; alarm `orders-dlq-alarm`.

        Each step has an explanation, a cell for your boto3 code and a check cell. The
        checks look at the sandbox and post their own probe orders through what you built;
        they do not read your variables. A failed check says what is missing and has a hint.
        """),
        given("lab05-setup", """
        import json
        from datetime import timedelta

        import requests

        from autograder.lab import architecture, check, hidden, start

        sb = start("lab05")   # a fresh local AWS; also zip_code(...), ROLE_ARN (Lambda's role),
                      # APIGATEWAY_ROLE_ARN (API Gateway's, for the SQS integration)
        sqs, lam, apigw = sb.client("sqs"), sb.client("lambda"), sb.client("apigateway")
        cw, sns = sb.client("cloudwatch"), sb.client("sns")
        REGION, ACCOUNT = sb.region, sb.account_id
        """),
        md("lab05-queues-md", f"""
        ## Step 1: the queue and its dead-letter queue

        Create `orders-dlq` (keep messages 14 days, the maximum, so there is time to look at
        them) and `orders-queue` with a **redrive policy** that moves a message to the DLQ
        on its **5th** failed receive (`maxReceiveCount` 5: a few retries for a passing
        fault, not so many that a poison order circles for hours).

        Size the visibility timeout for a Lambda consumer: AWS recommends at least **six
        times the function's timeout plus the batching window**
        (`MaximumBatchingWindowInSeconds`). Our function will time out after 10 s and, in
        step 5, batch for up to 300 s: so 360 s. See
        [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).

        Keep `queue_url`, `queue_arn`, `dlq_url` and `dlq_arn`.
        """),
        solution("lab05-queues", "", """
        dlq_url = sqs.create_queue(QueueName="orders-dlq",
                                   Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}
        queue_url = sqs.create_queue(QueueName="orders-queue", Attributes={
            "VisibilityTimeout": "360", "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        """),
        check("lab05-check-queues", "queues"),
        md("lab05-api-md", f"""
        ## Step 2: `POST /orders` writes to SQS

        A REST API can call an AWS service directly: an integration of type `AWS` whose
        `uri` names the service action. For SQS either
        `arn:aws:apigateway:REGION:sqs:path/ACCOUNT/orders-queue` (the queue in the path) or
        `arn:aws:apigateway:REGION:sqs:action/SendMessage` (then pass `QueueUrl` as a request
        parameter). `credentials` is the role API Gateway assumes to call SQS: its trust
        policy must let `apigateway.amazonaws.com` assume it, and its permissions must allow
        `sqs:SendMessage` on the queue. `start` made one for you, `APIGATEWAY_ROLE_ARN`
        (`ROLE_ARN` is for Lambda: AWS would refuse to let API Gateway assume it). The
        sandbox does not enforce roles; the check reads the role's trust policy as AWS would.

        SQS speaks a **form-encoded** query protocol, so the integration request must say so
        and build the form:

        - `requestParameters`: `integration.request.header.Content-Type` =
          `'application/x-www-form-urlencoded'` (single quotes inside the string: a literal);
        - a **mapping template** for `application/json` (Velocity):
          `Action=SendMessage&MessageBody=$util.urlEncode($input.body)`: the client's JSON,
          untouched, becomes the message body. Without `urlEncode` an order containing
          `&` or `+` arrives mangled.

        Then the responses: a `202` method response and a default integration response
        (`selectionPattern` empty) returning the SQS message id, and a `500` for SQS errors
        (`selectionPattern` `4\\d{{2}}|5\\d{{2}}`): without it, an error from SQS would
        reach the caller as a success. Deploy to stage `prod`. REST APIs time out after 29 s
        by default; writing to a queue answers in milliseconds whatever the backend is doing.
        See [Amazon API Gateway]({C}/apis.md#amazon-api-gateway).

        Keep `api_id` and `invoke_url`: the sandbox serves stages at
        `sb.endpoint_url + /restapis/API_ID/prod/_user_request_/orders`.
        """),
        solution("lab05-api", "", r"""
        api_id = apigw.create_rest_api(name="orders-api")["id"]
        root_id = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        orders_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="orders")["id"]
        apigw.put_method(restApiId=api_id, resourceId=orders_id, httpMethod="POST",
                         authorizationType="NONE")
        apigw.put_integration(
            restApiId=api_id, resourceId=orders_id, httpMethod="POST", type="AWS",
            integrationHttpMethod="POST", credentials=APIGATEWAY_ROLE_ARN,
            uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/orders-queue",
            requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
            passthroughBehavior="NEVER")
        for status, pattern, template in [
            ("202", "", '{"messageId": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'),
            ("500", "4\\d{2}|5\\d{2}", '{"error": "$input.path(\'$.Error.Code\')"}'),
        ]:
            apigw.put_method_response(restApiId=api_id, resourceId=orders_id, httpMethod="POST",
                                      statusCode=status)
            apigw.put_integration_response(restApiId=api_id, resourceId=orders_id, httpMethod="POST",
                                           statusCode=status, selectionPattern=pattern,
                                           responseTemplates={"application/json": template})
        apigw.create_deployment(restApiId=api_id, stageName="prod")
        invoke_url = f"{sb.endpoint_url}/restapis/{api_id}/prod/_user_request_/orders"
        """),
        given("lab05-try-api", """
        # One order over HTTP; it waits in the queue (there is no consumer yet).
        r = requests.post(invoke_url, json={"orderId": "ord-1", "sku": "SKU-1", "quantity": 2}, timeout=10)
        print(r.status_code, r.text)
        print(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"])
        """),
        check("lab05-check-api", "api", hidden=True),
        md("lab05-handler-md", f"""
        ## Step 3: a consumer with partial batch failures

        The Lambda **event source mapping** polls the queue and hands the function batches.
        If the handler raises, the *whole* batch comes back after the visibility timeout,
        and the good orders in it are processed again. With **partial batch responses** the
        handler returns `{{"batchItemFailures": [{{"itemIdentifier": messageId}}, ...]}}`
        naming only the records that failed; Lambda deletes the rest. That needs *both* the
        handler's answer and `FunctionResponseTypes=["ReportBatchItemFailures"]` on the
        mapping; without the setting Lambda ignores the answer and deletes everything, bad
        orders included. A handler that catches an error and reports nothing loses the
        order just the same. See
        [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).

        Write the handler: for each record parse the order; a record whose body is not a
        JSON order, or whose `quantity` is missing or not a positive number, fails (report
        it; never let one record's error escape the loop); otherwise print
        `processed <orderId>`.
        """),
        solution("lab05-handler", "", '''
        HANDLER = """
        import json

        def handler(event, context):
            failures = []
            for record in event["Records"]:
                try:
                    order = json.loads(record["body"])
                    if not int(order["quantity"]) > 0:
                        raise ValueError(f"bad quantity {order['quantity']}")
                    print("processed", order["orderId"])
                except Exception as exc:
                    print("failed", record["messageId"], exc)
                    failures.append({"itemIdentifier": record["messageId"]})
            return {"batchItemFailures": failures}
        """
        '''),
        md("lab05-consumer-md", """
        Create `order-processor` (runtime `python3.12`, role `ROLE_ARN`, handler
        `lambda_function.handler`, timeout 10 s, code `zip_code(HANDLER)`) and map
        `orders-queue` to it with `FunctionResponseTypes=["ReportBatchItemFailures"]`. Keep
        `mapping_uuid` (the mapping's `UUID`) for step 5. The order waiting from step 2 is
        processed as soon as the mapping exists.
        """),
        solution("lab05-consumer", "", """
        lam.create_function(FunctionName="order-processor", Runtime="python3.12", Role=ROLE_ARN,
                            Handler="lambda_function.handler", Timeout=10,
                            Code={"ZipFile": zip_code(HANDLER)})
        mapping_uuid = lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName="order-processor", BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
        """),
        check("lab05-check-consumer", "consumer"),
        md("lab05-e2e-md", f"""
        ## Step 4: an end-to-end test over HTTP

        Test the path a client takes. Write `post_order(order)` that POSTs the order as JSON
        to `invoke_url` with `requests` and returns `(status_code, parsed JSON answer)`. Then
        post three good orders and one with `quantity` 0, check every answer is 202 with a
        `messageId`, let two virtual hours pass (`sb.clock.advance(hours=2)`: retries after
        each visibility timeout happen at once), and look: the good ones processed once,
        the bad one in `orders-dlq`, received 5 times. The caller got 202 for the bad order
        too: with an asynchronous API, errors after the queue are the operator's to see,
        not the client's. See [synchronous vs asynchronous]({C}/decision-points.md#synchronous-vs-asynchronous).
        """),
        solution("lab05-e2e", "", """
        def post_order(order):
            r = requests.post(invoke_url, json=order, timeout=10)
            return r.status_code, r.json()

        orders = [{"orderId": f"ord-10{i}", "sku": "SKU-7", "quantity": i} for i in range(4)]
        for order in orders:
            status, answer = post_order(order)
            assert status == 202 and answer["messageId"], (status, answer)
        sb.clock.advance(hours=2)
        print("posted", len(orders), "orders; two virtual hours later:")
        """),
        given("lab05-e2e-look", """
        # the DLQ's messages: each was received 5 times by the consumer, +1 by this look
        dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"], MaxNumberOfMessages=10,
                                   VisibilityTimeout=0)["Messages"]
        print([(json.loads(m["Body"])["orderId"], m["Attributes"]["ApproximateReceiveCount"]) for m in dead])
        logs = sb.client("logs").filter_log_events(logGroupName="/aws/lambda/order-processor",
                                                   filterPattern="processed")["events"]
        print(sorted(e["message"].strip() for e in logs))
        architecture()
        """),
        check("lab05-check-e2e", "end-to-end"),
        md("lab05-buffer-md", f"""
        ## Step 5: buffering a burst

        The warehouse system behind `order-processor` is happier with few, large batches
        than with many small ones. Make the mapping **slower than the producer**: batches of
        up to 1,000 orders (standard queues allow up to 10,000 when a batching window is
        set) gathered for up to **300 s** (`MaximumBatchingWindowInSeconds`, the maximum).
        While orders arrive faster than the consumer takes them, the queue absorbs the
        difference: the API keeps answering at once and the backlog drains later. On AWS you
        would also cap the consumer with the mapping's `ScalingConfig.MaximumConcurrency`
        (at least 2) or the function's reserved concurrency; the sandbox does not model
        concurrency, so this lab uses the batching window. The cost: each order waits up to
        five minutes. See [message buffering]({C}/patterns.md#message-buffering) and
        [performance of queues]({C}/performance.md#queues-and-notifications).

        Update the mapping (`update_event_source_mapping(UUID=mapping_uuid, ...)`).
        """),
        solution("lab05-buffer", "", """
        mapping = lam.update_event_source_mapping(UUID=mapping_uuid, BatchSize=1000,
                                                  MaximumBatchingWindowInSeconds=300)
        print(mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"])
        """),
        md("lab05-burst-md", """
        A burst: 20 orders a minute for three minutes over HTTP, then the depth of the queue
        minute by minute from CloudWatch (`ApproximateNumberOfMessagesVisible`, sampled at
        the end of each virtual minute).
        """),
        given("lab05-burst", """
        burst_start = sb.clock.now()
        for i in range(60):
            status, _ = post_order({"orderId": f"burst-{i}", "sku": "SKU-9", "quantity": 1})
            sb.clock.advance(seconds=3)
        sb.clock.advance(minutes=8)
        points = cw.get_metric_statistics(
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders-queue"}], StartTime=burst_start,
            EndTime=sb.clock.now(), Period=60, Statistics=["Maximum"])["Datapoints"]
        for p in sorted(points, key=lambda p: p["Timestamp"]):
            print(p["Timestamp"].strftime("%H:%M"), "#" * int(p["Maximum"]), int(p["Maximum"]))
        """),
        check("lab05-check-buffer", "buffer"),
        md("lab05-monitoring-md", f"""
        ## Step 6: monitoring

        A buffer hides trouble: the API keeps saying 202 while orders pile up or die. SQS
        publishes per-queue metrics to CloudWatch (namespace `AWS/SQS`, dimension
        `QueueName`, one datapoint a minute): `ApproximateNumberOfMessagesVisible` (the
        backlog) and `ApproximateAgeOfOldestMessage` (how late the oldest order is: the
        number a customer feels). And a message in a DLQ always needs a person.

        1. Write `queue_metrics(queue_name, minutes=30)` returning
           `{{"depth": [...], "oldest_age_s": [...]}}`: the per-minute `Maximum` of the two
           metrics over the last `minutes` (`get_metric_statistics` or `get_metric_data`,
           sorted by time).
        2. Create the SNS topic `ops-alerts` and the queue `ops-inbox` subscribed to it (our
           stand-in for the operator's e-mail), with a queue policy that lets the topic send
           (lab 1).
        3. Create the alarm `orders-dlq-alarm`: `Maximum` of
           `ApproximateNumberOfMessagesVisible` for `orders-dlq`, period 60 s, one
           evaluation period, `GreaterThanThreshold` 0, `AlarmActions` = the topic. Alarm
           on the *DLQ*: the main queue's depth rises and falls with every burst.

        See [message buffering]({C}/patterns.md#message-buffering) (failure handling).
        """),
        solution("lab05-monitoring", "", """
        def queue_metrics(queue_name, minutes=30):
            out = {}
            for key, metric in [("depth", "ApproximateNumberOfMessagesVisible"),
                                ("oldest_age_s", "ApproximateAgeOfOldestMessage")]:
                points = cw.get_metric_statistics(
                    Namespace="AWS/SQS", MetricName=metric,
                    Dimensions=[{"Name": "QueueName", "Value": queue_name}],
                    StartTime=sb.clock.now() - timedelta(minutes=minutes), EndTime=sb.clock.now(),
                    Period=60, Statistics=["Maximum"])["Datapoints"]
                out[key] = [p["Maximum"] for p in sorted(points, key=lambda p: p["Timestamp"])]
            return out

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
        cw.put_metric_alarm(
            AlarmName="orders-dlq-alarm", AlarmDescription="orders are dead-lettering",
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}], Statistic="Maximum",
            Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[topic_arn], OKActions=[topic_arn])
        print(cw.describe_alarms(AlarmNames=["orders-dlq-alarm"])["MetricAlarms"][0]["StateValue"])
        """),
        given("lab05-monitoring-look", """
        post_order({"orderId": "ord-bad-2", "sku": "SKU-7", "quantity": -3})
        sb.clock.advance(hours=2)
        print("orders-queue", queue_metrics("orders-queue", minutes=15))
        print("orders-dlq  ", queue_metrics("orders-dlq", minutes=5))
        print(cw.describe_alarms(AlarmNames=["orders-dlq-alarm"])["MetricAlarms"][0]["StateValue"])
        for m in sqs.receive_message(QueueUrl=inbox_url, MaxNumberOfMessages=10)["Messages"]:
            print(json.loads(m["Body"])["Subject"])
        """),
        check("lab05-check-monitoring", "monitoring"),
        md("lab05-websocket-md", f"""
        ## Step 7: tell the checkout page (a WebSocket push)

        The API answers 202 at once, so the checkout page does not know when its order has
        been taken in. Polling `GET /orders/...` every few seconds would cost a request per
        page per poll, nearly all of them answered "no change". A **WebSocket API** keeps one
        connection per page instead, and the backend **pushes** on it. See
        [WebSocket APIs, AppSync or polling]({C}/apis.md#websocket-apis-appsync-or-polling).

        Build `orders-live`: an API Gateway v2 API with `ProtocolType="WEBSOCKET"` and
        `RouteSelectionExpression="$request.body.action"`, a route `track` with an
        `AWS_PROXY` integration to a function `order-tracker` (URI
        `arn:aws:apigateway:{{REGION}}:lambda:path/2015-03-31/functions/{{ARN}}/invocations`),
        and a stage `prod` with `AutoDeploy=True`. API Gateway may only invoke the function
        with a permission (`add_permission`, principal `apigateway.amazonaws.com`, source
        `arn:aws:execute-api:REGION:ACCOUNT:API_ID/*`). The function answers a message
        `{{"action": "track", "orderId": "..."}}` by posting
        `{{"orderId": "...", "status": "received"}}` to the **sender's connection** through the
        `@connections` API, built as AWS's examples build it: a boto3
        `apigatewaymanagementapi` client with `endpoint_url` `https://` + the event's
        `requestContext.domainName` + `/` + `requestContext.stage`, and
        `post_to_connection(ConnectionId=requestContext.connectionId, Data=...)`. (The sandbox
        serves it on a `ws://` URL, the API's `ApiEndpoint`; the handler's `https://` call stays
        on this machine.)
        """),
        solution("lab05-websocket", "", '''
        TRACKER = """
        import json
        import boto3

        def handler(event, context):
            ctx = event["requestContext"]
            order_id = json.loads(event["body"])["orderId"]
            connections = boto3.client("apigatewaymanagementapi",
                                       endpoint_url="https://" + ctx["domainName"] + "/" + ctx["stage"])
            connections.post_to_connection(ConnectionId=ctx["connectionId"],
                                           Data=json.dumps({"orderId": order_id, "status": "received"}))
            return {"statusCode": 200}
        """
        tracker_arn = lam.create_function(FunctionName="order-tracker", Runtime="python3.12",
                                          Role=ROLE_ARN, Handler="lambda_function.handler", Timeout=10,
                                          Code={"ZipFile": zip_code(TRACKER)})["FunctionArn"]
        v2 = sb.client("apigatewayv2")
        live = v2.create_api(Name="orders-live", ProtocolType="WEBSOCKET",
                             RouteSelectionExpression="$request.body.action")
        integration = v2.create_integration(
            ApiId=live["ApiId"], IntegrationType="AWS_PROXY",
            IntegrationUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{tracker_arn}/invocations")
        v2.create_route(ApiId=live["ApiId"], RouteKey="track",
                        Target=f"integrations/{integration['IntegrationId']}")
        v2.create_stage(ApiId=live["ApiId"], StageName="prod", AutoDeploy=True)
        lam.add_permission(FunctionName="order-tracker", StatementId="orders-live",
                           Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                           SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{live['ApiId']}/*")
        live_url = live["ApiEndpoint"] + "/prod"
        '''),
        given("lab05-websocket-look", """
        from websockets.sync.client import connect

        with connect(live_url, open_timeout=20) as page:      # what the checkout page does
            page.send(json.dumps({"action": "track", "orderId": "ord-100"}))
            print(page.recv(timeout=20))
        """),
        check("lab05-check-websocket", "websocket"),
        *scorecard("lab05"),
        md("lab05-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on
        [synchronous vs asynchronous]({C}/decision-points.md#synchronous-vs-asynchronous).
        """),
        given("lab05-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="sync-vs-async", n=3)
        """),
    ])
