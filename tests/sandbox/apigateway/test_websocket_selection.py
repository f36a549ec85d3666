"""The pure parts of WebSocket APIs: route selection expressions and authorizer policies."""

from __future__ import annotations

import pytest

from eventlab.sandbox.apigateway.websocket import select_route
from eventlab.sandbox.apigateway.ws_authorizer import allowed

BODY = '{"service": "chat", "action": "join", "data": {"room": "r1", "n": 2}, "tags": ["a", "b"]}'


@pytest.mark.parametrize(("expression", "key"), [
    ("$request.body.action", "join"),
    ("${request.body.action}", "join"),
    ("${request.body.service}/${request.body.action}", "chat/join"),
    ("$request.body.data.room", "r1"),
    ("$request.body.data.n", "2"),                  # a number is stringified
    ("$request.body.tags[1]", "b"),
    ("$request.body.missing", None),                # cannot be evaluated: $default
    ("\\$default", "$default"),                     # an escaped dollar
    ("", None),
])
def test_route_selection_expressions(expression, key):
    assert select_route(expression, BODY) == key


def test_a_body_that_is_not_json_selects_no_route():
    assert select_route("$request.body.action", "ping") is None


ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/$connect"


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_authorizer_policies():
    allow = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}
    deny = {"Effect": "Deny", "Action": "execute-api:*", "Resource": "arn:aws:execute-api:*"}
    assert allowed(_policy(allow), ARN)
    assert allowed({"Statement": allow}, ARN)                     # one statement, not a list
    assert allowed(_policy({**allow, "Resource": ["arn:aws:execute-api:us-east-1:*:abc/*"]}), ARN)
    assert not allowed(_policy(allow, deny), ARN)                 # an explicit Deny wins
    assert not allowed(_policy({**allow, "Resource": ARN.replace("prod", "dev")}), ARN)
    assert not allowed(_policy({**allow, "Action": "execute-api:ManageConnections"}), ARN)
    assert not allowed(_policy(), ARN)                            # no Allow: refused
