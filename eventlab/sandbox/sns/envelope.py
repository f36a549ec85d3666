"""What an SNS notification names, as AWS names it.

* The envelope SNS puts in an SQS (or HTTP, Lambda) message: moto's ``UnsubscribeURL``
  names a constant subscription id (``...:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55``) and its
  ``SigningCertURL`` points at ``sns.REGION.amazonaws.com``.  Here both point at the
  sandbox: ``{endpoint}/?Action=Unsubscribe&SubscriptionArn={the subscription's ARN}``
  (a GET unsubscribes, as on AWS) and ``{endpoint}/SimpleNotificationService-....pem``
  (the certificate that verifies ``Signature``).  The sandbox's HTTP server sends both to
  SNS (:func:`sns_link_host`).
* ``Publish`` to a topic that does not exist: moto falls through to mobile endpoints and
  says ``Endpoint does not exist``; AWS says ``NotFound: Topic does not exist``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

_PEM = re.compile(r"^/SimpleNotificationService-[^/]+\.pem$")


class SNSEnvelopeService:
    name = "sns-envelope"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, patches: PatchSet) -> None:
        # moto.sns.models loads cryptography's signer (~20 ms of every start-up): the
        # patches wait for its first import (hooks run in install order)
        patches.after_import("moto.sns.models", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.sns.exceptions import TopicNotFound
        from moto.sns.models import SNSBackend, Subscription

        sandbox = self.sandbox

        def make_post_data(original: Any) -> Any:
            def get_post_data(subscription: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
                data = original(subscription, *args, **kwargs)
                endpoint = sandbox.endpoint_url
                data["SigningCertURL"] = f"{endpoint}/{data['SigningCertURL'].rsplit('/', 1)[-1]}"
                data["UnsubscribeURL"] = (f"{endpoint}/?Action=Unsubscribe&SubscriptionArn="
                                          f"{quote(subscription.arn, safe=':')}")
                return data
            return get_post_data

        patches.wrap(Subscription, "get_post_data", make_post_data,
                     "UnsubscribeURL names the subscription and SigningCertURL the sandbox, not AWS")

        def make_publish(original: Any) -> Any:
            def publish(backend: Any, message: str, arn: str | None = None, *args: Any, **kwargs: Any) -> str:
                if arn and ":endpoint/" not in arn and arn not in backend.topics:
                    raise TopicNotFound()
                return original(backend, message, arn, *args, **kwargs)
            return publish

        patches.wrap(SNSBackend, "publish", make_publish,
                     "Publish to a missing topic is NotFound: Topic does not exist, as on AWS")


def sns_link_host(environ: dict[str, Any], region: str) -> str | None:
    """The SNS host for a request to a link that an envelope gave out (the certificate,
    an unsubscribe GET), which carries no signature naming the service; else None."""
    path = environ.get("PATH_INFO", "")
    if _PEM.match(path):
        return f"sns.{region}.amazonaws.com"
    if path in ("", "/") and environ.get("REQUEST_METHOD") == "GET" and not environ.get("HTTP_AUTHORIZATION"):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        arn = (query.get("SubscriptionArn") or [""])[0]
        if query.get("Action") == ["Unsubscribe"] and arn.startswith("arn:aws:sns:"):
            return f"sns.{arn.split(':')[3]}.amazonaws.com"
    return None
