"""API Gateway's account-level throttle (10,000 requests/s, burst 5,000, one token bucket
for every API of the region) on top of the stage's and plans' own: 429
TooManyRequestsException, counted in Count and 4XXError
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)."""

from __future__ import annotations

import json

import requests

from tests.sandbox.apigateway.apigw import deploy, integration_response, method, resource, rest_api
from tests.sandbox.helpers import metric


def mock_api(sandbox, name):
    apigw, api_id, root = rest_api(sandbox, name)
    leaf = resource(apigw, api_id, root, "items")
    method(apigw, api_id, leaf, "GET", type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    integration_response(apigw, api_id, leaf, "GET", "200", selectionPattern="",
                         responseTemplates={"application/json": '{"ok": true}'})
    deploy(apigw, api_id)
    return api_id


def statuses(sandbox, api_id, n):
    return [sandbox.service("apigateway").invoke(api_id, "prod", "GET", "/items")[0] for _ in range(n)]


def total(sandbox, name, api_name):
    return metric(sandbox, "AWS/ApiGateway", name, {"ApiName": api_name, "Stage": "prod"})


def test_the_account_throttle_spans_every_api_bursts_then_refills_at_its_rate(sandbox):
    assert (sandbox.quotas["apigateway.account.rate"], sandbox.quotas["apigateway.account.burst"]) == (10_000, 5_000)
    sandbox.quotas.set("apigateway.account.rate", 2)
    sandbox.quotas.set("apigateway.account.burst", 4)
    shop, admin = mock_api(sandbox, "shop"), mock_api(sandbox, "admin")
    with sandbox.clock.held():
        assert statuses(sandbox, shop, 3) + statuses(sandbox, admin, 2) == [200, 200, 200, 200, 429]
        status, headers, body = sandbox.service("apigateway").invoke(shop, "prod", "GET", "/items")
        assert (status, json.loads(body)) == (429, {"message": "Too Many Requests"})
        assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
        sandbox.clock.advance(seconds=1)               # two more a second, not a new burst
        assert statuses(sandbox, shop, 3) == [200, 200, 429]
        answer = requests.get(f"{sandbox.endpoint_url}/restapis/{admin}/prod/_user_request_/items", timeout=10)
        assert (answer.status_code, answer.json()) == (429, {"message": "Too Many Requests"})
    assert (total(sandbox, "Count", "shop"), total(sandbox, "4XXError", "shop")) == (7, 2)


def test_under_the_default_throttle_a_busy_api_answers_every_request(sandbox):
    shop = mock_api(sandbox, "shop")
    with sandbox.clock.held():
        assert statuses(sandbox, shop, 200) == [200] * 200
