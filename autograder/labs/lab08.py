"""Lab 8: a central event bus across accounts, graded by the checks' own probe events.

The organisation (given, made by :func:`autograder.lab.open_session` from
:data:`ORGANIZATION`): the central account ``123456789012`` (the sandbox's default
account, so its CloudWatch alarms are evaluated) manages it; the workload account
``111111111111`` owns the orders, the security account ``222222222222`` the findings.
The account ``999999999999`` is outside the organisation.

Names the lab asks for:

* security account: bus ``security-bus`` whose rule sends findings to the queue
  ``findings-inbox``; workload account: bus ``orders-bus`` -> queue ``orders-inbox``;
* central account: bus ``central-bus`` open to the organisation (``aws:PrincipalOrgID``),
  rules ``security-findings`` (source ``acme.security``) -> ``security-bus`` and
  ``order-events`` (source ``acme.orders``) -> ``orders-bus``, each target with a role and
  the dead-letter queue ``central-dlq``; archive ``central-archive``; alarms
  ``security-findings-failed`` and ``order-events-failed`` on ``AWS/Events``
  ``FailedInvocations``.

Each check sends its own events (ids ``probe-...``) from the account it is about and looks
where they arrived; the replay and alarm checks replay their own probe and make one
delivery fail (an injected, non-retried error on the security bus target).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from autograder.checks import CheckFailed, check, declared_checks
from autograder.labs.lab07 import _alarm
from autograder.probes import permission_problem, probe_id, trust_problem

CENTRAL, WORKLOAD, SECURITY, OUTSIDER = "123456789012", "111111111111", "222222222222", "999999999999"
ORGANIZATION = {"management": CENTRAL, "members": [WORKLOAD, SECURITY]}

CENTRAL_BUS, SECURITY_BUS, ORDERS_BUS = "central-bus", "security-bus", "orders-bus"
FINDINGS_INBOX, ORDERS_INBOX, DLQ = "findings-inbox", "orders-inbox", "central-dlq"
FINDINGS_RULE, ORDERS_RULE = "security-findings", "order-events"
ARCHIVE = "central-archive"
ALARMS = {FINDINGS_RULE: "security-findings-failed", ORDERS_RULE: "order-events-failed"}
FINDING = ("acme.security", "Security Finding")
ORDER = ("acme.orders", "Order Placed")
OWNERS = {FINDINGS_RULE: (SECURITY, SECURITY_BUS), ORDERS_RULE: (WORKLOAD, ORDERS_BUS)}
CHECKS_REPLAY = "checks-replay"   # the replay check's replays are named so
INJECTED = "INTERNAL_ERROR"        # the error the alarm check's failed forward gets
SETTLE = 5.0      # virtual seconds a probe is given to arrive


# -- sending and looking -------------------------------------------------------------------
def bus_arn(account: str, name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def client(sb: Any, account: str, service: str) -> Any:
    return sb.client(service) if account == sb.account_id else sb.account(account).client(service)


def send(sb: Any, account: str, bus: str, kind: tuple[str, str], probe: str) -> dict[str, Any]:
    """Put one probe event from ``account`` onto ``bus`` (an ARN); PutEvents' answer, or
    ``{"refused": code}`` when the call itself was refused."""
    entry = {"EventBusName": bus, "Source": kind[0], "DetailType": kind[1],
             "Detail": json.dumps({"probe": probe})}
    try:
        answer = client(sb, account, "events").put_events(Entries=[entry])
    except ClientError as exc:
        return {"refused": exc.response["Error"]["Code"]}
    return answer


def _entry_problem(answer: dict[str, Any]) -> str | None:
    if "refused" in answer:
        return f"PutEvents was refused ({answer['refused']})"
    if answer.get("FailedEntryCount"):
        entry = answer["Entries"][0]
        return f"PutEvents failed the entry ({entry.get('ErrorCode')}: {entry.get('ErrorMessage')})"
    return None


def probes_in(sb: Any, account: str, queue: str) -> list[str]:
    """The probe ids of the events in a queue of ``account`` (visible or in flight), read
    without receiving them."""
    from eventlab.sandbox import inspect

    try:
        client(sb, account, "sqs").get_queue_url(QueueName=queue)
    except ClientError:
        raise CheckFailed(f"account {account} has no queue '{queue}'") from None
    out = []
    for message in inspect.messages(sb, queue, account=account):
        try:
            event = json.loads(message.body)
            detail = event.get("detail") or {}
            out.append(str(detail.get("probe")))
        except (ValueError, AttributeError):
            continue
    return out


def _refusals(sb: Any, account: str) -> str:
    """The reasons resource policies of ``account`` gave for refusing deliveries."""
    from eventlab.sandbox import inspect

    reasons = {r.reason for r in inspect.refused_deliveries(sb) if f":{account}:" in r.target}
    return f" (refused: {'; '.join(sorted(reasons))})" if reasons else ""


def _arrives(sb: Any, sender: str, bus: str, kind: tuple[str, str], account: str, queue: str,
             where: str) -> str:
    probe = probe_id("probe")
    problem = _entry_problem(send(sb, sender, bus, kind, probe))
    if problem:
        raise CheckFailed(f"{where}: {problem}")
    sb.clock.advance(seconds=SETTLE)
    if probe not in probes_in(sb, account, queue):
        raise CheckFailed(f"{where}: the {kind[1]} did not reach {queue} in account "
                          f"{account}{_refusals(sb, account)}")
    return probe


# -- step 1: the owners' buses --------------------------------------------------------------
@check("security-bus", step="accounts", title="security-bus takes findings from the central account",
       points=2,
       passed="A finding put onto security-bus by the central account reached findings-inbox.",
       failed="A finding the central account put onto security-bus did not reach findings-inbox.",
       hint="In the security account: the bus, put_permission for the central account, a rule on "
            "source acme.security with findings-inbox as target, and the queue policy for that rule.")
def check_security_bus(sb: Any) -> None:
    _arrives(sb, CENTRAL, bus_arn(SECURITY, SECURITY_BUS), FINDING, SECURITY, FINDINGS_INBOX,
             "central account -> security-bus")


@check("orders-bus", step="accounts", title="orders-bus takes orders from the central account",
       points=2,
       passed="An order put onto orders-bus by the central account reached orders-inbox.",
       failed="An order the central account put onto orders-bus did not reach orders-inbox.",
       hint="In the workload account: the bus, put_permission for the central account, a rule on "
            "source acme.orders with orders-inbox as target, and the queue policy for that rule.")
def check_orders_bus(sb: Any) -> None:
    _arrives(sb, CENTRAL, bus_arn(WORKLOAD, ORDERS_BUS), ORDER, WORKLOAD, ORDERS_INBOX,
             "central account -> orders-bus")


# -- step 2: the central bus and its policy -----------------------------------------------------
@check("members-in", step="central", title="every account of the organisation can put events",
       points=2,
       passed="The workload and the security accounts put events onto central-bus.",
       failed="An account of the organisation could not put events onto central-bus.",
       hint="events.put_permission(EventBusName='central-bus', Action='events:PutEvents', "
            "Principal='*', StatementId=..., Condition={'Type': 'StringEquals', 'Key': "
            "'aws:PrincipalOrgID', 'Value': org_id}).")
def check_members_in(sb: Any) -> None:
    central = bus_arn(CENTRAL, CENTRAL_BUS)
    problems = []
    for account, name in ((WORKLOAD, "workload"), (SECURITY, "security")):
        problem = _entry_problem(send(sb, account, central, ORDER, probe_id("probe")))
        if problem:
            problems.append(f"from the {name} account ({account}) {problem}")
    if problems:
        raise CheckFailed("; ".join(problems))


@check("outsider-out", step="central", title="an account outside the organisation is refused",
       points=2,
       passed="Account 999999999999, outside the organisation, was refused (AccessDeniedException).",
       failed="An account outside the organisation put an event onto central-bus.",
       hint="Grant the organisation (aws:PrincipalOrgID) or a list of its accounts, never Principal "
            "'*' without a condition.")
def check_outsider_out(sb: Any) -> None:
    answer = send(sb, OUTSIDER, bus_arn(CENTRAL, CENTRAL_BUS), ORDER, probe_id("probe"))
    if answer.get("refused") == "AccessDeniedException":
        return
    if "refused" in answer:
        raise CheckFailed(f"the outsider's PutEvents failed with {answer['refused']}, not "
                          "AccessDeniedException: is there a central-bus?")
    raise CheckFailed(f"account {OUTSIDER}, outside the organisation, put an event onto "
                      f"{CENTRAL_BUS}: the bus policy lets everyone in")


# -- step 3: routing with roles ----------------------------------------------------------------
def _not_in(sb: Any, probe: str, account: str, queue: str, what: str) -> None:
    try:
        found = probes_in(sb, account, queue)
    except CheckFailed:      # no such queue: nothing reached it (its own check says it is missing)
        return
    if probe in found:
        raise CheckFailed(f"the {what} also reached {queue} in account {account}")


@check("findings-routed", step="routing", title="findings reach the security account", points=2,
       passed="A finding put onto central-bus reached findings-inbox in the security account, and "
              "not orders-inbox.",
       failed="A finding put onto central-bus did not reach the security account (or reached the "
              "workload account).",
       hint="Rule security-findings on central-bus, pattern {'source': ['acme.security']}, target "
            "the security-bus ARN with RoleArn and DeadLetterConfig.")
def check_findings_routed(sb: Any) -> None:
    probe = _arrives(sb, CENTRAL, bus_arn(CENTRAL, CENTRAL_BUS), FINDING, SECURITY, FINDINGS_INBOX,
                     "central-bus -> the security account")
    _not_in(sb, probe, WORKLOAD, ORDERS_INBOX, "finding")


@check("orders-routed", step="routing", title="orders reach their owner account", points=2,
       passed="An order put onto central-bus reached orders-inbox in the workload account, and not "
              "findings-inbox.",
       failed="An order put onto central-bus did not reach the workload account (or reached the "
              "security account).",
       hint="Rule order-events on central-bus, pattern {'source': ['acme.orders']}, target the "
            "orders-bus ARN with RoleArn and DeadLetterConfig.")
def check_orders_routed(sb: Any) -> None:
    probe = _arrives(sb, CENTRAL, bus_arn(CENTRAL, CENTRAL_BUS), ORDER, WORKLOAD, ORDERS_INBOX,
                     "central-bus -> the workload account")
    _not_in(sb, probe, SECURITY, FINDINGS_INBOX, "order")


def targets(sb: Any, rule: str) -> list[dict[str, Any]]:
    try:
        return sb.client("events").list_targets_by_rule(Rule=rule, EventBusName=CENTRAL_BUS)["Targets"]
    except ClientError:
        raise CheckFailed(f"there is no rule '{rule}' on {CENTRAL_BUS}") from None


def _bus_target(sb: Any, rule: str) -> dict[str, Any]:
    account, bus = OWNERS[rule]
    arn = bus_arn(account, bus, sb.region)
    found = [t for t in targets(sb, rule) if t.get("Arn") == arn]
    if not found:
        raise CheckFailed(f"rule {rule} has no target {arn}")
    return found[0]


@check("forwarding-role", step="routing", title="each bus target sends with a role", points=1,
       passed="Both rules send to the owner's bus with a role that EventBridge may assume and that "
              "allows events:PutEvents on that bus.",
       failed="A rule's bus target has no role, or a role that cannot put onto the owner's bus.",
       hint="RoleArn in the target: a role of the central account trusted by events.amazonaws.com "
            "with events:PutEvents on both owner buses.")
def check_forwarding_role(sb: Any) -> None:
    problems = []
    for rule in OWNERS:
        target = _bus_target(sb, rule)
        role = target.get("RoleArn")
        if not role:
            problems.append(f"the target of {rule} has no RoleArn")
            continue
        problem = (trust_problem(sb, role, "events.amazonaws.com")
                   or permission_problem(sb, role, "events:PutEvents", target["Arn"]))
        if problem:
            problems.append(f"{rule}: {problem}")
    if problems:
        raise CheckFailed("; ".join(problems))


# -- step 4: archive and replay -----------------------------------------------------------------
def _archive(sb: Any) -> dict[str, Any]:
    try:
        archive = sb.client("events").describe_archive(ArchiveName=ARCHIVE)
    except ClientError:
        raise CheckFailed(f"there is no archive '{ARCHIVE}'") from None
    if archive.get("EventSourceArn") != bus_arn(CENTRAL, CENTRAL_BUS, sb.region):
        raise CheckFailed(f"{ARCHIVE} archives {archive.get('EventSourceArn')}, not {CENTRAL_BUS}")
    return archive


@check("your-replay", step="archive", title="you replayed the archive", points=1,
       passed="A replay of central-archive completed.",
       failed="No replay of central-archive has completed.",
       hint="events.start_replay(ReplayName=..., EventSourceArn=archive_arn, EventStartTime=..., "
            "EventEndTime=..., Destination={'Arn': central_bus_arn, 'FilterArns': [rule_arn]}).")
def check_your_replay(sb: Any) -> None:
    arn = _archive(sb)["ArchiveArn"]
    replays = [r for r in sb.client("events").list_replays(EventSourceArn=arn)["Replays"]
               if not r.get("ReplayName", "").startswith(CHECKS_REPLAY)]   # the checks' own
    if not any(r.get("State") == "COMPLETED" for r in replays):
        raise CheckFailed(f"replays of {ARCHIVE}: {[r.get('State') for r in replays] or 'none'}")


@check("replay", step="archive", title="a replay re-delivers an archived finding", points=2,
       passed="The checks' finding, archived on central-bus, reached findings-inbox again when "
              "replayed.",
       failed="Replaying the archive did not deliver the checks' finding again.",
       hint="create_archive(ArchiveName='central-archive', EventSourceArn=central_bus_arn) with no "
            "pattern (or one that keeps findings), RetentionDays > 0.")
def check_replay(sb: Any) -> None:
    archive = _archive(sb)
    events = sb.client("events")
    begin = sb.clock.now() - timedelta(seconds=1)
    probe = _arrives(sb, CENTRAL, bus_arn(CENTRAL, CENTRAL_BUS), FINDING, SECURITY, FINDINGS_INBOX,
                     "central-bus -> the security account, before the replay")
    rule = events.describe_rule(Name=FINDINGS_RULE, EventBusName=CENTRAL_BUS)["Arn"]
    name = probe_id(CHECKS_REPLAY)[:64]
    events.start_replay(ReplayName=name, EventSourceArn=archive["ArchiveArn"], EventStartTime=begin,
                        EventEndTime=sb.clock.now() + timedelta(seconds=1),
                        Destination={"Arn": bus_arn(CENTRAL, CENTRAL_BUS, sb.region),
                                     "FilterArns": [rule]})
    sb.clock.advance(seconds=SETTLE)
    state = events.describe_replay(ReplayName=name).get("State")
    copies = probes_in(sb, SECURITY, FINDINGS_INBOX).count(probe)
    if copies < 2:
        raise CheckFailed(f"after the replay ({state}) the finding is in {FINDINGS_INBOX} {copies} "
                          f"time(s): the archive did not keep it")


# -- step 5: dead letters and alarms ------------------------------------------------------------
@check("alarms", step="alarms", title="an alarm on each rule's failed invocations", points=2,
       passed="security-findings-failed and order-events-failed watch AWS/Events FailedInvocations "
              "of their rule on central-bus and fire on one failure.",
       failed="A failed-invocation alarm is missing or watches the wrong metric, rule or threshold.",
       hint="put_metric_alarm(Namespace='AWS/Events', MetricName='FailedInvocations', Dimensions="
            "[{'Name': 'EventBusName', 'Value': 'central-bus'}, {'Name': 'RuleName', 'Value': rule}], "
            "Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=0, "
            "ComparisonOperator='GreaterThanThreshold').")
def check_alarms(sb: Any) -> None:
    wrong = []
    for rule, name in ALARMS.items():
        alarm = _alarm(sb, name)
        if (alarm.get("Namespace"), alarm.get("MetricName")) != ("AWS/Events", "FailedInvocations"):
            wrong.append(f"{name} watches {alarm.get('Namespace')} {alarm.get('MetricName')}")
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
        if dims != {"EventBusName": CENTRAL_BUS, "RuleName": rule}:
            wrong.append(f"{name}'s dimensions are {dims}; a rule of a custom bus publishes with "
                         f"EventBusName={CENTRAL_BUS} and RuleName={rule}")
        op, threshold = alarm.get("ComparisonOperator"), float(alarm.get("Threshold", -1))
        fires_on_one = ((op == "GreaterThanThreshold" and 0 <= threshold < 1)
                        or (op == "GreaterThanOrEqualToThreshold" and 0 < threshold <= 1))
        if alarm.get("Statistic") not in ("Sum", "Maximum") or not fires_on_one:
            wrong.append(f"{name} ({alarm.get('Statistic')} {op} {threshold:g}) does not fire on "
                         "one failed invocation")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def failure(sb: Any) -> dict[str, Any]:
    """One finding whose delivery to security-bus fails for good (an error injected once,
    marked not retriable): what reached central-dlq and the alarm's states since."""
    runs = sb.__dict__.setdefault("_lab08_failure", {})
    key = _setup_key(sb)
    if key in runs:
        return runs[key]
    runs.clear()
    cache: dict[str, Any] = {}
    runs[key] = cache
    target = bus_arn(SECURITY, SECURITY_BUS, sb.region)
    sb.clock.advance(seconds=60 - sb.clock.time() % 60)     # a minute of its own for the metric
    since = sb.clock.time()
    before = _state(sb, ALARMS[FINDINGS_RULE])
    sb.service("events-targets").inject_failure(
        target, code=INJECTED, message="a failure injected by the checks", times=1, retriable=False)
    probe = probe_id("probe")
    try:
        cache["problem"] = _entry_problem(send(sb, CENTRAL, bus_arn(CENTRAL, CENTRAL_BUS), FINDING, probe))
        sb.clock.advance(minutes=3)
    finally:
        sb.service("events-targets").clear_failure(target)
    cache["probe"] = probe
    cache["dead"] = _dead_letters(sb, probe)
    # an alarm already in ALARM (earlier refusals of the same rule) stays there: no change
    cache["states"] = [before] * (before == "ALARM") + _states(sb, ALARMS[FINDINGS_RULE], since)
    return cache


def _setup_key(sb: Any) -> str:
    """What the failure's outcome depends on: reused (both checks of the step read it) while
    none of it changes."""
    parts: list[Any] = []
    for call in (lambda: targets(sb, FINDINGS_RULE),
                 lambda: sb.client("cloudwatch").describe_alarms(AlarmNames=list(ALARMS.values()))["MetricAlarms"],
                 lambda: sb.client("sqs").get_queue_attributes(
                     QueueUrl=sb.client("sqs").get_queue_url(QueueName=DLQ)["QueueUrl"],
                     AttributeNames=["Policy"])["Attributes"]):
        try:
            value = call()
        except Exception as exc:
            value = repr(exc)
        if isinstance(value, list):
            value = [{k: v for k, v in a.items() if not k.startswith("State")} for a in value]
        parts.append(value)
    return json.dumps(parts, default=str, sort_keys=True)


def _dead_letters(sb: Any, probe: str) -> list[dict[str, str]]:
    """The DLQ attributes of each message in central-dlq carrying ``probe``."""
    sqs = sb.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    except ClientError:
        return []
    out = []
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    for m in messages:
        if probe in m.get("Body", ""):
            out.append({k: v.get("StringValue", "") for k, v in (m.get("MessageAttributes") or {}).items()})
    return out


def _state(sb: Any, name: str) -> str:
    found = sb.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(found[0].get("StateValue", "")) if found else ""


def _states(sb: Any, name: str, since: float) -> list[str]:
    try:
        items = sb.client("cloudwatch").describe_alarm_history(
            AlarmName=name, HistoryItemType="StateUpdate",
            StartDate=datetime.fromtimestamp(since, UTC))["AlarmHistoryItems"]
    except ClientError:
        return []
    return [json.loads(i.get("HistoryData") or "{}").get("newState", {}).get("stateValue", "")
            for i in items]


@check("dead-letters", step="alarms", title="a failed delivery lands in central-dlq", points=2,
       passed="A finding whose delivery to security-bus failed reached central-dlq with its "
              "ERROR_CODE.",
       failed="A finding whose delivery failed did not reach central-dlq.",
       hint="DeadLetterConfig={'Arn': dlq_arn} on each bus target, and a queue policy on central-dlq "
            "letting events.amazonaws.com send for both rules.")
def check_dead_letters(sb: Any) -> None:
    out = failure(sb)
    if out["problem"]:
        raise CheckFailed(out["problem"])
    if not out["dead"]:
        raise CheckFailed(f"the finding whose delivery failed is not in {DLQ}: the target has no "
                          f"DeadLetterConfig, or {DLQ}'s queue policy does not let "
                          "events.amazonaws.com send for the rule")
    if out["dead"][0].get("ERROR_CODE") != INJECTED:
        raise CheckFailed(f"the dead letter says {out['dead'][0]}, not ERROR_CODE {INJECTED}")


@check("alarm-fired", step="alarms", title="the failed delivery raised the alarm", points=2,
       passed="security-findings-failed went to ALARM after the failed delivery.",
       failed="security-findings-failed did not go to ALARM when a finding could not be delivered.",
       hint="FailedInvocations, Sum over 60 s, > 0, with both dimensions (EventBusName and RuleName).")
def check_alarm_fired(sb: Any) -> None:
    _alarm(sb, ALARMS[FINDINGS_RULE])
    out = failure(sb)
    if "ALARM" not in out["states"]:
        raise CheckFailed(f"its state changes since the failure: {out['states'] or 'none'}")


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
