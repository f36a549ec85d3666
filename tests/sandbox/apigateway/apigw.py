"""Helpers for the API Gateway tests: build REST APIs with boto3 as a learner would."""

from __future__ import annotations

import json
from typing import Any

from eventlab.sandbox import Sandbox

SQS_TEMPLATE = "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"

# A proxy handler that returns the event it received, so a test can read it field by field.
ECHO = '''
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"X-Echo": "yes"}, "body": json.dumps(event)}
'''


def rest_api(sb: Sandbox, name: str = "shop") -> tuple[Any, str, str]:
    """(apigateway client, api id, root resource id)."""
    apigw = sb.client("apigateway")
    api_id = apigw.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    return apigw, api_id, root


def resource(apigw: Any, api_id: str, parent: str, *parts: str) -> str:
    for part in parts:
        parent = apigw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
    return parent


def method(apigw: Any, api_id: str, resource_id: str, http_method: str, *, api_key: bool = False,
           **integration: Any) -> None:
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
                     authorizationType="NONE", apiKeyRequired=api_key)
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=http_method, **integration)


def integration_response(apigw: Any, api_id: str, resource_id: str, http_method: str, status: str,
                         **kwargs: Any) -> None:
    apigw.put_method_response(restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
                              statusCode=status)
    apigw.put_integration_response(restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
                                   statusCode=status, **kwargs)


def deploy(apigw: Any, api_id: str, stage: str = "prod", variables: dict[str, str] | None = None) -> None:
    apigw.create_deployment(restApiId=api_id, stageName=stage, variables=variables or {})


def lambda_uri(sb: Sandbox, function_arn: str) -> str:
    return f"arn:aws:apigateway:{sb.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def body_json(body: bytes) -> Any:
    return json.loads(body)
