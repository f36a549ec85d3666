"""S3 event notifications and the policies of their destinations.

AWS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html):
a queue, topic or function receives a bucket's notifications only if its resource policy
lets ``s3.amazonaws.com`` send them (``aws:SourceArn`` = the bucket, ``aws:SourceAccount``
= the bucket owner), and ``PutBucketNotificationConfiguration`` checks that first: a
destination that is missing or does not allow it fails the call with ``InvalidArgument``,
"Unable to validate the following destination configurations", and the bucket keeps its
previous configuration.  Notifications sent later (the policy changed since) are dropped
and kept in ``sb.service("policies").refused``.

Same modes as the other deliveries (:mod:`eventlab.sandbox.iam.enforce`): in ``"enforce"``
a destination of the bucket's own account with no policy at all still receives; ``"off"``
checks nothing (moto's behaviour).
"""

from __future__ import annotations

from typing import Any

from eventlab.sandbox.iam.enforce import DeliveryRefused, check_target, mode_of

_WHAT = {"sqs": "queue", "sns": "topic", "lambda": "function"}


def _bucket_name(event_body: Any) -> str | None:
    try:
        return str(event_body["Records"][0]["s3"]["bucket"]["name"])
    except (KeyError, IndexError, TypeError):
        return event_body.get("Bucket") if isinstance(event_body, dict) else None


def _exists(sandbox: Any, kind: str, arn: str) -> bool:
    try:
        if kind == "sqs":
            return arn.rsplit(":", 1)[-1] in sandbox.backend_for("sqs", arn).queues
        if kind == "sns":
            return arn in sandbox.backend_for("sns", arn).topics
        sandbox.service("lambda").function(arn)
        return True
    except Exception:   # no such account, region or function
        return False


class S3DestinationsService:
    name = "s3-destinations"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def install(self, patches: Any) -> None:
        install_s3(self.sandbox, patches)


def install_s3(sandbox: Any, patches: Any) -> None:
    """Patch moto's S3 notifications (once moto's S3 is imported)."""

    def install() -> None:
        import moto.s3.notifications as notifications
        from moto.s3.exceptions import S3ClientError
        from moto.s3.models import FakeBucket, NotificationConfiguration

        def make_set(original: Any) -> Any:
            def set_notification_configuration(bucket: Any, config: dict[str, Any] | None) -> None:
                if config and mode_of(sandbox) != "off":
                    parsed = NotificationConfiguration(
                        topic=config.get("TopicConfiguration"), queue=config.get("QueueConfiguration"),
                        cloud_function=config.get("CloudFunctionConfiguration"))
                    for kind, items in (("sqs", parsed.queue), ("sns", parsed.topic),
                                        ("lambda", parsed.cloud_function)):
                        for item in items:
                            why = _refusal(kind, item.arn, bucket.name, bucket.account_id)
                            if why is not None:
                                raise S3ClientError("InvalidArgument", "Unable to validate the following "
                                                    f"destination configurations: {item.arn}: {why}")
                return original(bucket, config)
            return set_notification_configuration

        patches.wrap(FakeBucket, "set_notification_configuration", make_set,
                     "PutBucketNotificationConfiguration checks that each destination lets S3 send to it")
        for name, kind in (("_send_sqs_message", "sqs"), ("_send_sns_message", "sns"),
                           ("_invoke_awslambda", "lambda")):
            patches.wrap(notifications, name, _make_send(kind),
                         f"an S3 notification reaches a {_WHAT[kind]} only if its policy lets S3 send it")

    def _refusal(kind: str, arn: str, bucket: str, owner: str) -> str | None:
        if not _exists(sandbox, kind, arn):
            return f"the {_WHAT[kind]} does not exist"
        try:
            check_target(sandbox, "s3", arn, f"arn:aws:s3:::{bucket}", owner)
        except DeliveryRefused as exc:
            return (f"Permissions on the destination {_WHAT[kind]} do not allow S3 to publish "
                    f"notifications from this bucket ({exc})")
        return None

    def _make_send(kind: str) -> Any:
        def wrap(original: Any) -> Any:
            def send(account_id: str, event_body: Any, target: str, region_name: str) -> None:
                arn = f"arn:aws:sqs:{region_name}:{account_id}:{target}" if kind == "sqs" else target
                bucket = _bucket_name(event_body)
                if bucket is not None and _exists(sandbox, kind, arn):
                    try:
                        check_target(sandbox, "s3", arn, f"arn:aws:s3:::{bucket}", account_id)
                    except DeliveryRefused as exc:
                        sandbox.service("policies").refused.append({"source": f"arn:aws:s3:::{bucket}", "target": arn,
                                                 "reason": str(exc), "time": sandbox.clock.time()})
                        return
                original(account_id, event_body, target, region_name)
            return send
        return wrap

    patches.after_import("moto.s3.models", install)
