"""Lab 1: SNS -> SQS fan-out for a video platform (source of labs/source/lab01_fanout)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab01_fanout"
C = "../../../content"


def build():
    return notebook([
        md("lab01-intro", f"""
        # Lab 1: fan-out with SNS and SQS

        A video platform stores every upload and then has three independent jobs to do:
        make **thumbnails** (seconds to a couple of minutes), **transcode** to streaming
        formats (up to an hour) and record **analytics**. You will build the
        [fan-out]({C}/patterns.md#fan-out) that the
        [video processing scenario]({C}/scenarios.md#video-processing-pipeline) describes:
        one SNS topic, one SQS queue per job, a Lambda function consuming each queue.

        Everything runs in a local sandbox (no AWS account). Use these names, because the
        checks look for them: topic `video-uploads`; queues `thumbnails`, `transcoding`,
        `analytics`; dead-letter queue `video-dlq`; functions `thumbnailer`, `transcoder`,
        `analytics-recorder`.

        Each step has an explanation, a cell for your boto3 code and a check cell. The
        checks look at the sandbox itself and send their own probe messages through what
        you built; they do not read your variables. A failed check says what is missing
        and has a hint. The picture under each check shows your architecture with the
        number of messages that went along each arrow.
        """),
        given("lab01-setup", """
        import json

        from autograder.lab import architecture, check, hidden, start

        sb = start("lab01")   # a fresh local AWS; also defines zip_code(...) and ROLE_ARN
        sns, sqs, lam = sb.client("sns"), sb.client("sqs"), sb.client("lambda")
        """),
        md("lab01-queues-md", f"""
        ## Step 1: the topic and the queues

        Create the standard topic `video-uploads` and the three queues. Size each queue's
        **visibility timeout** to its processing time: a received message stays hidden for
        that long, and if it is not deleted by then another consumer gets it. The timeout
        ranges from 0 s to 12 hours (default 30 s). When a Lambda function consumes the
        queue, AWS recommends at least **six times the function's timeout**. Our functions
        will time out after 30 s (thumbnails), 600 s (transcoding) and 10 s (analytics).
        See [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).

        Keep `topic_arn`, `queue_urls` and `queue_arns` (dicts by queue name) for the
        next steps.
        """),
        solution("lab01-queues", """
        queue_urls, queue_arns = {}, {}
        """, """
        topic_arn = sns.create_topic(Name="video-uploads")["TopicArn"]
        visibility = {"thumbnails": 180, "transcoding": 3600, "analytics": 60}
        for name, seconds in visibility.items():
            url = sqs.create_queue(QueueName=name,
                                   Attributes={"VisibilityTimeout": str(seconds)})["QueueUrl"]
            queue_urls[name] = url
            queue_arns[name] = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        """),
        check("lab01-check-queues", "queues"),
        md("lab01-dlq-md", f"""
        ## Step 2: a dead-letter queue

        A message that fails again and again (a *poison message*) must not circle forever.
        A **redrive policy** moves it to a dead-letter queue after `maxReceiveCount`
        receives. Create `video-dlq` and give each work queue a redrive policy to it with
        `maxReceiveCount` 3. The DLQ must be the same type as its sources (standard here)
        and should keep messages longer than they do (up to 14 days), so that you can
        inspect them and later redrive them. See
        [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).
        """),
        solution("lab01-dlq", "", """
        dlq_url = sqs.create_queue(QueueName="video-dlq",
                                   Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for url in queue_urls.values():
            redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})
        """),
        check("lab01-check-dlq", "dlq"),
        md("lab01-policies-md", f"""
        ## Step 3: queue policies that admit only this topic

        SNS delivers into a queue only if the **queue policy** (a resource policy) lets the
        service principal `sns.amazonaws.com` call `sqs:SendMessage`, and the condition
        `aws:SourceArn` = your topic's ARN keeps every other topic out (the confused-deputy
        guard). A policy with `Principal: "*"` and no condition lets anyone send; with the
        `aws:SourceArn` condition (what the SDKs' subscribe helpers write) it admits only
        the topic too, since a direct caller carries no `aws:SourceArn`. The sandbox applies
        a queue policy as AWS does: a topic the policy does not name has its deliveries
        dropped (counted in the topic's `NumberOfNotificationsFailed`). See
        [security]({C}/queues-and-notifications.md#security).
        """),
        solution("lab01-policies", "", """
        for name, url in queue_urls.items():
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "AllowVideoUploadsTopic", "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": queue_arns[name],
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        """),
        check("lab01-check-policies", "policies"),
        md("lab01-subscriptions-md", f"""
        ## Step 4: subscribe the queues

        Subscribe each queue to the topic (protocol `sqs`, endpoint = the queue **ARN**).
        SNS normally wraps each message in a JSON envelope (`Type`, `MessageId`,
        `TopicArn`, `Message`, ...). The analytics job loads bodies straight into its
        store, so turn on **raw message delivery** for the analytics subscription only.
        Keep `subscription_arns` (by queue name). See
        [fan-out in SNS]({C}/queues-and-notifications.md#fan-out) and
        [SQS vs SNS]({C}/decision-points.md#sqs-vs-sns).
        """),
        solution("lab01-subscriptions", "", """
        subscription_arns = {}
        for name, arn in queue_arns.items():
            attributes = {"RawMessageDelivery": "true"} if name == "analytics" else {}
            subscription_arns[name] = sns.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes,
                ReturnSubscriptionArn=True)["SubscriptionArn"]
        """),
        check("lab01-check-subscriptions", "subscriptions"),
        md("lab01-filters-md", f"""
        ## Step 5: filter policies

        The upload service publishes JSON bodies such as
        `{{"video_id": "v42", "status": "uploaded", "duration_s": 620}}` with a message
        attribute `event_type` (`VideoUploaded`, `VideoDeleted` or `ViewRecorded`).

        - **thumbnails** wants only `VideoUploaded`: an attribute filter policy (the default
          scope, `MessageAttributes`). A message without the attribute does not match.
        - **transcoding** wants uploads with a positive duration, decided on the **body**:
          `FilterPolicyScope` = `MessageBody`, with `status` = `uploaded` and a numeric
          condition `duration_s > 0`.
        - **analytics** keeps everything (no filter).

        Filtering in SNS saves each consumer the work and the delivery charge. See
        [delivery and error handling]({C}/queues-and-notifications.md#delivery-and-error-handling).
        """),
        solution("lab01-filters", "", """
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arns["thumbnails"], AttributeName="FilterPolicy",
            AttributeValue=json.dumps({"event_type": ["VideoUploaded"]}))
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arns["transcoding"], AttributeName="FilterPolicyScope",
            AttributeValue="MessageBody")
        transcoding_policy = {"status": ["uploaded"], "duration_s": [{"numeric": [">", 0]}]}
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arns["transcoding"], AttributeName="FilterPolicy",
            AttributeValue=json.dumps(transcoding_policy))
        print("filters set")
        """),
        check("lab01-check-filters", "filters", hidden=True),
        md("lab01-handler-md", f"""
        ## Step 6: Lambda consumers

        An **event source mapping** polls a queue for a function, hands it batches of up to
        10 messages, deletes a batch when the handler returns, and leaves it to reappear
        after the visibility timeout when the handler raises. Write one handler for the
        three functions: for every record, parse the body (unwrap the SNS envelope when
        there is one: raw delivery has none) and print `processed <video_id>`. Let a body
        that is not JSON raise: that is how a poison message reaches the DLQ. See
        [message buffering]({C}/patterns.md#message-buffering).
        """),
        solution("lab01-handler", "", '''
        HANDLER = """
        import json

        def handler(event, context):
            for record in event["Records"]:
                body = json.loads(record["body"])            # a poison message raises here
                if "Message" in body and "TopicArn" in body:  # the SNS envelope
                    body = json.loads(body["Message"])
                print("processed", body["video_id"])
        """
        '''),
        md("lab01-consumers-md", """
        Create the functions `thumbnailer` (timeout 30 s), `transcoder` (600 s) and
        `analytics-recorder` (10 s) with runtime `python3.12`, role `ROLE_ARN`, handler
        `lambda_function.handler` and code `zip_code(HANDLER)`, then map each queue to its
        function (`BatchSize` at most 10). Messages already waiting are processed as soon
        as the mapping exists.
        """),
        solution("lab01-consumers", "", """
        functions = {"thumbnails": ("thumbnailer", 30), "transcoding": ("transcoder", 600),
                     "analytics": ("analytics-recorder", 10)}
        for queue_name, (fn, timeout) in functions.items():
            lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE_ARN,
                                Handler="lambda_function.handler", Timeout=timeout,
                                Code={"ZipFile": zip_code(HANDLER)})
            lam.create_event_source_mapping(EventSourceArn=queue_arns[queue_name],
                                            FunctionName=fn, BatchSize=10)
        """),
        given("lab01-try", """
        # Publish a few messages and watch them flow (the picture counts them).
        for event_type, body in [
            ("VideoUploaded", {"video_id": "v1", "status": "uploaded", "duration_s": 620}),
            ("ViewRecorded", {"video_id": "v1", "status": "viewed", "duration_s": 620}),
            ("VideoDeleted", {"video_id": "v2", "status": "deleted", "duration_s": 0}),
        ]:
            sns.publish(TopicArn=topic_arn, Message=json.dumps(body), MessageAttributes={
                "event_type": {"DataType": "String", "StringValue": event_type}})
        architecture()
        """),
        check("lab01-check-consumers", "consumers", hidden=True),
        md("lab01-poison-md", f"""
        ## Step 7: a poison message

        Send a body that is not JSON to `thumbnails` (the check looks for your message in
        `video-dlq`, besides sending one of its own). The handler raises, the message comes
        back after each visibility timeout, and after the third receive SQS moves it to
        `video-dlq`. On AWS that takes 3 x 3 minutes; the sandbox's clock moves at once
        with `sb.clock.advance(seconds=...)`. In production you would alarm on the DLQ's
        depth, fix the cause and redrive. With `ReportBatchItemFailures` only the failed
        record returns instead of its whole batch. See
        [delivery, visibility and error handling]({C}/queues-and-notifications.md#delivery-visibility-and-error-handling).
        """),
        solution("lab01-poison", "", """
        sqs.send_message(QueueUrl=queue_urls["thumbnails"], MessageBody="this is not JSON")
        for _ in range(4):
            sb.clock.advance(seconds=181)
        print(sqs.get_queue_attributes(QueueUrl=dlq_url,
                                       AttributeNames=["ApproximateNumberOfMessages"])["Attributes"])
        """),
        check("lab01-check-poison", "poison"),
        md("lab01-fifo-md", f"""
        ## Step 8 (optional, not graded): ordering and deduplication with FIFO

        Edits to one video must apply in order, once. A **FIFO topic** (`.fifo`) into a
        **FIFO queue** keeps order within a message group and drops duplicates within the
        5-minute deduplication window (content-based deduplication hashes the body).
        Create topic and queue `video-edits.fifo` (with a queue policy for the topic, as in
        step 3), subscribe (raw delivery), publish `1 cut`, `2 trim`, `2 trim` again and
        `3 publish` in group `video-1`, and receive: three messages, in order. See [SQS Standard vs FIFO]({C}/decision-points.md#sqs-standard-vs-fifo).
        """),
        solution("lab01-fifo", "", """
        edits_topic = sns.create_topic(Name="video-edits.fifo", Attributes={
            "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
        edits_url = sqs.create_queue(QueueName="video-edits.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        edits_arn = sqs.get_queue_attributes(
            QueueUrl=edits_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=edits_url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": edits_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": edits_topic}}}]})})
        sns.subscribe(TopicArn=edits_topic, Protocol="sqs", Endpoint=edits_arn,
                      Attributes={"RawMessageDelivery": "true"})
        for edit in ["1 cut", "2 trim", "2 trim", "3 publish"]:
            sns.publish(TopicArn=edits_topic, Message=edit, MessageGroupId="video-1")
        got = sqs.receive_message(QueueUrl=edits_url, MaxNumberOfMessages=10)["Messages"]
        print([m["Body"] for m in got])
        """),
        check("lab01-check-fifo", "fifo", graded=False),
        *scorecard("lab01"),
        md("lab01-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on the decision behind this lab:
        [SQS vs SNS]({C}/decision-points.md#sqs-vs-sns). Your answers are saved with your
        `eventlab quiz` progress.
        """),
        given("lab01-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="sqs-vs-sns", n=3)
        """),
    ])
