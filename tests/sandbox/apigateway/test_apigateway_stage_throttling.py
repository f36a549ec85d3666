"""Stage and method throttling: a REST stage's methodSettings and an HTTP API stage's route
settings are token buckets on the virtual clock, answering 429 {"message":"Too Many
Requests"}; a method's setting replaces the stage's, and the narrowest of account, plan
and stage decides
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html)."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from tests.sandbox.apigateway.apigw import deploy, integration_response, method, resource, rest_api
from tests.sandbox.apigateway.test_apigateway_v2 import http_api
from tests.sandbox.helpers import api_client, metric


def mock_method(apigw, api_id, parent, part, http_method="GET", **options):
    leaf = resource(apigw, api_id, parent, part)
    method(apigw, api_id, leaf, http_method, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'},
           **options)
    integration_response(apigw, api_id, leaf, http_method, "200", selectionPattern="",
                         responseTemplates={"application/json": '{"ok": true}'})
    return leaf


def shop(sandbox, operations):
    """A REST API with GET /items and GET /orders on stage prod, throttled by ``operations``."""
    apigw, api_id, root = rest_api(sandbox)
    mock_method(apigw, api_id, root, "items")
    mock_method(apigw, api_id, root, "orders")
    deploy(apigw, api_id)
    stage = apigw.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": path, "value": value} for path, value in operations])
    return api_id, stage


def statuses(sandbox, api_id, path, n, stage="prod", headers=None):
    return [sandbox.service("apigateway").invoke(api_id, stage, "GET", path, headers=headers)[0] for _ in range(n)]


def test_the_stage_throttle_is_a_token_bucket_on_the_virtual_clock(sandbox):
    api_id, stage = shop(sandbox, [("/*/*/throttling/rateLimit", "2"), ("/*/*/throttling/burstLimit", "3")])
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 2.0
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/items", 4) == [200, 200, 200, 429]
        status, headers, body = sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/orders")
        assert (status, json.loads(body)) == (429, {"message": "Too Many Requests"})   # one bucket per method
        assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
        sandbox.clock.advance(seconds=1)                       # refilled at 2 a second
        assert statuses(sandbox, api_id, "/items", 3) == [200, 200, 429]
        answer = requests.get(f"{sandbox.endpoint_url}/restapis/{api_id}/prod/_user_request_/items", timeout=10)
        assert (answer.status_code, answer.json()) == (429, {"message": "Too Many Requests"})
    dimensions = {"ApiName": "shop", "Stage": "prod"}
    assert metric(sandbox, "AWS/ApiGateway", "Count", dimensions) == 9
    assert metric(sandbox, "AWS/ApiGateway", "4XXError", dimensions) == 4


def test_a_method_setting_replaces_the_stages_for_that_method_only(sandbox):
    api_id, stage = shop(sandbox, [("/*/*/throttling/rateLimit", "1"), ("/*/*/throttling/burstLimit", "1"),
                                   ("/~1orders/GET/throttling/rateLimit", "5"),
                                   ("/~1orders/GET/throttling/burstLimit", "5")])
    assert stage["methodSettings"]["~1orders/GET"]["throttlingBurstLimit"] == 5
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/orders", 6) == [200] * 5 + [429]
        assert statuses(sandbox, api_id, "/items", 2) == [200, 429]


def test_setting_only_a_rate_keeps_the_accounts_burst(sandbox):
    api_id, stage = shop(sandbox, [("/*/*/throttling/rateLimit", "1")])
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 5000   # AWS's, the account's
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/items", 50) == [200] * 50


def test_zero_rate_and_burst_switch_a_method_off(sandbox):
    api_id, _ = shop(sandbox, [("/~1items/GET/throttling/rateLimit", "0"), ("/~1items/GET/throttling/burstLimit", "0")])
    assert statuses(sandbox, api_id, "/items", 2) == [429, 429]
    assert statuses(sandbox, api_id, "/orders", 2) == [200, 200]


def test_the_narrowest_of_account_plan_and_stage_decides(sandbox):
    apigw, api_id, root = rest_api(sandbox)
    mock_method(apigw, api_id, root, "items", api_key=True)
    deploy(apigw, api_id)
    key = apigw.create_api_key(name="learner", enabled=True)
    plan = apigw.create_usage_plan(name="basic", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                   throttle={"rateLimit": 100, "burstLimit": 4})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    headers = {"x-api-key": key["value"]}
    apigw.update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "6"}])
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/items", 5, headers=headers) == [200] * 4 + [429]   # the plan's 4
        sandbox.clock.advance(seconds=1)
        sandbox.quotas.set("apigateway.account.burst", 1)                                    # now the account's 1
        assert statuses(sandbox, api_id, "/items", 2, headers=headers) == [200, 429]


def test_http_api_route_settings_override_the_stage_default(sandbox):
    api_id = http_api(sandbox, route_key="GET /items/{id}", stage="v1")
    v2 = sandbox.client("apigatewayv2")
    integration = v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /orders", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="v2",
                    DefaultRouteSettings={"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 2},
                    RouteSettings={"GET /orders": {"ThrottlingRateLimit": 10.0, "ThrottlingBurstLimit": 3}})
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/items/1", 3, stage="v2") == [200, 200, 429]
        assert statuses(sandbox, api_id, "/orders", 4, stage="v2") == [200, 200, 200, 429]
        assert statuses(sandbox, api_id, "/items/1", 3, stage="v1") == [200] * 3     # v1 has no throttle
        sandbox.clock.advance(seconds=1)
        status, _, body = sandbox.service("apigateway").invoke(api_id, "v2", "GET", "/items/1")
        assert status == 200
        status, _, body = sandbox.service("apigateway").invoke(api_id, "v2", "GET", "/items/1")
        assert (status, json.loads(body)) == (429, {"message": "Too Many Requests"})


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_http_api_throttles_set_by_update_stage_apply_from_the_next_request(sandbox, over):
    api_id = http_api(sandbox, route_key="GET /items/{id}", stage="v1")
    v2 = api_client(sandbox, "apigatewayv2", over)
    integration = v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /orders", Target=f"integrations/{integration}")
    with sandbox.clock.held():
        assert statuses(sandbox, api_id, "/items/1", 3, stage="v1") == [200] * 3     # no throttle yet
        updated = v2.update_stage(ApiId=api_id, StageName="v1",
                                  DefaultRouteSettings={"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 2},
                                  RouteSettings={"GET /orders": {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 1}})
        assert updated["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 2
        assert statuses(sandbox, api_id, "/items/1", 3, stage="v1") == [200, 200, 429]
        assert statuses(sandbox, api_id, "/orders", 2, stage="v1") == [200, 429]
        # a later update merges into what the stage has: the rate stays, the burst changes
        v2.update_stage(ApiId=api_id, StageName="v1", DefaultRouteSettings={"ThrottlingBurstLimit": 4})
        sandbox.clock.advance(seconds=10)
        assert statuses(sandbox, api_id, "/items/1", 5, stage="v1") == [200] * 4 + [429]
    stage = v2.get_stage(ApiId=api_id, StageName="v1")
    assert (stage["DefaultRouteSettings"]["ThrottlingRateLimit"], stage["DefaultRouteSettings"]["ThrottlingBurstLimit"]) == (1.0, 4)
    assert stage["RouteSettings"]["GET /orders"] == {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 1}
    assert stage["StageVariables"] == {"env": "lab"}                                    # left as it was


def test_update_stage_refuses_bad_settings_with_aws_errors_and_changes_nothing(sandbox):
    api_id = http_api(sandbox, route_key="GET /items/{id}", stage="v1")
    v2 = api_client(sandbox, "apigatewayv2")
    with pytest.raises(ClientError) as unknown_route:
        v2.update_stage(ApiId=api_id, StageName="v1", DefaultRouteSettings={"ThrottlingBurstLimit": 1},
                        RouteSettings={"GET /nowhere": {"ThrottlingRateLimit": 1.0}})
    with pytest.raises(ClientError) as negative:
        v2.update_stage(ApiId=api_id, StageName="v1", DefaultRouteSettings={"ThrottlingRateLimit": -1.0})
    with pytest.raises(ClientError) as no_stage:
        v2.update_stage(ApiId=api_id, StageName="v9", DefaultRouteSettings={"ThrottlingRateLimit": 1.0})
    assert unknown_route.value.response["Error"]["Code"] == "NotFoundException"
    assert "GET /nowhere" in unknown_route.value.response["Error"]["Message"]
    assert unknown_route.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert negative.value.response["Error"]["Code"] == "BadRequestException"
    assert "DefaultRouteSettings.ThrottlingRateLimit" in negative.value.response["Error"]["Message"]
    assert no_stage.value.response["Error"]["Code"] == "NotFoundException"
    assert "ThrottlingBurstLimit" not in v2.get_stage(ApiId=api_id, StageName="v1")["DefaultRouteSettings"]
    assert statuses(sandbox, api_id, "/items/1", 3, stage="v1") == [200] * 3


def test_a_stage_setting_without_a_burst_takes_the_account_burst_of_the_apis_region(sandbox):
    # AWS: 10,000/s with a burst of 5,000, but 2,500 and 1,250 in eu-south-1 and twelve more
    throttles = sandbox.service("apigateway").stage_limits
    admitted = {}
    for region in ("eu-south-1", "us-east-1"):
        client = sandbox.client("apigatewayv2", region=region)
        api_id = client.create_api(Name=f"api-{region}", ProtocolType="HTTP")["ApiId"]
        integration = client.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                                IntegrationUri="https://example.com", PayloadFormatVersion="1.0")
        client.create_route(ApiId=api_id, RouteKey="GET /ping", Target=f"integrations/{integration['IntegrationId']}")
        client.create_stage(ApiId=api_id, StageName="prod", DefaultRouteSettings={"ThrottlingRateLimit": 1.0})
        api = sandbox.backend("apigatewayv2", region=region).get_api(api_id)
        stage, route = api.get_stage("prod"), next(iter(api.routes.values()))
        with sandbox.clock.held():
            admitted[region] = [throttles.http_api(api, stage, route) for _ in range(5_001)].count(None)
    assert admitted == {"eu-south-1": 1_250, "us-east-1": 5_000}
