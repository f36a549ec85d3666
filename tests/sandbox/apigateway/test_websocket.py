"""WebSocket APIs (API Gateway v2, ProtocolType WEBSOCKET) with a real WebSocket client
(the ``websockets`` library): connect, routes, authorizer, the @connections API, limits."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.sandbox.apigateway.wsapi import AUTHORIZER, ECHO, REFUSE, REPLY, websocket_api
from tests.sandbox.helpers import drain, make_function, recorder


def _connection_id(sandbox, queue_url):
    (event,) = drain(sandbox, queue_url)
    return event


def test_endpoint_connect_and_disconnect_events(sandbox):
    connect_fn, connects = recorder(sandbox, "on-connect")
    disconnect_fn, disconnects = recorder(sandbox, "on-disconnect")
    api_id, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region,
                                     {"$connect": connect_fn, "$disconnect": disconnect_fn})
    assert endpoint == f"ws://127.0.0.1:{sandbox.endpoint_url.rsplit(':', 1)[1]}/_aws/execute-api/{api_id}"
    with connect(f"{endpoint}/prod?room=7", additional_headers={"X-Team": "blue"}, open_timeout=20) as ws:
        event = _connection_id(sandbox, connects)
        context = event["requestContext"]
        assert context["routeKey"] == "$connect" and context["eventType"] == "CONNECT"
        assert context["stage"] == "prod" and context["apiId"] == api_id
        assert context["domainName"] == f"{api_id}.execute-api.{sandbox.region}.amazonaws.com"
        assert context["messageDirection"] == "IN" and context["connectedAt"] > 0
        assert context["identity"]["sourceIp"] == "127.0.0.1"
        assert event["headers"]["X-Team"] == "blue" and event["queryStringParameters"] == {"room": "7"}
        assert event["isBase64Encoded"] is False
        connection_id = context["connectionId"]
        ws.close()
    assert sandbox.service("apigateway").websockets.wait_disconnected(connection_id)
    (gone,) = drain(sandbox, disconnects)
    assert gone["requestContext"]["eventType"] == "DISCONNECT"
    assert gone["requestContext"]["connectionId"] == connection_id
    assert gone["requestContext"]["disconnectStatusCode"] == 1000


def test_route_selection_post_to_connection_and_route_response(sandbox):
    echo = make_function(sandbox, "echo", ECHO)
    reply = make_function(sandbox, "reply", REPLY)
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region,
                                {"sendmessage": echo, "$default": reply}, two_way=("$default",))
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        ws.send(json.dumps({"action": "sendmessage", "text": "hi"}))
        assert json.loads(ws.recv(timeout=20)) == {"echo": "hi", "route": "sendmessage"}
        ws.send("not json")
        assert ws.recv(timeout=20) == "default got not json"
        ws.send(json.dumps({"action": "nosuchroute"}))
        assert ws.recv(timeout=20) == 'default got {"action": "nosuchroute"}'


def test_no_route_and_no_default_is_forbidden(sandbox):
    echo = make_function(sandbox, "echo", ECHO)
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"sendmessage": echo})
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        ws.send(json.dumps({"action": "other"}))
        answer = json.loads(ws.recv(timeout=20))
        assert answer["message"] == "Forbidden" and answer["connectionId"] and answer["requestId"]


def test_connect_refused_by_a_non_2xx_answer(sandbox):
    refuse = make_function(sandbox, "refuse", REFUSE)
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$connect": refuse})
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{endpoint}/prod", open_timeout=20)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as no_stage:
        connect(f"{endpoint}/nostage", open_timeout=20)
    assert no_stage.value.response.status_code == 403


def test_request_authorizer_allow_deny_and_context(sandbox):
    authorizer = make_function(sandbox, "authorizer", AUTHORIZER)
    connect_fn, connects = recorder(sandbox, "on-connect")
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region,
                                {"$connect": connect_fn}, authorizer=authorizer)
    for token, status in (("deny", 403), (None, 401)):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{endpoint}/prod" + (f"?token={token}" if token else ""), open_timeout=20)
        assert refused.value.response.status_code == status
    assert drain(sandbox, connects) == []     # $connect never ran for a refused client
    with connect(f"{endpoint}/prod?token=allow", open_timeout=20):
        (event,) = drain(sandbox, connects)
    assert event["requestContext"]["authorizer"] == {"tier": "gold", "seats": 3, "principalId": "ana"}


def test_connections_api_in_process_and_gone(sandbox):
    connect_fn, connects = recorder(sandbox, "on-connect")
    api_id, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$connect": connect_fn})
    # as a notebook would, with AWS's own URL for the stage
    manage = boto3.client("apigatewaymanagementapi", region_name=sandbox.region,
                          endpoint_url=f"https://{api_id}.execute-api.{sandbox.region}.amazonaws.com/prod")
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        connection_id = _connection_id(sandbox, connects)["requestContext"]["connectionId"]
        manage.post_to_connection(ConnectionId=connection_id, Data=b"from the notebook")
        assert ws.recv(timeout=20) == "from the notebook"
        info = manage.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1" and info["ConnectedAt"] <= info["LastActiveAt"]
        with pytest.raises(ClientError) as too_big:
            manage.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        assert too_big.value.response["Error"]["Code"] == "PayloadTooLargeException"
        manage.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
        assert closed.value.rcvd.code == 1000
    with pytest.raises(ClientError) as gone:
        manage.post_to_connection(ConnectionId=connection_id, Data=b"late")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_idle_timeout_on_the_virtual_clock(sandbox):
    connect_fn, connects = recorder(sandbox, "on-connect")
    disconnect_fn, disconnects = recorder(sandbox, "on-disconnect")
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region,
                                {"$connect": connect_fn, "$disconnect": disconnect_fn})
    apis = sandbox.service("apigateway").websockets
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        connection_id = _connection_id(sandbox, connects)["requestContext"]["connectionId"]
        sandbox.clock.advance(minutes=9)
        apis.post(connection_id, b"still here")          # activity: the idle timer starts again
        assert ws.recv(timeout=20) == "still here"
        sandbox.clock.advance(minutes=9)
        assert apis.connection(connection_id).state == "OPEN"
        sandbox.clock.advance(minutes=1, seconds=1)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    assert apis.wait_disconnected(connection_id)
    (gone,) = drain(sandbox, disconnects)
    assert gone["requestContext"]["disconnectStatusCode"] == 1001


def test_a_frame_over_32_kb_closes_with_1009(sandbox):
    reply = make_function(sandbox, "reply", REPLY)
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$default": reply},
                                two_way=("$default",))
    with connect(f"{endpoint}/prod", open_timeout=20, max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.send("x" * (32 * 1024 + 1))
            ws.recv(timeout=20)
    assert closed.value.rcvd.code == 1009


def test_over_eventlab_serve(served, tmp_path):
    from eventlab.sandbox import zip_code

    url, _ = served
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                     region_name="us-east-1")
    lam = session.client("lambda", endpoint_url=url)
    iam = session.client("iam", endpoint_url=url)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def function(name, source):
        return lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                   Handler="lambda_function.handler", Code={"ZipFile": zip_code(source)},
                                   Timeout=30)["FunctionArn"]

    v2 = session.client("apigatewayv2", endpoint_url=url)
    welcome = function("welcome", "def handler(event, context):\n    return {'statusCode': 200}\n")
    api_id, endpoint = websocket_api(v2, "us-east-1", {"$connect": welcome, "sendmessage": function("echo", ECHO)},
                                     authorizer=function("authorizer", AUTHORIZER))
    assert endpoint == "ws" + url.removeprefix("http") + f"/_aws/execute-api/{api_id}"
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{endpoint}/prod?token=deny", open_timeout=30)
    assert refused.value.response.status_code == 403
    with connect(f"{endpoint}/prod?token=allow", open_timeout=30) as ws:
        ws.send(json.dumps({"action": "sendmessage", "text": "over serve"}))
        assert json.loads(ws.recv(timeout=30)) == {"echo": "over serve", "route": "sendmessage"}
    manage = session.client("apigatewaymanagementapi",
                            endpoint_url=f"{url}/_aws/execute-api/{api_id}/prod")
    with pytest.raises(ClientError) as gone:
        manage.get_connection(ConnectionId="NoSuchConnId0A=")
    assert gone.value.response["Error"]["Code"] == "GoneException"


def test_maximum_duration_and_message_size(sandbox):
    reply = make_function(sandbox, "reply", REPLY)
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$default": reply},
                                two_way=("$default",))
    sandbox.quotas.set("apigateway.websocket.idle-seconds", 3 * 3600)   # only the 2 h limit left
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        sandbox.clock.advance(hours=1, minutes=59)
        ws.send("x" * 1000)
        assert ws.recv(timeout=20).startswith("default got x")
        sandbox.clock.advance(minutes=1, seconds=1)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd.code == 1001
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        ws.send(iter(["y" * 32_000] * 4))                 # 128,000 bytes in four frames: one message
        assert ws.recv(timeout=20) == "default got " + "y" * 128_000
        with pytest.raises(ConnectionClosed) as closed:   # the close may come while it sends
            ws.send(iter(["y" * 32 * 1024] * 4 + ["y"]))  # one byte over 128 KB
            ws.recv(timeout=20)
    assert closed.value.rcvd.code == 1009


def test_handlers_reach_the_sandbox_for_execute_api_hosts():
    from eventlab.sandbox.awslambda.worker import execute_api_url

    local = "http://127.0.0.1:4566"
    assert (execute_api_url("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/%40connections/Xy%3D", local)
            == "http://127.0.0.1:4566/_aws/execute-api/abc123/prod/%40connections/Xy%3D")
    assert execute_api_url("https://sqs.us-east-1.amazonaws.com/", local) is None
    assert execute_api_url("https://abc.execute-api.us-east-1.amazonaws.com.evil.example/x", local) is None


def test_connections_api_on_the_bare_sandbox_url(sandbox):
    connect_fn, connects = recorder(sandbox, "on-connect")
    _, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$connect": connect_fn})
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        connection_id = _connection_id(sandbox, connects)["requestContext"]["connectionId"]
        for base in (sandbox.endpoint_url, sandbox.endpoint_url + "/prod"):   # `eventlab aws` style
            manage = boto3.client("apigatewaymanagementapi", region_name=sandbox.region, endpoint_url=base)
            manage.post_to_connection(ConnectionId=connection_id, Data=base.encode())
            assert ws.recv(timeout=20) == base


def test_message_events_text_and_binary(sandbox):
    from tests.sandbox.helpers import RECORDER, make_queue

    url, _ = make_queue(sandbox, "messages")
    source = RECORDER.replace('return {"ok": True}', 'return {"statusCode": 200, "body": "ok"}')
    default_fn = make_function(sandbox, "on-default", source, {"OUT": url})
    api_id, endpoint = websocket_api(sandbox.client("apigatewayv2"), sandbox.region, {"$default": default_fn},
                                     two_way=("$default",))
    with connect(f"{endpoint}/prod", open_timeout=20) as ws:
        ws.send('{"action": "nothing-matches", "n": 1}')
        ws.send(b"\x00\xffbinary")
        assert [ws.recv(timeout=20), ws.recv(timeout=20)] == ["ok", "ok"]   # both handled
    text, binary = sorted(drain(sandbox, url), key=lambda event: event["isBase64Encoded"])
    context = text["requestContext"]
    assert context["routeKey"] == "$default" and context["eventType"] == "MESSAGE"
    assert context["apiId"] == api_id and context["messageId"] and context["messageDirection"] == "IN"
    assert text["body"] == '{"action": "nothing-matches", "n": 1}' and text["isBase64Encoded"] is False
    assert binary["body"] == "AP9iaW5hcnk=" and binary["isBase64Encoded"] is True
    assert binary["requestContext"]["connectionId"] == context["connectionId"]
