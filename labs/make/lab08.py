"""Lab 8: a central event bus across accounts. An organisation's accounts put events onto
one bus in a central account, which routes them to the owners' buses with a role, archives
them, and alarms on failed deliveries (source of labs/source/lab08_central_bus)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab08_central_bus"
C = "../../../content"


def build():
    return notebook([
        md("lab08-intro", f"""
        # Lab 8: a central event bus across accounts

        A company runs each team in its own AWS account, all in one AWS Organizations
        organisation. Teams publish their events to **one bus in a central account**, which
        forwards each kind to the account that owns it: security findings to the security
        team, order events to the orders team. An archive keeps everything for replay, and
        alarms tell the platform team when a forward fails. Nobody outside the organisation
        may publish. See [cross-account permission models]({C}/security.md#cross-account-permission-models)
        and [cross-account and multi-account EventBridge]({C}/events.md#cross-account-and-multi-account).

        | account | id | what it holds |
        |---|---|---|
        | central (manages the organisation) | `123456789012` | `central-bus`, rules `security-findings` and `order-events`, role `central-forwarder`, queue `central-dlq`, archive `central-archive`, alarms `security-findings-failed` and `order-events-failed` |
        | workload (the orders team) | `111111111111` | `orders-bus` -> queue `orders-inbox` |
        | security | `222222222222` | `security-bus` -> queue `findings-inbox` |
        | outsider (not in the organisation) | `999999999999` | nothing: it must be refused |

        Findings have `source` `acme.security` (detail-type `Security Finding`); orders have
        `source` `acme.orders` (detail-type `Order Placed`). The organisation is given. Each
        check **sends its own probe events from the account it is about** and looks where
        they arrived: what is graded is what happened, not what you wrote.
        """),
        given("lab08-setup", """
        import json
        from datetime import timedelta

        from autograder.lab import architecture, check, start

        sb = start("lab08")   # a fresh local AWS; the organisation already exists
        CENTRAL, WORKLOAD, SECURITY, OUTSIDER = "123456789012", "111111111111", "222222222222", "999999999999"
        REGION = sb.region
        central, workload, security, outsider = sb, sb.account(WORKLOAD), sb.account(SECURITY), sb.account(OUTSIDER)
        events, sqs, iam, cw = sb.client("events"), sb.client("sqs"), sb.client("iam"), sb.client("cloudwatch")

        org = sb.client("organizations").describe_organization()["Organization"]
        ORG_ID = org["Id"]
        print("organisation", ORG_ID, "managed by", org["MasterAccountId"], "accounts:",
              sorted(a["Id"] for a in sb.client("organizations").list_accounts()["Accounts"]))


        def bus_arn(account, name):
            return f"arn:aws:events:{REGION}:{account}:event-bus/{name}"


        def queue_arn(client, url):
            return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


        def allow_events(client, url, rule_arns):
            \"\"\"The queue policy EventBridge needs to deliver to a queue for these rules.\"\"\"
            arn = queue_arn(client, url)
            client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}}}]})})
        """),
        md("lab08-accounts-md", f"""
        ## Step 1: each owner's bus accepts events from the central account

        In the **security** account create `security-bus`, a rule `findings-to-inbox`
        matching `source` `acme.security` with the queue `findings-inbox` as its target (and
        the queue policy for that rule: `allow_events`). In the **workload** account the
        same for orders: `orders-bus`, rule `orders-to-inbox` on `acme.orders`, queue
        `orders-inbox`.

        Each owner's bus needs a **resource policy** that lets the central account put
        events: `put_permission(EventBusName=..., Action="events:PutEvents",
        Principal=CENTRAL, StatementId="from-central")`. The owner decides who may write
        to its bus; the central account's own permissions are not enough. See
        [cross-account permission models]({C}/security.md#cross-account-permission-models).
        """),
        solution("lab08-accounts", "", """
        def owner_bus(account, bus_name, rule_name, source, queue_name):
            ev, q = account.client("events"), account.client("sqs")
            ev.create_event_bus(Name=bus_name)
            ev.put_permission(EventBusName=bus_name, Action="events:PutEvents",
                              Principal=CENTRAL, StatementId="from-central")
            url = q.create_queue(QueueName=queue_name)["QueueUrl"]
            rule_arn = ev.put_rule(Name=rule_name, EventBusName=bus_name,
                                   EventPattern=json.dumps({"source": [source]}))["RuleArn"]
            allow_events(q, url, [rule_arn])
            ev.put_targets(Rule=rule_name, EventBusName=bus_name,
                           Targets=[{"Id": "inbox", "Arn": queue_arn(q, url)}])
            return url

        findings_url = owner_bus(security, "security-bus", "findings-to-inbox", "acme.security", "findings-inbox")
        orders_url = owner_bus(workload, "orders-bus", "orders-to-inbox", "acme.orders", "orders-inbox")
        """),
        check("lab08-check-accounts", "accounts"),
        md("lab08-central-md", f"""
        ## Step 2: the central bus, open to the organisation and to nobody else

        In the central account create `central-bus` and give it a policy that lets **every
        account of the organisation** put events, whatever accounts join later: one
        statement with `Principal` `*` and the condition `aws:PrincipalOrgID` = `ORG_ID`.
        (Listing the accounts one by one works too, but each new account then needs a policy
        change.) Then try it: put an event from the workload account onto the bus's **ARN**,
        and one from the outsider, which must be refused with `AccessDeniedException`. See
        [cross-account permission models]({C}/security.md#cross-account-permission-models).
        """),
        solution("lab08-central", "", """
        central_bus = events.create_event_bus(Name="central-bus")["EventBusArn"]
        events.put_permission(EventBusName="central-bus", Action="events:PutEvents", Principal="*",
                              StatementId="organisation",
                              Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": ORG_ID})
        """),
        given("lab08-try-central", """
        from botocore.exceptions import ClientError

        hello = {"EventBusName": central_bus, "Source": "acme.orders", "DetailType": "Order Placed",
                 "Detail": json.dumps({"orderId": "ord-hello"})}
        for name, account in [("workload", workload), ("outsider", outsider)]:
            try:
                answer = account.client("events").put_events(Entries=[hello])
                print(f"{name}: accepted, {answer['FailedEntryCount']} entries failed")
            except ClientError as e:
                print(f"{name}: {e.response['Error']['Code']}")   # the outsider must get AccessDeniedException
        """),
        check("lab08-check-central", "central"),
        md("lab08-routing-md", f"""
        ## Step 3: route each kind to its owner, with a role and a dead-letter queue

        Create the role `central-forwarder` in the central account: trusted by
        `events.amazonaws.com`, allowed `events:PutEvents` on both owners' buses. Create
        the queue `central-dlq`. Then two rules on `central-bus`:

        - `security-findings`: `source` `acme.security` -> `security-bus` in the security account;
        - `order-events`: `source` `acme.orders` -> `orders-bus` in the workload account.

        Each target is the other account's **bus ARN** with `RoleArn` = the role and
        `DeadLetterConfig` = `central-dlq` (whose queue policy must let EventBridge send
        for both rules). When the owner's bus policy refuses, EventBridge does not retry:
        the event goes to the dead-letter queue with `ERROR_CODE` `NO_PERMISSIONS`. See
        [delivery, ordering and error handling]({C}/events.md#delivery-ordering-and-error-handling).
        """),
        solution("lab08-routing", "", """
        role_arn = iam.create_role(RoleName="central-forwarder", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName="central-forwarder", PolicyName="put-to-owner-buses", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "events:PutEvents",
                "Resource": [bus_arn(SECURITY, "security-bus"), bus_arn(WORKLOAD, "orders-bus")]}]}))
        dlq_url = sqs.create_queue(QueueName="central-dlq")["QueueUrl"]
        rule_arns = []
        for rule, source, target in [("security-findings", "acme.security", bus_arn(SECURITY, "security-bus")),
                                     ("order-events", "acme.orders", bus_arn(WORKLOAD, "orders-bus"))]:
            rule_arns.append(events.put_rule(Name=rule, EventBusName="central-bus",
                                             EventPattern=json.dumps({"source": [source]}))["RuleArn"])
            events.put_targets(Rule=rule, EventBusName="central-bus", Targets=[{
                "Id": "owner-bus", "Arn": target, "RoleArn": role_arn,
                "DeadLetterConfig": {"Arn": queue_arn(sqs, dlq_url)}}])
        allow_events(sqs, dlq_url, rule_arns)
        """),
        check("lab08-check-routing", "routing"),
        md("lab08-archive-md", f"""
        ## Step 4: archive everything, and replay a finding

        Create the archive `central-archive` on `central-bus` (no pattern: it keeps every
        event; `RetentionDays` 30). Then put a finding onto `central-bus` and **replay** it
        to the security team: `start_replay` with the archive's ARN, a window around the
        finding's time, and `Destination` = the central bus with `FilterArns` = the
        `security-findings` rule only (a replay always goes back to the archive's own bus;
        `FilterArns` keeps the other rules from seeing the events twice). Replayed events
        carry `replay-name`. See
        [delivery, ordering and error handling]({C}/events.md#delivery-ordering-and-error-handling).
        """),
        solution("lab08-archive", "", """
        archive_arn = events.create_archive(ArchiveName="central-archive", EventSourceArn=central_bus,
                                            RetentionDays=30)["ArchiveArn"]
        """),
        solution("lab08-replay", "", """
        began = sb.clock.now() - timedelta(seconds=1)
        events.put_events(Entries=[{
            "EventBusName": central_bus, "Source": "acme.security", "DetailType": "Security Finding",
            "Detail": json.dumps({"finding": "open-port-22"})}])
        sb.clock.advance(seconds=5)
        events.start_replay(ReplayName="findings-again", EventSourceArn=archive_arn, EventStartTime=began,
                            EventEndTime=sb.clock.now(),
                            Destination={"Arn": central_bus, "FilterArns": [rule_arns[0]]})
        sb.clock.advance(seconds=5)
        print(events.describe_replay(ReplayName="findings-again")["State"])
        """),
        check("lab08-check-archive", "archive"),
        md("lab08-alarms-md", f"""
        ## Step 5: alarms on failed forwards

        A forward that fails for good (refused, or out of retries) counts in the
        `AWS/Events` metric `FailedInvocations` of its rule; for a rule of a custom bus the
        dimensions are `EventBusName` **and** `RuleName`. Create `security-findings-failed`
        and `order-events-failed`: `Sum` over 60 s, one evaluation period,
        `GreaterThanThreshold` 0. The last check makes one forward to `security-bus` fail
        and looks for the dead letter in `central-dlq` and for the alarm. See
        [cross-account permission models]({C}/security.md#cross-account-permission-models).
        """),
        solution("lab08-alarms", "", """
        for rule, alarm in [("security-findings", "security-findings-failed"),
                            ("order-events", "order-events-failed")]:
            cw.put_metric_alarm(
                AlarmName=alarm, Namespace="AWS/Events", MetricName="FailedInvocations",
                Dimensions=[{"Name": "EventBusName", "Value": "central-bus"}, {"Name": "RuleName", "Value": rule}],
                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
                ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
        """),
        check("lab08-check-alarms", "alarms"),
        given("lab08-look", """
        print(sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"])
        architecture()
        """),
        *scorecard("lab08"),
        md("lab08-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on who grants what across accounts: see
        [cross-account permission models]({C}/security.md#cross-account-permission-models).
        """),
        given("lab08-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="resource-policy-vs-role", n=3)
        """),
    ])
