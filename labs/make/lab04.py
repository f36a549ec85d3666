"""Lab 4: a Step Functions saga for travel bookings (source of labs/source/lab04_stepfunctions)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab04_stepfunctions"
C = "../../../content"


def build():
    return notebook([
        md("lab04-intro", f"""
        # Lab 4: a travel booking saga with Step Functions

        A travel agency books a trip in three parts, each owned by a different supplier:
        a **flight**, a **hotel** and a **car**. There is no transaction across three
        companies, so the booking is a **saga**: a sequence of local steps, each with a
        compensating step (a cancellation) that runs, last booked first cancelled, when a
        later step fails. AWS Step Functions is the orchestrator: it knows the order,
        retries what is worth retrying and records every transition in the execution's
        history. See [saga]({C}/patterns.md#saga) and the
        [microservices saga scenario]({C}/scenarios.md#microservices-saga).

        Use these names (the checks look for them): functions `reserve-flight`,
        `reserve-hotel`, `reserve-car`, `cancel-flight`, `cancel-hotel`, `cancel-car`,
        `issue-ticket`, `notify-email`, `notify-sms`; state machines `travel-booking`
        (Standard) and `travel-booking-express` (Express); queue `booking-approvals`. The
        checks start their own trips (ids `trip-probe-...`), move the sandbox's virtual
        clock and read each execution's history with `GetExecutionHistory`.
        """),
        given("lab04-setup", """
        import copy
        import json

        from botocore.exceptions import ClientError

        from autograder.lab import check, hidden, start

        sb = start("lab04")   # a fresh local AWS; also defines zip_code(...) and ROLE_ARN
        lam, sfn, sqs = sb.client("lambda"), sb.client("stepfunctions"), sb.client("sqs")
        SFN_ROLE = sb.client("iam").create_role(
            RoleName="travel-booking-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]

        def trip(trip_id, total=400, passengers=("ana", "bo"), **flags):
            \"\"\"A booking request; flags: failAt='hotel', flaky={'car': 2}.\"\"\"
            return {"tripId": trip_id, "total": total, "passengers": list(passengers), **flags}

        def deploy(name, states, kind="STANDARD"):
            \"\"\"Create the state machine `name` (starting at ReserveFlight) or update it.\"\"\"
            definition = json.dumps({"StartAt": "ReserveFlight", "States": states})
            for m in sfn.list_state_machines()["stateMachines"]:
                if m["name"] == name:
                    sfn.update_state_machine(stateMachineArn=m["stateMachineArn"],
                                             definition=definition)
                    return m["stateMachineArn"]
            return sfn.create_state_machine(name=name, definition=definition, roleArn=SFN_ROLE,
                                            type=kind)["stateMachineArn"]

        def run(machine_arn, request, minutes=5):
            \"\"\"Start an execution, let up to `minutes` of virtual time pass, describe it.\"\"\"
            arn = sfn.start_execution(stateMachineArn=machine_arn,
                                      input=json.dumps(request))["executionArn"]
            for _ in range(minutes):
                if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                    break
                sb.clock.advance(minutes=1)
            return sfn.describe_execution(executionArn=arn)
        """),
        md("lab04-functions-md", f"""
        ## Step 1: the suppliers, as Lambda functions

        One handler serves all nine functions: it reads its own name
        (`context.function_name`, e.g. `reserve-hotel`) to know what it does. It also reads
        two **failure-injection flags** from the trip, so that you can make any step fail
        on purpose:

        - `failAt: "hotel"`: the hotel has no room, a **permanent** error
          (`BookingFailed`). Retrying cannot help; the saga must undo what it booked.
        - `flaky: {{"hotel": 2}}`: the hotel's API is busy for the first two attempts, a
          **transient** error (`ServiceUnavailable`). A retry a little later succeeds.

        The error name Step Functions sees is the exception's class name, which is what
        `Retry` and `Catch` match on. (The attempt counter lives in the warm execution
        environment's memory: good enough for a lab, not for production.)

        Create the nine functions (runtime `python3.12`, role `ROLE_ARN`, handler
        `lambda_function.handler`) and keep their ARNs in `fn`, by name. See
        [AWS Step Functions]({C}/workflows.md#aws-step-functions).
        """),
        solution("lab04-functions", '''
        HANDLER = """
        import json

        ATTEMPTS = {}


        class BookingFailed(Exception):
            pass   # permanent: no seat, no room, no car. Retrying cannot help.


        class ServiceUnavailable(Exception):
            pass   # transient: the supplier is busy. A retry a little later succeeds.


        def handler(event, context):
            action, _, item = context.function_name.partition("-")   # reserve-hotel
            trip = event.get("tripId", "?")
            key = (trip, context.function_name)
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            if ATTEMPTS[key] <= event.get("flaky", {}).get(item, 0):
                raise ServiceUnavailable(f"{item} supplier busy (attempt {ATTEMPTS[key]})")
            if action == "reserve" and event.get("failAt") == item:
                raise BookingFailed(f"no {item} available for trip {trip}")
            print(json.dumps({"did": context.function_name, "trip": trip}))
            if action == "issue":
                return {"ticket": f"TKT-{trip}-{event.get('passenger', 'all')}"}
            return {"ref": f"{item.upper()}-{trip}", "done": action}
        """
        FUNCTIONS = ["reserve-flight", "reserve-hotel", "reserve-car",
                     "cancel-flight", "cancel-hotel", "cancel-car",
                     "issue-ticket", "notify-email", "notify-sms"]
        ''', """
        fn = {}
        for name in FUNCTIONS:
            fn[name] = lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=ROLE_ARN,
                Handler="lambda_function.handler", Code={"ZipFile": zip_code(HANDLER)},
            )["FunctionArn"]
        print(sorted(fn))
        """),
        check("lab04-check-functions", "functions"),
        md("lab04-workflow-md", f"""
        ## Step 2: the happy path

        A **Task** state with a Lambda function ARN as its `Resource` invokes the function
        with the state's input and waits for its result. By default the result *replaces*
        the input; `ResultPath: "$.flight"` puts it beside the input instead, so that the
        trip (and its flags) reaches the next step too, and each supplier's reference
        (`ref`) stays in the booking: give each reservation its own path (`$.flight`,
        `$.hotel`, `$.car`). Build the states `ReserveFlight` ->
        `ReserveHotel` -> `ReserveCar` -> `Booked` (a `Succeed` state) in a dict `states`
        and deploy it as the **Standard** state machine `travel-booking` with
        `deploy(...)` (given above). Standard workflows run up to a year, exactly once,
        with their history kept 90 days: right for a booking. See
        [States]({C}/workflows.md#states).
        """),
        solution("lab04-workflow", "", """
        states = {
            "ReserveFlight": {"Type": "Task", "Resource": fn["reserve-flight"],
                              "ResultPath": "$.flight", "Next": "ReserveHotel"},
            "ReserveHotel": {"Type": "Task", "Resource": fn["reserve-hotel"],
                             "ResultPath": "$.hotel", "Next": "ReserveCar"},
            "ReserveCar": {"Type": "Task", "Resource": fn["reserve-car"],
                           "ResultPath": "$.car", "Next": "Booked"},
            "Booked": {"Type": "Succeed"},
        }
        machine_arn = deploy("travel-booking", states)
        out = run(machine_arn, trip("T-100"))
        print(out["status"], out["output"])
        """),
        check("lab04-check-workflow", "workflow"),
        md("lab04-retry-md", f"""
        ## Step 3: retry transient errors with exponential back-off

        A `Retry` rule on a state matches error names (`ErrorEquals`) and retries after
        `IntervalSeconds`, multiplying the wait by `BackoffRate` each time, up to
        `MaxAttempts` retries (`MaxDelaySeconds` caps the wait, `JitterStrategy: FULL`
        spreads retries of many executions). A busy supplier gets time to recover: 2 s,
        then 4 s, then 8 s. Retry **only** transient errors: retrying `BookingFailed` three
        times would just delay the cancellation (and on Standard workflows every retry is
        a billed state transition).

        Give each Reserve state `Retry` on `ServiceUnavailable` with `IntervalSeconds` 2,
        `BackoffRate` 2 and `MaxAttempts` 3, and deploy again. The back-off runs on the
        sandbox's virtual clock: `run(...)` advances it, so 14 s of waiting take no time.
        See [error handling]({C}/workflows.md#error-handling).
        """),
        solution("lab04-retry", "", """
        RETRY = [{"ErrorEquals": ["ServiceUnavailable"], "IntervalSeconds": 2,
                  "BackoffRate": 2, "MaxAttempts": 3}]
        for name in ["ReserveFlight", "ReserveHotel", "ReserveCar"]:
            states[name]["Retry"] = RETRY
        deploy("travel-booking", states)
        """),
        md("lab04-retry-demo-md", """
        A hotel busy three times: read the execution's history to see each failed attempt
        and the growing wait before the next (the timestamps are the virtual clock's).
        """),
        given("lab04-retry-demo", """
        out = run(machine_arn, trip("T-200", flaky={"hotel": 3}))
        print(out["status"])
        last_failure = None
        for e in sfn.get_execution_history(executionArn=out["executionArn"])["events"]:
            if e["type"] == "LambdaFunctionFailed":
                last_failure = e["timestamp"]
                print("  failed:", e["lambdaFunctionFailedEventDetails"]["error"])
            elif e["type"] == "LambdaFunctionScheduled" and last_failure is not None:
                wait = (e["timestamp"] - last_failure).total_seconds()
                print(f"  retried after {wait:.0f} s")
                last_failure = None
        """),
        check("lab04-check-retry", "retry", hidden=True),
        md("lab04-saga-md", f"""
        ## Step 4: compensate in reverse order

        When a reservation fails for good, the reservations made before it must be undone.
        A `Catch` rule routes an error (after the retries ran out) to another state, with
        the error and its cause at `ResultPath` (`$.error`), so the original trip input is
        kept: without it the error *replaces* the input, and each cancellation runs with
        no `tripId` to cancel. Catch every error a reservation can end with: `BookingFailed`,
        and a `ServiceUnavailable` still failing when the retries ran out. Build one
        compensation chain, `CancelCar` -> `CancelHotel` -> `CancelFlight` ->
        `BookingFailed` (a `Fail` state, so the execution ends `FAILED` for whoever
        watches it), and let each Reserve state's `Catch` enter the chain at its own
        cancellation: a failed hotel runs `CancelHotel` (it may have half-happened, e.g. a
        timeout after the hotel said yes) then `CancelFlight`, and never cancels the car it
        never booked. Cancellations must be **idempotent** and should be retried too:
        give them the same `RETRY`. Set `ResultPath: None` on them so they keep the input.
        See [saga]({C}/patterns.md#saga).
        """),
        solution("lab04-saga", "", """
        states["ReserveFlight"]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelFlight"}]
        states["ReserveHotel"]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelHotel"}]
        states["ReserveCar"]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelCar"}]
        states["CancelCar"] = {"Type": "Task", "Resource": fn["cancel-car"], "Retry": RETRY,
                               "ResultPath": None, "Next": "CancelHotel"}
        states["CancelHotel"] = {"Type": "Task", "Resource": fn["cancel-hotel"], "Retry": RETRY,
                                 "ResultPath": None, "Next": "CancelFlight"}
        states["CancelFlight"] = {"Type": "Task", "Resource": fn["cancel-flight"], "Retry": RETRY,
                                  "ResultPath": None, "Next": "BookingFailed"}
        states["BookingFailed"] = {"Type": "Fail", "Error": "BookingFailed",
                                   "Cause": "a reservation failed; the earlier ones were cancelled"}
        deploy("travel-booking", states)
        """),
        check("lab04-check-saga", "saga"),
        md("lab04-inject-md", f"""
        ## Step 5: make each step fail in turn, and prove what ran

        A saga is only as good as its failure paths, and those rarely run in normal
        traffic: test them by injecting failures. Run three trips, with `failAt` set to
        `flight`, `hotel` and `car` in turn. Then prove what happened from the execution
        history, not from logs: write `lambda_calls(execution_arn)`, which reads
        `get_execution_history` and returns the names of the functions called, in order
        (the `LambdaFunctionScheduled` events carry the function ARN in
        `lambdaFunctionScheduledEventDetails.resource`). You should see, for the car:
        the three reservations, then `cancel-car`, `cancel-hotel`, `cancel-flight`. The
        check reads the history of your own executions too. See
        [error handling]({C}/workflows.md#error-handling).
        """),
        solution("lab04-inject", "", """
        def lambda_calls(execution_arn):
            events = sfn.get_execution_history(executionArn=execution_arn,
                                               maxResults=1000)["events"]
            return [e["lambdaFunctionScheduledEventDetails"]["resource"].split(":")[-1]
                    for e in events if e["type"] == "LambdaFunctionScheduled"]

        for item in ["flight", "hotel", "car"]:
            out = run(machine_arn, trip(f"T-fail-{item}", failAt=item))
            print(item, out["status"], lambda_calls(out["executionArn"]))
        """),
        check("lab04-check-inject", "inject"),
        md("lab04-fanout-md", f"""
        ## Step 6: Map over passengers, Parallel notifications

        Once the three parts are booked, each passenger needs a ticket and the traveller
        gets an email and a text message.

        - A **Map** state runs the same steps for each item of an array: `ItemsPath`
          `$.passengers`, and `ItemSelector` builds each iteration's input,
          `{{"tripId.$": "$.tripId", "passenger.$": "$$.Map.Item.Value"}}`
          (`$$` is the context object). Its `ItemProcessor` (mode `INLINE`) is a Task on
          `issue-ticket`. Put the list of results at `$.tickets`. `MaxConcurrency` limits
          parallel iterations; an inline Map handles up to 40 at a time, and a *Distributed*
          Map runs child executions over millions of S3 items.
        - A **Parallel** state runs fixed branches at once and waits for all of them:
          `IssueTickets` -> `Notify`, with two branches, a Task on `notify-email` and one
          on `notify-sms`, its result at `$.notified`, then `Booked`.

        Route `ReserveCar` to `IssueTickets`. See [States]({C}/workflows.md#states).
        """),
        solution("lab04-fanout", "", """
        states["ReserveCar"]["Next"] = "IssueTickets"
        states["IssueTickets"] = {
            "Type": "Map", "ItemsPath": "$.passengers", "ResultPath": "$.tickets",
            "ItemSelector": {"tripId.$": "$.tripId", "passenger.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "IssueTicket",
                "States": {"IssueTicket": {"Type": "Task", "Resource": fn["issue-ticket"],
                                           "End": True}}},
            "Next": "Notify"}
        states["Notify"] = {
            "Type": "Parallel", "ResultPath": "$.notified", "Next": "Booked",
            "Branches": [
                {"StartAt": "Email", "States": {
                    "Email": {"Type": "Task", "Resource": fn["notify-email"], "End": True}}},
                {"StartAt": "Sms", "States": {
                    "Sms": {"Type": "Task", "Resource": fn["notify-sms"], "End": True}}},
            ]}
        deploy("travel-booking", states)
        out = run(machine_arn, trip("T-300", passengers=["ana", "bo", "chen"]))
        print(out["status"], json.loads(out["output"])["tickets"])
        """),
        check("lab04-check-fanout", "fanout"),
        md("lab04-approval-md", f"""
        ## Step 7: human approval for expensive trips (a callback)

        Trips over **1000** need a travel manager's approval. A Task whose resource ends in
        **`.waitForTaskToken`** sends a request that carries a task token (`$$.Task.Token`)
        and then pauses, for up to a year on a Standard workflow, without paying for the
        wait, until someone calls `SendTaskSuccess` (or `SendTaskFailure`) with that token.
        Set `TimeoutSeconds` so that a forgotten approval fails instead of waiting forever.

        Create the queue `booking-approvals`. After `ReserveCar`, a Choice `NeedsApproval`
        sends trips with `total` > 1000 to `WaitForApproval`, a Task on
        `arn:aws:states:::sqs:sendMessage.waitForTaskToken` whose message body is
        `{{"taskToken": ..., "tripId": ..., "total": ...}}`; the others go straight to
        `IssueTickets`. A rejection (`SendTaskFailure`) must cancel the whole trip: `Catch`
        to `CancelCar`. Then play the travel manager: start a trip of 4200, read the
        request from the queue and approve it. See
        [human approval]({C}/workflows.md#human-approval).
        """),
        solution("lab04-approval", "", """
        approvals_url = sqs.create_queue(QueueName="booking-approvals")["QueueUrl"]
        states["ReserveCar"]["Next"] = "NeedsApproval"
        states["NeedsApproval"] = {
            "Type": "Choice", "Default": "IssueTickets",
            "Choices": [{"Variable": "$.total", "NumericGreaterThan": 1000,
                         "Next": "WaitForApproval"}]}
        states["WaitForApproval"] = {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": approvals_url, "MessageBody": {
                "taskToken.$": "$$.Task.Token", "tripId.$": "$.tripId", "total.$": "$.total"}},
            "TimeoutSeconds": 3 * 24 * 3600, "ResultPath": "$.approval", "Next": "IssueTickets",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                       "Next": "CancelCar"}]}
        deploy("travel-booking", states)

        big = sfn.start_execution(stateMachineArn=machine_arn,
                                  input=json.dumps(trip("T-900", total=4200)))["executionArn"]
        print("before approval:", sfn.describe_execution(executionArn=big)["status"])
        message = sqs.receive_message(QueueUrl=approvals_url)["Messages"][0]
        request = json.loads(message["Body"])
        sfn.send_task_success(taskToken=request["taskToken"],
                              output=json.dumps({"approved": True, "by": "travel-manager"}))
        sqs.delete_message(QueueUrl=approvals_url, ReceiptHandle=message["ReceiptHandle"])
        print("after approval:", sfn.describe_execution(executionArn=big)["status"])
        """),
        check("lab04-check-approval", "approval", hidden=True),
        md("lab04-express-md", f"""
        ## Step 8: Standard vs Express, side by side

        An **Express** workflow runs for at most 5 minutes, keeps no history (only
        CloudWatch Logs if you turn them on), is billed per request and by duration × memory
        (rounded up to 100 ms and 64 MB) instead of per state transition, and runs
        at-least-once when started asynchronously, at-most-once when started with
        **`StartSyncExecution`**, which returns the result to the caller (API Gateway can
        call it directly). It supports only request-response integrations: **no**
        `.waitForTaskToken` callbacks and no `.sync` jobs. (The sandbox does not refuse such
        a definition, so the check reads yours.)

        Make `travel-booking-express` (type `EXPRESS`) from a deep copy of `states` in which
        `WaitForApproval` becomes a `Fail` state (`Error` `NeedsApproval`): expensive trips
        go to the Standard workflow. Run a trip of 400 with `start_sync_execution` and print
        its `status`, `output` and `billingDetails`; then try `start_sync_execution` on the
        Standard machine and print the error code. See
        [Standard vs Express]({C}/workflows.md#standard-vs-express).
        """),
        solution("lab04-express", "", """
        express_states = copy.deepcopy(states)
        express_states["WaitForApproval"] = {
            "Type": "Fail", "Error": "NeedsApproval",
            "Cause": "trips over 1000 need approval: book them with the Standard workflow"}
        express_arn = deploy("travel-booking-express", express_states, kind="EXPRESS")
        answer = sfn.start_sync_execution(stateMachineArn=express_arn,
                                          input=json.dumps(trip("T-400")))
        print(answer["status"], answer["billingDetails"])
        print(json.loads(answer["output"])["tickets"])
        try:
            sfn.start_sync_execution(stateMachineArn=machine_arn, input=json.dumps(trip("T-401")))
        except ClientError as err:
            print("Standard:", err.response["Error"]["Code"])
        """),
        given("lab04-contrast", """
        # A Standard execution is an auditable record; an Express run leaves only its answer.
        standard = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        print(len(standard), "Standard executions kept, e.g.", standard[0]["status"])
        events = sfn.get_execution_history(executionArn=standard[0]["executionArn"])["events"]
        print(len(events), "history events, each a billed transition or a record of one")
        """),
        check("lab04-check-express", "express"),
        *scorecard("lab04"),
        md("lab04-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on
        [Step Functions Standard vs Express]({C}/decision-points.md#step-functions-standard-vs-express).
        """),
        given("lab04-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="sfn-standard-vs-express", n=3)
        """),
    ])
