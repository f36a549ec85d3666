"""HTTP APIs (API Gateway v2): Lambda proxy payload format 2.0 and its response rules."""

from __future__ import annotations

import json

import requests

from tests.sandbox.helpers import make_function

ECHO = '''
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"x-echo": "yes"}, "cookies": ["a=1", "b=2"],
            "body": json.dumps(event)}
'''


def http_api(sandbox, source=ECHO, route_key="ANY /items/{id}", stage="$default", version="2.0"):
    arn = make_function(sandbox, "fn", source)
    v2 = sandbox.client("apigatewayv2")
    api_id = v2.create_api(Name="http", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                        PayloadFormatVersion=version)["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True, StageVariables={"env": "lab"})
    return api_id


def test_payload_2_0_field_by_field(sandbox):
    api_id = http_api(sandbox)
    status, headers, body = sandbox.service("apigateway").invoke(
        api_id, "$default", "POST", "/items/9", query="tag=a&tag=b&x=1",
        headers={"Content-Type": "application/json", "Cookie": "s=1; t=2", "X-Multi": "v"},
        body='{"n": 1}', source_ip="198.51.100.4")
    assert status == 200 and headers["x-echo"] == "yes" and headers["Set-Cookie"] == ["a=1", "b=2"]
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /items/{id}"
    assert event["rawPath"] == "/items/9"
    assert event["rawQueryString"] == "tag=a&tag=b&x=1"
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["headers"] == {"content-type": "application/json", "x-multi": "v"}
    assert event["queryStringParameters"] == {"tag": "a,b", "x": "1"}
    assert event["pathParameters"] == {"id": "9"}
    assert event["stageVariables"] == {"env": "lab"}
    assert event["body"] == '{"n": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {"method": "POST", "path": "/items/9", "protocol": "HTTP/1.1",
                               "sourceIp": "198.51.100.4", "userAgent": ""}
    assert context["routeKey"] == "ANY /items/{id}" and context["stage"] == "$default"
    assert context["apiId"] == api_id and context["accountId"] == sandbox.account_id
    assert len(context["requestId"]) == 36 and context["timeEpoch"] > 0


def test_named_stage_over_http_and_no_route(sandbox):
    api_id = http_api(sandbox, route_key="GET /items/{id}", stage="v1")
    base = f"{sandbox.endpoint_url}/restapis/{api_id}/v1/_user_request_"
    answer = requests.get(base + "/items/3?q=1", timeout=10)
    assert answer.status_code == 200
    event = answer.json()
    assert event["rawPath"] == "/v1/items/3" and event["requestContext"]["http"]["path"] == "/v1/items/3"
    assert event["headers"]["user-agent"].startswith("python-requests")
    assert "cookies" not in event
    missing = requests.post(base + "/items/3", timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    other = requests.get(f"{sandbox.endpoint_url}/_aws/execute-api/{api_id}/v1/items/4", timeout=10)
    assert other.json()["pathParameters"] == {"id": "4"}


def test_bare_results_become_200_json(sandbox):
    api_id = http_api(sandbox, source="def handler(e, c):\n    return 'hello'\n", route_key="$default")
    status, headers, body = sandbox.service("apigateway").invoke(api_id, "$default", "GET", "/anything")
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", "hello")


def test_bare_object_without_status_code(sandbox):
    api_id = http_api(sandbox, source="def handler(e, c):\n    return {'ok': True}\n", route_key="$default")
    status, _, body = sandbox.service("apigateway").invoke(api_id, "$default", "GET", "/")
    assert (status, json.loads(body)) == (200, {"ok": True})


def test_function_error_is_500(sandbox):
    api_id = http_api(sandbox, source="def handler(e, c):\n    raise RuntimeError('no')\n", route_key="$default")
    status, _, body = sandbox.service("apigateway").invoke(api_id, "$default", "GET", "/")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_payload_1_0_on_an_http_api(sandbox):
    api_id = http_api(sandbox, source=(
        "import json\ndef handler(e, c):\n    return {'statusCode': 202, 'body': json.dumps(e)}\n"),
        version="1.0")
    status, _, body = sandbox.service("apigateway").invoke(api_id, "$default", "GET", "/items/5",
                                                           query={"a": ["1", "2"]})
    event = json.loads(body)
    assert status == 202 and event["version"] == "1.0" and event["httpMethod"] == "GET"
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"id": "5"}


def test_quick_create_makes_route_integration_and_stage_and_a_local_endpoint(sandbox):
    arn = make_function(sandbox, "api-handler", ECHO)
    v2 = sandbox.client("apigatewayv2")
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target=arn)
    api_id = api["ApiId"]
    assert api["ApiEndpoint"] == f"{sandbox.endpoint_url}/_aws/execute-api/{api_id}"
    assert v2.get_api(ApiId=api_id)["ApiEndpoint"] == api["ApiEndpoint"]
    [integration] = v2.get_integrations(ApiId=api_id)["Items"]
    assert (integration["IntegrationType"], integration["IntegrationUri"],
            integration["PayloadFormatVersion"]) == ("AWS_PROXY", arn, "2.0")
    [route] = v2.get_routes(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "$default"
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    [stage] = v2.get_stages(ApiId=api_id)["Items"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True

    answer = requests.post(f"{api['ApiEndpoint']}/orders/7?x=1", data='{"n": 1}', timeout=30)
    assert answer.status_code == 200 and answer.headers["x-echo"] == "yes"
    event = json.loads(answer.content)
    assert (event["routeKey"], event["rawPath"], event["rawQueryString"]) == ("$default", "/orders/7", "x=1")
    assert event["requestContext"]["stage"] == "$default"
    root = requests.get(api["ApiEndpoint"] + "/", timeout=30)
    assert root.status_code == 200 and json.loads(root.content)["rawPath"] == "/"


def test_quick_create_with_a_route_key_and_a_named_stage_beside_default(sandbox):
    arn = make_function(sandbox, "api-handler", ECHO)
    v2 = sandbox.client("apigatewayv2")
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target=arn, RouteKey="GET /hello")
    [route] = v2.get_routes(ApiId=api["ApiId"])["Items"]
    assert route["RouteKey"] == "GET /hello"
    assert requests.get(f"{api['ApiEndpoint']}/hello", timeout=30).status_code == 200
    assert requests.get(f"{api['ApiEndpoint']}/other", timeout=30).status_code == 404
    v2.create_stage(ApiId=api["ApiId"], StageName="prod")
    answer = requests.get(f"{api['ApiEndpoint']}/prod/hello", timeout=30)
    assert answer.status_code == 200 and json.loads(answer.content)["requestContext"]["stage"] == "prod"
