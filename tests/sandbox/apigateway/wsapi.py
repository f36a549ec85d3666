"""Helpers for the WebSocket API tests: build an API with boto3 as a learner would, and
handlers written as AWS's examples write them."""

from __future__ import annotations

from typing import Any

# Answers on the @connections API, with the endpoint built from the event as AWS's
# examples build it: https://{domainName}/{stage}.
ECHO = '''
import json, boto3
def handler(event, context):
    ctx = event["requestContext"]
    api = boto3.client("apigatewaymanagementapi",
                       endpoint_url="https://" + ctx["domainName"] + "/" + ctx["stage"])
    text = json.loads(event["body"])["text"]
    api.post_to_connection(ConnectionId=ctx["connectionId"],
                           Data=json.dumps({"echo": text, "route": ctx["routeKey"]}).encode())
    return {"statusCode": 200}
'''

# A two-way route's reply: the proxy response's body goes back to the client.
REPLY = '''
def handler(event, context):
    return {"statusCode": 200, "body": "default got " + event["body"]}
'''

REFUSE = '''
def handler(event, context):
    return {"statusCode": 403, "body": "no"}
'''

# A REQUEST authorizer: token "allow" is let in (with a context), anything else denied.
AUTHORIZER = '''
def handler(event, context):
    token = event["queryStringParameters"]["token"]
    effect = "Allow" if token == "allow" else "Deny"
    return {"principalId": "ana", "context": {"tier": "gold", "seats": 3},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
'''


def lambda_uri(region: str, arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def websocket_api(v2: Any, region: str, routes: dict[str, str], *, two_way: tuple[str, ...] = (),
                  authorizer: str | None = None, stage: str = "prod") -> tuple[str, str]:
    """A WebSocket API with a Lambda proxy integration per route key; (api id, ApiEndpoint)."""
    api = v2.create_api(Name="chat", ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")
    api_id = api["ApiId"]
    auth: dict[str, Any] = {}
    if authorizer is not None:
        auth_id = v2.create_authorizer(ApiId=api_id, Name="tokens", AuthorizerType="REQUEST",
                                       AuthorizerUri=lambda_uri(region, authorizer),
                                       IdentitySource=["route.request.querystring.token"])["AuthorizerId"]
        auth = {"AuthorizationType": "CUSTOM", "AuthorizerId": auth_id}
    for key, arn in routes.items():
        integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                            IntegrationUri=lambda_uri(region, arn))["IntegrationId"]
        extra: dict[str, Any] = dict(auth) if key == "$connect" else {}
        if key in two_way:
            extra["RouteResponseSelectionExpression"] = "$default"
        route_id = v2.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}",
                                   **extra)["RouteId"]
        if key in two_way:
            v2.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="$default")
    v2.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True)
    return api_id, api["ApiEndpoint"]
