"""Unit tests for API Gateway mapping templates (eventlab/sandbox/apigateway/vtl.py), rendered
directly with no Sandbox. Expected outputs come from AWS's variable reference and examples
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
and .../api-gateway-mapping-variable-examples.html): ``$input.body``, ``$input.json``,
``$input.path``, ``$input.params`` (path, then query string, then header), the ``$util``
functions, ``$context`` and ``$stageVariables``, plus the Velocity directives the documented
templates use (``#set``, ``#foreach`` with ``$foreach.hasNext``, ``#if``). JSON output is
compared after parsing, since AWS does not promise whitespace. Templates that do not parse or
fail to render must raise ``TemplateError`` with a message that says what went wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from eventlab.sandbox.apigateway.vtl import InputVar, TemplateError, UtilVar, json_path, render

PETS = {"pets": [{"id": 1, "type": "dog", "price": 249.99},
                 {"id": 2, "type": "cat", "price": 124.99},
                 {"id": 3, "type": "fish", "price": 0.99}]}
PARAMS = {"path": {"id": "abc"},
          "querystring": {"name": "Ana", "id": "from-query", "q": "a b"},
          "header": {"Content-Type": "application/json", "X-Trace": "t-1", "name": "from-header"}}
CONTEXT = {"stage": "prod", "requestId": "abcdefg-000-000-0000-abcdefg", "apiId": "abcd1234",
           "resourcePath": "/", "resourceId": "efg567", "httpMethod": "GET",
           "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/7.84.0",
                        "accountId": "111122223333", "apiKey": "MyTestKey",
                        "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
                        "userArn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"}}


def vtl(template: str, body: Any = "", params: dict[str, dict[str, str]] | None = None,
        context: dict[str, Any] | None = None, stage_variables: dict[str, str] | None = None) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return render(template, body=text, params=PARAMS if params is None else params,
                  context=CONTEXT if context is None else context,
                  stage_variables=stage_variables or {})


# -- $input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "expected"), [
    # "$input.json('$.pets') returns a JSON string representing the pets structure"
    ("$input.json('$.pets')", PETS["pets"]),
    ("$input.json('$')", PETS),
    ("$input.json('$.pets[0]')", PETS["pets"][0]),
    ("$input.json('$.pets[2].type')", "fish"),
    ("$input.json(\"$['pets'][1]['price']\")", 124.99),
    ("$input.json('$.pets[*].type')", ["dog", "cat", "fish"]),
    ("$input.json('$.missing')", None),
    ("$input.json('$.pets[9]')", None),
])
def test_input_json(template: str, expected: Any) -> None:
    assert json.loads(vtl(template, PETS)) == expected


def test_input_path_returns_an_object_vtl_can_use() -> None:
    # AWS: $input.path('$.pets') "returns a JSON object representation"; .size() counts it.
    assert vtl("$input.path('$.pets').size()", PETS) == "3"
    assert vtl("$input.path('$.pets[1].type')", PETS) == "cat"


def test_documented_request_template() -> None:
    """AWS's "Example request and response using $input" (POST /things/abc). AWS's template
    wraps the last value in $util.escapeJavaScript, yet its shown response has unescaped JSON;
    the response is what we check, so the template here uses $input.json alone."""
    template = ('{\n    "id" : "$input.params(\'id\')",\n'
                '    "count" : "$input.path(\'$.things\').size()",\n'
                '    "things" : $input.json(\'$.things\')\n}')
    body = {"things": {"1": {}, "2": {}, "3": {}}}
    assert json.loads(vtl(template, body)) == {"id": "abc", "count": "3",
                                               "things": {"1": {}, "2": {}, "3": {}}}


def test_documented_name_and_body_template() -> None:
    template = '{\n    "name" : "$input.params(\'name\')",\n    "body" : $input.json(\'$.mykey\')\n}'
    assert json.loads(vtl(template, {"mykey": {"a": [1, 2]}})) == {"name": "Ana",
                                                                   "body": {"a": [1, 2]}}


@pytest.mark.parametrize(("name", "expected"), [
    ("id", "abc"),              # path wins over the query string: "searched in that order"
    ("name", "Ana"),            # query string wins over the header
    ("X-Trace", "t-1"),         # header only
    ("x-trace", "t-1"),         # sandbox: header names match case-insensitively, as in HTTP
    ("absent", ""),             # a parameter the request does not have renders as nothing
])
def test_input_params_lookup_order(name: str, expected: str) -> None:
    assert vtl(f"$input.params('{name}')") == expected


def test_input_params_map_for_the_documented_passthrough_template() -> None:
    """AWS's parameter-mapping example: every path, querystring and header parameter."""
    template = """#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"""
    assert json.loads(vtl(template)) == {"params": PARAMS}


def test_input_body_is_the_raw_payload() -> None:
    assert vtl("$input.body", "a=1&b=2") == "a=1&b=2"


@pytest.mark.parametrize(("template", "expected"), [
    # JSON objects answer Java Map's methods, nested ones too.
    ("$input.path('$').things.size()", "2"),
    ("#if($input.path('$.things').isEmpty())empty#{else}full#end", "full"),
    ("#if($input.path('$.things').containsKey('b'))has b#end", "has b"),
    ("#foreach($k in $input.path('$.things').keySet())$k#end", "ab"),
    ("$util.parseJson('{\"x\": {\"y\": 1}}').x.size()", "1"),
])
def test_json_objects_have_map_methods(template: str, expected: str) -> None:
    assert vtl(template, {"things": {"a": 1, "b": {}}}) == expected


@pytest.mark.parametrize(("body", "expected"), [
    # The sandbox's choice (AWS does not document these): an empty body reads as an empty
    # object, a body that is not JSON as null.
    ("", {}),
    ("not json", None),
])
def test_input_json_on_bodies_that_are_not_json(body: str, expected: Any) -> None:
    assert json.loads(vtl("$input.json('$')", body)) == expected


# -- $util ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    # "This function will turn any regular single quotes (') into escaped ones (\\')"
    ("it's", "it\\'s"),
    ('say "hi"', 'say \\"hi\\"'),
    ("back\\slash", "back\\\\slash"),
    ("line1\nline2\ttab", "line1\\nline2\\ttab"),
    ("plain", "plain"),
])
def test_escape_javascript(value: str, expected: str) -> None:
    assert UtilVar().escapeJavaScript(value) == expected
    assert vtl("$util.escapeJavaScript($input.body)", value) == expected


def test_escape_javascript_with_the_documented_quote_fix_gives_valid_json() -> None:
    """AWS: escaped single quotes are not valid JSON, so templates use
    ``$util.escapeJavaScript(data).replaceAll("\\\\'","'")`` inside a JSON property."""
    template = '{"m": "$util.escapeJavaScript($input.body).replaceAll("\\\\\'","\'")"}'
    assert json.loads(vtl(template, 'it\'s "quoted"\non two lines')) == {
        "m": 'it\'s "quoted"\non two lines'}


def test_parse_json_documented_example() -> None:
    body = '{"errorMessage":"{\\"key1\\":\\"var1\\",\\"key2\\":{\\"arr\\":[1,2,3]}}"}'
    template = ("#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n"
                '{\n   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]\n}')
    assert json.loads(vtl(template, body)) == {"errorMessageObjKey2ArrVal": 1}


@pytest.mark.parametrize(("template", "expected"), [
    # application/x-www-form-urlencoded, UTF-8 by default
    ("$util.urlEncode('a b&c=d/é')", "a+b%26c%3Dd%2F%C3%A9"),
    ("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", "a b&c=d/é"),
    ("$util.base64Encode('hello world')", "aGVsbG8gd29ybGQ="),
    ("$util.base64Decode('aGVsbG8gd29ybGQ=')", "hello world"),
    ("$util.base64Decode($util.base64Encode('é and ü'))", "é and ü"),
])
def test_url_and_base64_helpers(template: str, expected: str) -> None:
    assert vtl(template) == expected


# -- $context and $stageVariables -------------------------------------------------------------

def test_documented_context_template() -> None:
    """AWS's "Pass multiple $context variables to the integration endpoint" example."""
    template = """{
    "stage" : "$context.stage",
    "request_id" : "$context.requestId",
    "api_id" : "$context.apiId",
    "resource_path" : "$context.resourcePath",
    "resource_id" : "$context.resourceId",
    "http_method" : "$context.httpMethod",
    "source_ip" : "$context.identity.sourceIp",
    "user-agent" : "$context.identity.userAgent",
    "account_id" : "$context.identity.accountId",
    "api_key" : "$context.identity.apiKey",
    "caller" : "$context.identity.caller",
    "user" : "$context.identity.user",
    "user_arn" : "$context.identity.userArn"
}"""
    assert json.loads(vtl(template)) == {
        "stage": "prod", "request_id": "abcdefg-000-000-0000-abcdefg", "api_id": "abcd1234",
        "resource_path": "/", "resource_id": "efg567", "http_method": "GET",
        "source_ip": "192.0.2.1", "user-agent": "curl/7.84.0", "account_id": "111122223333",
        "api_key": "MyTestKey", "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
        "user_arn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"}


@pytest.mark.parametrize("template", ["$stageVariables.env", "$stageVariables['env']",
                                      "${stageVariables['env']}"])
def test_stage_variable_syntaxes(template: str) -> None:
    # The three syntaxes of AWS's $stageVariables table.
    assert vtl(template, stage_variables={"env": "beta"}) == "beta"


# -- Velocity directives ------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "expected"), [
    ("#foreach($p in $input.path('$.pets'))$p.type#if($foreach.hasNext),#end#end", "dog,cat,fish"),
    ("#foreach($p in $input.path('$.pets'))#if($p.price > 100)$p.id #end#end", "1 2 "),
    ("#if($input.path('$.pets').size() > 2)many#{else}few#end", "many"),
    ("#if($input.params('absent') == '')none#{else}some#end", "none"),
    ("#set($n = $input.path('$.pets[0].id') + 41)$n", "42"),
])
def test_directives(template: str, expected: str) -> None:
    assert vtl(template, PETS) == expected


# -- JSONPath subset ------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("$", PETS),
    ("", PETS),                                    # an empty path is the whole document
    ("$.pets[0].id", 1),
    ("$['pets'][0]['type']", "dog"),
    ("$.pets[*].id", [1, 2, 3]),
    ("$.pets[*].missing", []),
    ("$.pets[5]", None),
    ("$.pets.type", None),                         # a member of a list is missing, not an error
])
def test_json_path(path: str, expected: Any) -> None:
    assert json_path(PETS, path) == expected


@pytest.mark.parametrize(("path", "message"), [
    ("pets", "JSONPath must start with $: 'pets'"),
    ("$..type", "unsupported JSONPath '$..type'"),
    ("$.pets[?(@.price > 1)]", "unsupported JSONPath '$.pets[?(@.price > 1)]'"),
])
def test_json_path_errors(path: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        json_path(PETS, path)


def test_input_var_directly() -> None:
    var = InputVar('{"a": {"b": [10, 20]}}', {"path": {"p": "1"}})
    assert var.path("$.a.b[1]") == 20
    assert json.loads(var.json("$.a")) == {"b": [10, 20]}
    assert var.params() == {"path": {"p": "1"}}
    assert var.params("p") == "1"


# -- malformed templates ------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "message"), [
    ("#if($x", "mapping template does not parse: line 1, column 7: expected )"),
    ("#foreach($a in [1,2])", "mapping template does not parse: line 1, column 22: expected #end"),
    ("$input.path('pets')", "JSONPath must start with $: 'pets'"),
    ("$input.json('$..x')", "unsupported JSONPath '$..x'"),
    ("$util.parseJson('{bad')", "mapping template failed"),
])
def test_malformed_templates(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        vtl(template, PETS)
