"""Lab 3: EventBridge routing for e-commerce (source of labs/source/lab03_eventbridge)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab03_eventbridge"
C = "../../../content"


def build():
    return notebook([
        md("lab03-intro", f"""
        # Lab 3: routing order events with EventBridge

        An order service emits `OrderPlaced` and `OrderConfirmed` events. Four teams react:
        **inventory** reserves stock, **payment** charges the customer, **shipping** ships
        physical goods, **notification** emails the customer. Instead of the order service
        calling each of them, it puts events on a custom EventBridge bus and each team owns
        a rule: the [event-driven microservices]({C}/patterns.md#event-driven-microservices)
        pattern, as in the [e-commerce scenario]({C}/scenarios.md#e-commerce-order-processing).

        Use these names (the checks look for them): bus `orders`, source `com.shop.orders`,
        functions `inventory`, `payment`, `shipping`, `notification`, rules
        `reserve-inventory`, `take-payment`, `ship-order`, `notify-customer`, queue
        `payment-dlq`, archive `orders-archive`. The checks put their own probe events on
        the bus and look at what each function really received.
        """),
        given("lab03-setup", """
        import json
        from datetime import timedelta

        from autograder.lab import architecture, check, hidden, start

        sb = start("lab03")   # a fresh local AWS; also defines zip_code(...), ROLE_ARN, LAB_START
        events, lam, sqs = sb.client("events"), sb.client("lambda"), sb.client("sqs")

        def order(order_id, **detail):
            \"\"\"An order event's detail, as the order service sends it.\"\"\"
            base = {"orderId": order_id, "total": 59.9, "currency": "EUR",
                    "fulfillment": "physical",
                    "customer": {"id": "c-1", "email": "ana@example.com"}}
            return {**base, **detail}

        def put(detail_type, detail, source="com.shop.orders"):
            return events.put_events(Entries=[{
                "EventBusName": "orders", "Source": source, "DetailType": detail_type,
                "Detail": json.dumps(detail)}])
        """),
        md("lab03-bus-md", f"""
        ## Step 1: a custom bus and the team functions

        The default bus receives AWS service events; your own domain events go on a
        **custom bus**, which gets its own permissions, archive and rules (up to 300 per
        bus in most Regions, at most **5 targets per rule**). Events can be up to **1 MB**
        since January 2026 (256 KB before). Create the bus `orders` and the four functions
        (runtime `python3.12`, role `ROLE_ARN`, handler `lambda_function.handler`) with the
        handler below, which just logs what it receives. See
        [Amazon EventBridge]({C}/events.md#amazon-eventbridge).

        Keep `bus_arn` and `function_arns` (by function name).
        """),
        solution("lab03-bus", '''
        HANDLER = """
        import json

        def handler(event, context):
            print("received", json.dumps(event))
            return {"ok": True}
        """
        ''', """
        bus_arn = events.create_event_bus(Name="orders")["EventBusArn"]
        function_arns = {}
        for fn in ["inventory", "payment", "shipping", "notification"]:
            function_arns[fn] = lam.create_function(
                FunctionName=fn, Runtime="python3.12", Role=ROLE_ARN,
                Handler="lambda_function.handler", Code={"ZipFile": zip_code(HANDLER)},
            )["FunctionArn"]
        """),
        check("lab03-check-bus", "bus"),
        md("lab03-archive-md", f"""
        ## Step 2: an archive, before any event arrives

        An **archive** keeps the bus's matching events for a retention period you choose;
        a **replay** later re-sends them to the bus, for recovery or to feed a new
        consumer. Replayed events are new deliveries, so consumers must be idempotent.
        Create `orders-archive` on the bus for the source `com.shop.orders`, keeping events
        30 days (0 would mean forever). See
        [delivery, ordering and error handling]({C}/events.md#delivery-ordering-and-error-handling).
        """),
        solution("lab03-archive", "", """
        archive_arn = events.create_archive(
            ArchiveName="orders-archive", EventSourceArn=bus_arn, RetentionDays=30,
            EventPattern=json.dumps({"source": ["com.shop.orders"]}))["ArchiveArn"]
        """),
        check("lab03-check-archive", "archive"),
        md("lab03-rules-md", f"""
        ## Step 3: rules with content filters

        A rule's **event pattern** matches on `source`, `detail-type` and any field of
        `detail`. Give each team exactly the events it needs (a pattern that matches too
        much makes a team do, and pay for, work it should not):

        | rule | events | content filter |
        |---|---|---|
        | `reserve-inventory` -> inventory | `OrderPlaced` | `orderId` **prefix** `ord-` (test orders are `test-...`) |
        | `take-payment` -> payment | `OrderPlaced` | **numeric** `total > 0` (free orders need no payment) |
        | `ship-order` -> shipping | `OrderConfirmed` | `fulfillment` **anything-but** `digital` |
        | `notify-customer` -> notification | `OrderConfirmed` | `customer.email` **exists** |

        Every pattern also names `source` `com.shop.orders`. Each target needs an `Id` and
        the function ARN, and each function a **resource policy** statement
        (`lam.add_permission`) letting `events.amazonaws.com` invoke it with `SourceArn` =
        the rule's ARN: the sandbox applies it as AWS does (a rule the policy does not name
        gets `NO_PERMISSIONS`). The next steps refine two of these targets. See
        [EventBridge vs SNS]({C}/decision-points.md#eventbridge-vs-sns).
        """),
        solution("lab03-rules", """
        def rule(name, detail_type, detail):
            pattern = {"source": ["com.shop.orders"], "detail-type": [detail_type], "detail": detail}
            events.put_rule(Name=name, EventBusName="orders", EventPattern=json.dumps(pattern))
        """, """
        rule("reserve-inventory", "OrderPlaced", {"orderId": [{"prefix": "ord-"}]})
        rule("take-payment", "OrderPlaced", {"total": [{"numeric": [">", 0]}]})
        rule("ship-order", "OrderConfirmed", {"fulfillment": [{"anything-but": ["digital"]}]})
        rule("notify-customer", "OrderConfirmed", {"customer": {"email": [{"exists": True}]}})
        for name, fn in [("reserve-inventory", "inventory"), ("take-payment", "payment"),
                         ("ship-order", "shipping"), ("notify-customer", "notification")]:
            rule_arn = events.describe_rule(Name=name, EventBusName="orders")["Arn"]
            lam.add_permission(FunctionName=fn, StatementId=f"events-{name}",
                               Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
                               SourceArn=rule_arn)
            events.put_targets(Rule=name, EventBusName="orders",
                               Targets=[{"Id": fn, "Arn": function_arns[fn]}])
        """),
        given("lab03-try", """
        # Orders flow: each function logs what it received (see the picture's counts).
        put("OrderPlaced", order("ord-1001"))
        put("OrderPlaced", order("test-1", total=0))
        put("OrderConfirmed", order("ord-1001"))
        put("OrderConfirmed", order("ord-1002", fulfillment="digital"))
        architecture()
        """),
        check("lab03-check-rules", "rules", hidden=True),
        md("lab03-transform-md", f"""
        ## Step 4: an input transformer for notifications

        The notification service wants a small message, not the whole event. An
        **input transformer** picks fields with JSON paths (`InputPathsMap`) and fills a
        template (`InputTemplate`): a placeholder outside quotes gets the value's JSON,
        inside quotes its text. Put the `notification` target of `notify-customer` again
        (the same `Id` replaces it) with a transformer, so that the function receives exactly
        `{{"to": <email>, "subject": "Order <orderId> confirmed", "orderId": <orderId>}}`.
        See [Amazon EventBridge]({C}/events.md#amazon-eventbridge).
        """),
        solution("lab03-transform", "", """
        events.put_targets(Rule="notify-customer", EventBusName="orders", Targets=[{
            "Id": "notification", "Arn": function_arns["notification"],
            "InputTransformer": {
                "InputPathsMap": {"order": "$.detail.orderId", "email": "$.detail.customer.email"},
                "InputTemplate": '{"to": <email>, "subject": "Order <order> confirmed", "orderId": <order>}',
            }}])
        print(events.list_targets_by_rule(Rule="notify-customer", EventBusName="orders")["Targets"])
        """),
        check("lab03-check-transform", "transform"),
        md("lab03-dlq-md", f"""
        ## Step 5: retries and a dead-letter queue for payment

        When a target fails with a retriable error, EventBridge retries with back-off, by
        default for up to **24 hours and 185 attempts**, then **drops** the event unless the
        target has an SQS **dead-letter queue**. Payment must not lose an order: create
        `payment-dlq`, then put the `payment` target of `take-payment` again with a `RetryPolicy` of at
        most an hour (`MaximumEventAgeInSeconds` 3600, `MaximumRetryAttempts` 2) and
        `DeadLetterConfig`. The DLQ also needs a queue policy letting
        `events.amazonaws.com` send for the rule (`aws:SourceArn`), as on AWS. See
        [delivery, ordering and error handling]({C}/events.md#delivery-ordering-and-error-handling).
        """),
        solution("lab03-dlq", "", """
        dlq_url = sqs.create_queue(QueueName="payment-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": dlq_arn, "Condition": {"ArnEquals": {
                    "aws:SourceArn": events.describe_rule(Name="take-payment", EventBusName="orders")["Arn"]}}}]})})
        events.put_targets(Rule="take-payment", EventBusName="orders", Targets=[{
            "Id": "payment", "Arn": function_arns["payment"],
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq_arn}}])
        print(events.list_targets_by_rule(Rule="take-payment", EventBusName="orders")["Targets"])
        """),
        md("lab03-fail-md", """
        Now make payment fail the way a throttled or broken target would. The sandbox can
        inject a failure into a target (nothing in it fails on its own);
        `sb.clock.advance(hours=2)` lets the retries run out at once. The cell finds
        `payment-dlq` by its name, so it works whatever you called your variables.
        """),
        given("lab03-fail", """
        dlq_url = sqs.get_queue_url(QueueName="payment-dlq")["QueueUrl"]
        failures = sb.service("events-targets")
        failures.inject_failure(function_arns["payment"], code="THROTTLING")
        put("OrderPlaced", order("ord-2001", total=12.5))
        sb.clock.advance(hours=2)
        failures.clear_failure(function_arns["payment"])
        msgs = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
        print({k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()})
        """),
        check("lab03-check-dlq", "dlq"),
        md("lab03-replay-md", f"""
        ## Step 6: replay the archive

        Suppose the inventory team shipped a bug and wants the last hours of orders again.
        Start a replay of `orders-archive` back into the bus, covering the time since the
        lab started: from `LAB_START` (recorded by `start`; the checks move the clock, not
        it) to the sandbox's `sb.clock.now()` (the clock has moved hours ahead of your
        computer's). A replay sends only the archived events whose time falls inside its
        window, and the check makes sure yours held some. Check that it is `COMPLETED`. See
        [delivery, ordering and error handling]({C}/events.md#delivery-ordering-and-error-handling).
        """),
        solution("lab03-replay", "", """
        events.start_replay(ReplayName="inventory-fix", EventSourceArn=archive_arn,
                            EventStartTime=LAB_START,
                            EventEndTime=sb.clock.now(), Destination={"Arn": bus_arn})
        print(events.describe_replay(ReplayName="inventory-fix")["State"])
        """),
        check("lab03-check-replay", "replay"),
        md("lab03-pipe-md", f"""
        ## Step 7: pipe the storefront's queue onto the bus

        The old storefront cannot call `PutEvents`. It writes every change of an order as
        JSON to the SQS queue `storefront-orders`: carts saved as `DRAFT` (a guest's has
        `"customerId": null`), `PLACED`, `CANCELLED`... naming the customer by id only. The
        teams want what the order service sends: `OrderPlaced` events on `orders` that carry
        the customer's email and tier. A function that polls, filters, looks customers up and
        calls `PutEvents` would be glue code to run and pay for; an **EventBridge pipe** does
        it: source, filter, enrichment, target. See
        [EventBridge Pipes]({C}/events.md#eventbridge-pipes).

        Build the pipe `storefront-orders`:

        - **source**: the queue `storefront-orders` (its ARN);
        - **filter** (`SourceParameters.FilterCriteria`): only `PLACED` messages go on. A
          pattern reads the record as the pipe receives it, where the message's JSON is
          under `body`: `{{"body": {{"status": [...]}}}}`. Filtered-out messages are deleted
          from the queue, and neither billed nor seen by the enrichment;
        - **enrichment**: a function `customer-lookup` (role `ROLE_ARN`). It receives the
          batch as a JSON array of SQS records and returns the new batch: for each record,
          the order in its body with `customerId` replaced by
          `"customer": {{"id": ..., "email": ..., "tier": ...}}` from `CUSTOMERS` below. A
          record it returns nothing for goes no further;
        - **target**: the bus `orders` (its ARN), with `TargetParameters`
          `{{"EventBridgeEventBusParameters": {{"Source": "com.shop.orders", "DetailType":
          "OrderPlaced"}}}}`. Each order returned becomes one event's `detail`, so the rules
          of step 3 route it (without these parameters the source would be
          `Pipe storefront-orders` and the detail-type `Event from aws:sqs`, which no rule
          matches);
        - **role**: the pipe acts with an execution role that `pipes.amazonaws.com` may
          assume, allowed `sqs:ReceiveMessage`, `sqs:DeleteMessage` and
          `sqs:GetQueueAttributes` on the queue, `lambda:InvokeFunction` on the enrichment
          and `events:PutEvents` on the bus. (The lab's sandbox does not apply identity
          policies; the check reads the role as IAM would.)

        A new pipe is `CREATING` and becomes `RUNNING` a moment later: advance the clock.
        """),
        solution("lab03-pipe", '''
        CUSTOMER_SERVICE = """
        import json

        # the customer service's records, as the enrichment looks them up
        CUSTOMERS = {"c-1": {"email": "ana@example.com", "tier": "gold"},
                     "c-2": {"email": "bo@example.com", "tier": "standard"},
                     "c-3": {"email": "cy@example.com", "tier": "silver"}}
        """
        pipes, iam = sb.client("pipes"), sb.client("iam")
        ''', '''
        LOOKUP = CUSTOMER_SERVICE + """
        def handler(event, context):
            orders = []
            for record in event:                  # the SQS records that passed the filter
                order = json.loads(record["body"])
                customer = order.pop("customerId")
                orders.append({**order, "customer": {"id": customer, **CUSTOMERS[customer]}})
            return orders                         # one order for each record
        """
        lookup_arn = lam.create_function(
            FunctionName="customer-lookup", Runtime="python3.12", Role=ROLE_ARN,
            Handler="lambda_function.handler", Code={"ZipFile": zip_code(LOOKUP)})["FunctionArn"]
        storefront_url = sqs.create_queue(QueueName="storefront-orders")["QueueUrl"]
        storefront_arn = sqs.get_queue_attributes(
            QueueUrl=storefront_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pipe_role_arn = iam.create_role(RoleName="storefront-pipe-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName="storefront-pipe-role", PolicyName="storefront-pipe",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Resource": storefront_arn,
             "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]},
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": lookup_arn},
            {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}]}))
        pipes.create_pipe(
            Name="storefront-orders", RoleArn=pipe_role_arn, Source=storefront_arn,
            SourceParameters={"FilterCriteria": {"Filters": [
                {"Pattern": json.dumps({"body": {"status": ["PLACED"]}})}]}},
            Enrichment=lookup_arn,
            Target=bus_arn,
            TargetParameters={"EventBridgeEventBusParameters": {
                "Source": "com.shop.orders", "DetailType": "OrderPlaced"}})
        sb.clock.advance(seconds=5)
        print(pipes.describe_pipe(Name="storefront-orders")["CurrentState"])
        '''),
        given("lab03-pipe-try", """
        # The storefront writes three changes; inventory logs what reached it.
        def storefront(order_id, status, customer_id):
            return json.dumps({"orderId": order_id, "status": status, "total": 42.0, "currency": "EUR",
                               "fulfillment": "physical", "customerId": customer_id})

        storefront_url = sqs.get_queue_url(QueueName="storefront-orders")["QueueUrl"]
        for body in (storefront("ord-3001", "DRAFT", None), storefront("ord-3001", "PLACED", "c-2"),
                     storefront("ord-3002", "CANCELLED", "c-1")):
            sqs.send_message(QueueUrl=storefront_url, MessageBody=body)
        sb.clock.advance(seconds=10)
        for line in sb.client("logs").filter_log_events(
                logGroupName="/aws/lambda/inventory", filterPattern='"ord-300"')["events"]:
            print(line["message"][:300])
        print(sqs.get_queue_attributes(QueueUrl=storefront_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"])
        """),
        check("lab03-check-pipe", "pipe"),
        md("lab03-schema-md", f"""
        ## About schemas

        On AWS, **schema discovery** on a bus infers an `OrderPlaced` schema from the
        events it sees and the **Schema Registry** generates code bindings. The sandbox
        cannot show this: moto's Schemas API answers 404 (not implemented), so this lab
        has no schema step. The event's shape is the `order(...)` helper above. See
        [Amazon EventBridge]({C}/events.md#amazon-eventbridge).
        """),
        *scorecard("lab03"),
        md("lab03-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on [EventBridge vs SNS]({C}/decision-points.md#eventbridge-vs-sns).
        """),
        given("lab03-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="eventbridge-vs-sns", n=3)
        """),
    ])
