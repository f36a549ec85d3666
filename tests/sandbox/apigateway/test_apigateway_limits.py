"""API keys and usage plans: 403 without a key, 429 when throttled or over quota."""

from __future__ import annotations

import json

import requests

from tests.sandbox.apigateway.apigw import deploy, integration_response, method, resource, rest_api


def keyed_api(sandbox, throttle=None, quota=None):
    apigw, api_id, root = rest_api(sandbox)
    leaf = resource(apigw, api_id, root, "items")
    method(apigw, api_id, leaf, "GET", api_key=True, type="MOCK",
           requestTemplates={"application/json": '{"statusCode": 200}'})
    integration_response(apigw, api_id, leaf, "GET", "200", selectionPattern="",
                         responseTemplates={"application/json": '{"key": "$context.identity.apiKeyId"}'})
    deploy(apigw, api_id)
    key = apigw.create_api_key(name="learner", enabled=True)
    plan_args = {"name": "basic", "apiStages": [{"apiId": api_id, "stage": "prod"}]}
    if throttle:
        plan_args["throttle"] = throttle
    if quota:
        plan_args["quota"] = quota
    plan = apigw.create_usage_plan(**plan_args)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return api_id, key


def call(sandbox, api_id, key=None):
    headers = {"x-api-key": key} if key else {}
    status, _, body = sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/items", headers=headers)
    return status, json.loads(body)


def test_missing_or_unknown_api_key_is_403(sandbox):
    api_id, key = keyed_api(sandbox)
    assert call(sandbox, api_id) == (403, {"message": "Forbidden"})
    assert call(sandbox, api_id, "not-a-key") == (403, {"message": "Forbidden"})
    assert call(sandbox, api_id, key["value"]) == (200, {"key": key["id"]})
    answer = requests.get(f"{sandbox.endpoint_url}/restapis/{api_id}/prod/_user_request_/items",
                          headers={"X-API-Key": key["value"]}, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"key": key["id"]})


def test_key_outside_any_plan_for_the_stage_is_403(sandbox):
    api_id, _ = keyed_api(sandbox)
    loose = sandbox.client("apigateway").create_api_key(name="loose", enabled=True)
    assert call(sandbox, api_id, loose["value"]) == (403, {"message": "Forbidden"})


def test_throttling_then_ok_after_the_clock_moves(sandbox):
    api_id, key = keyed_api(sandbox, throttle={"rateLimit": 1.0, "burstLimit": 2})
    assert [call(sandbox, api_id, key["value"])[0] for _ in range(3)] == [200, 200, 429]
    assert call(sandbox, api_id, key["value"]) == (429, {"message": "Too Many Requests"})
    sandbox.clock.advance(1)
    assert call(sandbox, api_id, key["value"])[0] == 200
    assert call(sandbox, api_id, key["value"])[0] == 429
    sandbox.clock.advance(10)  # the bucket refills up to the burst, no further
    assert [call(sandbox, api_id, key["value"])[0] for _ in range(3)] == [200, 200, 429]


def test_quota_per_day(sandbox):
    api_id, key = keyed_api(sandbox, quota={"limit": 3, "period": "DAY"})
    assert [call(sandbox, api_id, key["value"])[0] for _ in range(3)] == [200, 200, 200]
    assert call(sandbox, api_id, key["value"]) == (429, {"message": "Limit Exceeded"})
    sandbox.clock.advance(days=1)
    assert call(sandbox, api_id, key["value"])[0] == 200
