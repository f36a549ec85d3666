"""S3 calls made with a role's credentials, decided by its identity policies (``iam="enforce"``).

moto's S3 answers from its own URL handlers (``S3Response.bucket_response``,
``key_response``, ``ambiguous_response``), never through ``BaseResponse.call_action``, where
:class:`eventlab.sandbox.iam.identity.IdentityService` checks the other services.  But every
S3 action first calls ``_authenticate_and_authorize_s3_action(bucket_name, key_name)`` with
``data["Action"]`` set to its IAM name (moto's own IAM check, idle unless moto's auth is
switched on): the check sits there.  The resource is ``arn:aws:s3:::BUCKET`` or
``arn:aws:s3:::BUCKET/KEY`` (``s3:ListAllMyBuckets``: any); refused, S3's XML
``<Error><Code>AccessDenied</Code>`` with HTTP 403 (a ``HEAD``: 403 without a body, which
SDKs report as the code ``403``, message ``Forbidden``).
"""

from __future__ import annotations

from typing import Any

from eventlab.sandbox.iam.accounts import caller_of

# moto's S3 action names (its ACTION_MAP) whose IAM action is another
S3_ACTIONS = {"HeadBucket": "ListBucket", "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket",
              "DeleteObjects": "DeleteObject"}


def s3_resource(bucket_name: str | None, key_name: str | None) -> str | None:
    if not bucket_name:
        return None
    return f"arn:aws:s3:::{bucket_name}/{key_name}" if key_name else f"arn:aws:s3:::{bucket_name}"


def install_s3_check(patches: Any, service: Any) -> None:
    """``service`` (the identity service) decides each S3 call of an assumed-role session."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    class AccessDenied(S3ClientError):   # S3's XML <Error><Code>AccessDenied</Code>, HTTP 403
        code = "AccessDenied"

    def make(original: Any) -> Any:
        def authorize(response: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
            caller = caller_of(response)
            if caller.principal.startswith("arn:aws:sts::"):
                name = str(response.data.get("Action") or "")
                why = service.decide(caller, "s3:" + S3_ACTIONS.get(name, name), s3_resource(bucket_name, key_name))
                if why is not None:
                    raise AccessDenied("AccessDenied", why)
            original(response, bucket_name=bucket_name, key_name=key_name)
        return authorize

    patches.wrap(S3Response, "_authenticate_and_authorize_s3_action", make,
                 "iam=enforce: S3 calls with a role's credentials need its identity policies to allow them")

    def make_serialized(original: Any) -> Any:
        def serialized(response: Any, result: Any) -> Any:
            status, headers, body = original(response, result)
            if response.method == "HEAD" and isinstance(getattr(result, "result", None), AccessDenied):
                return status, headers, b""      # AWS answers a refused HEAD with a bare 403
            return status, headers, body
        return serialized

    patches.wrap(S3Response, "serialized", make_serialized,
                 "iam=enforce: a refused S3 HEAD request is a 403 without a body, as on AWS")
