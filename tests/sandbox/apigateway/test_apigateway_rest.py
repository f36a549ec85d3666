"""REST APIs that really integrate: SQS through mapping templates, Lambda proxy, MOCK, routing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import requests

from tests.sandbox.apigateway.apigw import (
    ECHO,
    SQS_TEMPLATE,
    deploy,
    integration_response,
    lambda_uri,
    method,
    resource,
    rest_api,
)
from tests.sandbox.helpers import drain, make_function, make_queue

FORM = {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}


def sqs_api(sandbox, uri_kind="path", template=SQS_TEMPLATE, response_template=None):
    url, _ = make_queue(sandbox, "orders")
    apigw, api_id, root = rest_api(sandbox)
    orders = resource(apigw, api_id, root, "orders")
    if uri_kind == "path":
        uri = f"arn:aws:apigateway:{sandbox.region}:sqs:path/{sandbox.account_id}/orders"
        params = dict(FORM)
    else:
        uri = f"arn:aws:apigateway:{sandbox.region}:sqs:action/SendMessage"
        params = {**FORM, "integration.request.querystring.QueueUrl": f"'{url}'"}
    method(apigw, api_id, orders, "POST", type="AWS", integrationHttpMethod="POST", uri=uri,
           requestParameters=params, requestTemplates={"application/json": template})
    templates = {"application/json": response_template} if response_template else {}
    integration_response(apigw, api_id, orders, "POST", "200", selectionPattern="",
                         responseTemplates=templates)
    integration_response(apigw, api_id, orders, "POST", "400", selectionPattern="4\\d{2}",
                         responseTemplates={"application/json": '{"error": $input.json(\'$.Error.Code\')}'})
    deploy(apigw, api_id)
    return api_id, url


def test_post_orders_to_sqs_through_a_mapping_template(sandbox):
    api_id, url = sqs_api(sandbox, response_template=(
        '{"messageId": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'))
    status, headers, body = sandbox.service("apigateway").invoke(
        api_id, "prod", "POST", "/orders", headers={"Content-Type": "application/json"},
        body={"order": 42, "note": "a&b=c"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    [message] = drain(sandbox, url, attributes=True)
    assert json.loads(body) == {"messageId": message["MessageId"]}
    assert json.loads(message["Body"]) == {"order": 42, "note": "a&b=c"}


def test_sqs_action_uri_with_queue_url_attributes_and_context(sandbox):
    attribute = ("&MessageAttribute.{n}.Name={name}&MessageAttribute.{n}.Value.DataType=String"
                 "&MessageAttribute.{n}.Value.StringValue={value}")
    template = ("#set($order = $input.path('$'))Action=SendMessage"
                "&MessageBody=$util.urlEncode($input.json('$.items'))"
                + attribute.format(n=1, name="requestId", value="$context.requestId")
                + attribute.format(n=2, name="sourceIp", value="$context.identity.sourceIp")
                + attribute.format(n=3, name="q", value="$util.urlEncode($input.params('q'))")
                + "#if($order.id > 10)" + attribute.format(n=4, name="big", value="yes") + "#end")
    api_id, url = sqs_api(sandbox, uri_kind="action", template=template)
    status, _, body = sandbox.service("apigateway").invoke(
        api_id, "prod", "POST", "/orders", query={"q": "a b&c"}, body={"id": 11, "items": [1, 2]},
        source_ip="10.1.2.3")
    assert status == 200
    [message] = drain(sandbox, url, attributes=True)
    assert json.loads(message["Body"]) == [1, 2]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["sourceIp"] == "10.1.2.3" and attributes["q"] == "a b&c" and attributes["big"] == "yes"
    assert len(attributes["requestId"]) == 36
    result = json.loads(body)["SendMessageResponse"]["SendMessageResult"]
    assert result["MessageId"] == message["MessageId"]
    assert result["MD5OfMessageBody"] == message["MD5OfBody"]


def test_sqs_error_goes_through_the_selection_pattern(sandbox):
    api_id, url = sqs_api(sandbox)
    sandbox.client("sqs").delete_queue(QueueUrl=url)
    status, _, body = sandbox.service("apigateway").invoke(api_id, "prod", "POST", "/orders", body="{}")
    assert status == 400
    assert json.loads(body) == {"error": "AWS.SimpleQueueService.NonExistentQueue"}


def test_over_http_with_urllib_and_requests(sandbox):
    api_id, url = sqs_api(sandbox)
    invoke = f"{sandbox.endpoint_url}/restapis/{api_id}/prod/_user_request_/orders"
    request = urllib.request.Request(invoke, data=b'{"via": "urllib"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert "SendMessageResponse" in json.loads(response.read())
    answer = requests.post(invoke + "?debug=1&debug=2", json={"via": "requests"}, timeout=10)
    assert answer.status_code == 200
    assert [m["via"] for m in drain(sandbox, url)] == ["urllib", "requests"]
    missing = requests.get(f"{sandbox.endpoint_url}/restapis/{api_id}/prod/_user_request_/nope", timeout=10)
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    # moto's own control plane under /restapis/ still answers
    assert sandbox.client("apigateway").get_rest_api(restApiId=api_id)["name"] == "shop"


def test_malformed_template_is_a_500_and_the_next_request_works(sandbox):
    api_id, url = sqs_api(sandbox, template="#if($input.body")
    apigw = sandbox.client("apigateway")
    service = sandbox.service("apigateway")
    status, _, body = service.invoke(api_id, "prod", "POST", "/orders", body="{}")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    assert "does not parse" in service.errors[-1]
    orders = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/orders")
    apigw.put_integration(restApiId=api_id, resourceId=orders, httpMethod="POST", type="AWS",
                          integrationHttpMethod="POST", requestParameters=FORM,
                          uri=f"arn:aws:apigateway:{sandbox.region}:sqs:path/{sandbox.account_id}/orders",
                          requestTemplates={"application/json": SQS_TEMPLATE})
    apigw.put_integration_response(restApiId=api_id, resourceId=orders, httpMethod="POST",
                                   statusCode="200", selectionPattern="")
    status, _, _ = service.invoke(api_id, "prod", "POST", "/orders", body='{"ok": 1}')
    assert status == 200
    assert drain(sandbox, url) == [{"ok": 1}]


def proxy_api(sandbox, *path_parts, stage_variables=None):
    arn = make_function(sandbox, "echo", ECHO)
    apigw, api_id, root = rest_api(sandbox)
    leaf = resource(apigw, api_id, root, *path_parts)
    method(apigw, api_id, leaf, "ANY", type="AWS_PROXY", integrationHttpMethod="POST",
           uri=lambda_uri(sandbox, arn))
    deploy(apigw, api_id, variables=stage_variables)
    return apigw, api_id, root, leaf


def test_aws_proxy_event_field_by_field(sandbox):
    apigw, api_id, _, leaf = proxy_api(sandbox, "orders", "{id}", stage_variables={"env": "test"})
    status, headers, body = sandbox.service("apigateway").invoke(
        api_id, "prod", "PUT", "/orders/17", headers={"Content-Type": "application/json", "X-Trace": "t1"},
        query="color=red&size=S&size=M", body='{"qty": 2}', source_ip="192.0.2.7")
    assert status == 200 and headers["X-Echo"] == "yes"
    event = json.loads(body)
    assert event["resource"] == "/orders/{id}"
    assert event["path"] == "/orders/17"
    assert event["httpMethod"] == "PUT"
    assert event["headers"] == {"Content-Type": "application/json", "X-Trace": "t1"}
    assert event["multiValueHeaders"] == {"Content-Type": ["application/json"], "X-Trace": ["t1"]}
    assert event["queryStringParameters"] == {"color": "red", "size": "M"}
    assert event["multiValueQueryStringParameters"] == {"color": ["red"], "size": ["S", "M"]}
    assert event["pathParameters"] == {"id": "17"}
    assert event["stageVariables"] == {"env": "test"}
    assert event["body"] == '{"qty": 2}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourceId"] == leaf and context["resourcePath"] == "/orders/{id}"
    assert context["httpMethod"] == "PUT" and context["stage"] == "prod" and context["apiId"] == api_id
    assert context["path"] == "/prod/orders/17" and context["accountId"] == sandbox.account_id
    assert context["identity"]["sourceIp"] == "192.0.2.7"
    assert context["protocol"] == "HTTP/1.1" and len(context["requestId"]) == 36
    assert context["requestTimeEpoch"] == int(sandbox.clock.time() * 1000) or context["requestTimeEpoch"] > 0


def test_aws_proxy_without_query_or_body_sends_nulls(sandbox):
    _, api_id, _, _ = proxy_api(sandbox, "ping")
    event = json.loads(sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/ping")[2])
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] is None and event["body"] is None


def test_path_parameters_and_greedy_proxy_prefer_the_most_specific(sandbox):
    arn = make_function(sandbox, "echo", ECHO)
    apigw, api_id, root = rest_api(sandbox)
    files = resource(apigw, api_id, root, "files")
    greedy = resource(apigw, api_id, files, "{proxy+}")
    readme = resource(apigw, api_id, files, "README")
    for leaf in (greedy, readme):
        method(apigw, api_id, leaf, "GET", type="AWS_PROXY", integrationHttpMethod="POST",
               uri=lambda_uri(sandbox, arn))
    deploy(apigw, api_id)
    service = sandbox.service("apigateway")
    event = json.loads(service.invoke(api_id, "prod", "GET", "/files/a/b/c.txt")[2])
    assert (event["resource"], event["pathParameters"]) == ("/files/{proxy+}", {"proxy": "a/b/c.txt"})
    event = json.loads(service.invoke(api_id, "prod", "GET", "/files/README")[2])
    assert (event["resource"], event["pathParameters"]) == ("/files/README", None)
    assert service.invoke(api_id, "prod", "GET", "/files")[0] == 403  # {proxy+} needs a segment
    assert service.invoke(api_id, "prod", "POST", "/files/x")[0] == 403  # no POST method


def bad_proxy(sandbox, source):
    arn = make_function(sandbox, "bad", source)
    apigw, api_id, root = rest_api(sandbox)
    leaf = resource(apigw, api_id, root, "x")
    method(apigw, api_id, leaf, "GET", type="AWS_PROXY", integrationHttpMethod="POST", uri=lambda_uri(sandbox, arn))
    deploy(apigw, api_id)
    return sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/x")


def test_malformed_proxy_response_is_502(sandbox):
    status, _, body = bad_proxy(sandbox, "def handler(e, c):\n    return {'statusCode': 200, 'body': {'no': 'string'}}\n")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_function_error_is_502(sandbox):
    status, _, body = bad_proxy(sandbox, "def handler(e, c):\n    raise ValueError('boom')\n")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_proxy_response_base64_and_multi_value_headers(sandbox):
    status, headers, body = bad_proxy(sandbox, (
        "import base64\ndef handler(e, c):\n    return {'statusCode': 201, 'isBase64Encoded': True,\n"
        "        'multiValueHeaders': {'X-A': ['1', '2']}, 'headers': {'Content-Type': 'image/png'},\n"
        "        'body': base64.b64encode(b'\\x89PNG').decode()}\n"))
    assert (status, body, headers["X-A"], headers["Content-Type"]) == (201, b"\x89PNG", "1, 2", "image/png")


def test_mock_integration_selects_the_status_from_the_template(sandbox):
    apigw, api_id, root = rest_api(sandbox)
    health = resource(apigw, api_id, root, "health")
    method(apigw, api_id, health, "GET", type="MOCK", requestTemplates={"application/json": (
        "#if($input.params('fail') == 'yes'){\"statusCode\": 503}#else{\"statusCode\": 200}#end")})
    integration_response(apigw, api_id, health, "GET", "200", selectionPattern="",
                         responseTemplates={"application/json": '{"status": "ok", "stage": "$context.stage"}'},
                         responseParameters={"method.response.header.X-Mock": "'true'"})
    integration_response(apigw, api_id, health, "GET", "503", selectionPattern="5\\d{2}",
                         responseTemplates={"application/json": '{"status": "down"}'})
    deploy(apigw, api_id, stage="dev")
    service = sandbox.service("apigateway")
    status, headers, body = service.invoke(api_id, "dev", "GET", "/health")
    assert (status, json.loads(body), headers["X-Mock"]) == (200, {"status": "ok", "stage": "dev"}, "true")
    status, _, body = service.invoke(api_id, "dev", "GET", "/health", query={"fail": "yes"})
    assert (status, json.loads(body)) == (503, {"status": "down"})
    assert service.invoke(api_id, "nostage", "GET", "/health")[0] == 403


def test_http_integration_to_a_non_loopback_url_is_refused(sandbox):
    apigw, api_id, root = rest_api(sandbox)
    out = resource(apigw, api_id, root, "out")
    method(apigw, api_id, out, "GET", type="HTTP_PROXY", integrationHttpMethod="GET", uri="https://example.com/")
    deploy(apigw, api_id)
    status, _, body = sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/out")
    assert status == 502
    assert "refusing the HTTP integration to https://example.com/" in json.loads(body)["message"]


def test_http_proxy_to_the_sandbox_itself_with_stage_variables(sandbox):
    # An HTTP_PROXY integration pointed (through a stage variable) at another API on loopback.
    apigw, inner, root = rest_api(sandbox, "inner")
    leaf = resource(apigw, inner, root, "{proxy+}")
    method(apigw, inner, leaf, "ANY", type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    integration_response(apigw, inner, leaf, "ANY", "200", selectionPattern="",
                         responseTemplates={"application/json": '{"path": "$context.resourcePath", "q": "$input.params(\'q\')"}'})
    deploy(apigw, inner)
    _, outer, root2 = rest_api(sandbox, "outer")
    proxy = resource(apigw, outer, root2, "{proxy+}")
    method(apigw, outer, proxy, "ANY", type="HTTP_PROXY", integrationHttpMethod="ANY",
           uri="http://${stageVariables.host}/restapis/" + inner + "/prod/_user_request_/{proxy}",
           requestParameters={"integration.request.path.proxy": "method.request.path.proxy"})
    deploy(apigw, outer, variables={"host": sandbox.endpoint_url.split("//")[1]})
    status, _, body = sandbox.service("apigateway").invoke(outer, "prod", "GET", "/a/b", query={"q": "z"})
    assert (status, json.loads(body)) == (200, {"path": "/{proxy+}", "q": "z"})


def test_unknown_api_is_a_clear_404(sandbox):
    try:
        urllib.request.urlopen(f"{sandbox.endpoint_url}/restapis/nosuch/prod/_user_request_/x", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        assert "no REST API or HTTP API with id 'nosuch'" in json.loads(exc.read())["message"]


def test_requests_are_counted_in_cloudwatch(sandbox):
    from datetime import timedelta

    api_id, _ = sqs_api(sandbox, template="#if($input.body")  # every request: 500
    service = sandbox.service("apigateway")
    service.invoke(api_id, "prod", "POST", "/orders", body="{}")
    service.invoke(api_id, "prod", "GET", "/nowhere")  # no route: 403
    name = sandbox.client("apigateway").get_rest_api(restApiId=api_id)["name"]
    now = sandbox.clock.now()

    def total(metric):
        points = sandbox.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName=metric, Period=60, Statistics=["Sum"],
            Dimensions=[{"Name": "ApiName", "Value": name}, {"Name": "Stage", "Value": "prod"}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert (total("Count"), total("4XXError"), total("5XXError")) == (2, 1, 1)


def test_proxy_answer_carries_one_content_type_whatever_its_case(sandbox):
    status, headers, body = bad_proxy(sandbox, (
        "def handler(e, c):\n    return {'statusCode': 200, 'headers': {'content-type': 'text/plain'}, 'body': 'hi'}\n"))
    assert [k for k in headers if k.lower() == "content-type"] == ["content-type"]
    assert (status, headers["content-type"], body) == (200, "text/plain", b"hi")
    # over HTTP as well: one header, the function's
    api_id = sandbox.client("apigateway").get_rest_apis()["items"][0]["id"]
    answer = urllib.request.urlopen(f"{sandbox.endpoint_url}/restapis/{api_id}/prod/_user_request_/x", timeout=30)
    assert answer.headers.get_all("Content-Type") == ["text/plain"]
