"""SNS -> Lambda in the sandbox: the event AWS documents, delivered asynchronously.

moto's lambda branch of ``Subscription.publish`` invokes the function synchronously
with a canned event (``TopicArn`` ``arn:aws:sns:EXAMPLE``, a fixed ``MessageId``, fake
message attributes, ``Subject`` "TestInvoke").  Here the lambda protocol builds the
record that https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html shows:

* ``EventSubscriptionArn`` is the subscription's ARN, ``Sns.TopicArn`` the topic's,
  ``Sns.MessageId`` the id ``Publish`` returned, ``Sns.Subject`` is ``null`` when the
  publisher gave none, ``Sns.Timestamp`` is the virtual clock's, and
  ``Sns.MessageAttributes`` are the published ones as ``{name: {Type, Value}}``
  (binary values base64-encoded);
* ``Signature``/``SigningCertUrl`` come from moto's own signer (the same ones an HTTP
  or SQS subscriber sees), ``UnsubscribeUrl`` names this subscription;
* the subscription's filter policy (``MessageAttributes`` or ``MessageBody`` scope) is
  applied first, and ``MessageStructure='json'`` picks the ``lambda`` key (or
  ``default``), exactly as moto does for the other protocols;
* SNS invokes Lambda asynchronously, so the record goes through
  :meth:`LambdaService.invoke_async` and gets Lambda's retries, event age, destinations
  and dead-letter queue.

SQS, HTTP(S) and the other protocols keep moto's behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox


class SNSLambdaService:
    name = "sns-lambda"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.deliveries: list[dict[str, Any]] = []

    def install(self, patches: PatchSet) -> None:
        # moto.sns.models loads cryptography's signer (~20 ms of every start-up): the
        # patches wait for its first import (hooks run in install order)
        patches.after_import("moto.sns.models", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.sns.models import Subscription

        service = self

        def make_publish(original: Any) -> Any:
            def publish(subscription: Any, message: str, message_id: str, subject: str | None = None,
                        message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                        deduplication_id: str | None = None, message_structure: str | None = None) -> None:
                if subscription.protocol != "lambda":
                    return original(subscription, message, message_id, subject=subject,
                                    message_attributes=message_attributes, group_id=group_id,
                                    deduplication_id=deduplication_id,
                                    message_structure=message_structure)
                service.deliver(subscription, message, message_id, subject, message_attributes,
                                message_structure)
                return None
            return publish

        patches.wrap(Subscription, "publish", make_publish,
                     "SNS -> Lambda gets the documented event (real ARNs, id, attributes) and is async")

    def deliver(self, subscription: Any, message: str, message_id: str, subject: str | None,
                message_attributes: dict[str, Any] | None, message_structure: str | None) -> None:
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = subscription._parse_message_structure(message, "lambda")
        event = {"Records": [self.record(subscription, message, message_id, subject, message_attributes)]}
        self.deliveries.append(event)
        self.sandbox.service("lambda").invoke_async(subscription.endpoint, event)

    def record(self, subscription: Any, message: str, message_id: str, subject: str | None,
               message_attributes: dict[str, Any] | None) -> dict[str, Any]:
        signed = subscription.get_post_data(message, message_id, subject)
        attributes = {name: {"Type": value.get("Type"), "Value": value.get("Value")}
                      for name, value in (message_attributes or {}).items()}
        return {
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription.arn,
            "EventSource": "aws:sns",
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": subscription.topic.arn,
                "Subject": subject or None,
                "Message": message,
                "Timestamp": signed["Timestamp"],
                "SignatureVersion": signed["SignatureVersion"],
                "Signature": signed["Signature"],
                "SigningCertUrl": signed["SigningCertURL"],
                "UnsubscribeUrl": signed["UnsubscribeURL"],
                "MessageAttributes": attributes,
            },
        }
