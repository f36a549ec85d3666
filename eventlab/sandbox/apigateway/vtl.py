"""API Gateway mapping templates: Velocity (VTL) with ``$input``, ``$util``, ``$context``.

The Velocity engine is `airspeed <https://pypi.org/project/airspeed/>`_ (pure Python, the
engine LocalStack's templates grew from); this module supplies the variables API Gateway
documents for mapping templates
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html):

* ``$input.body``, ``$input.json('$.x')`` (a JSON string), ``$input.path('$.x')`` (an
  object), ``$input.params()`` / ``$input.params('name')`` (path, then query string, then
  header);
* ``$util.escapeJavaScript``, ``urlEncode``, ``urlDecode``, ``base64Encode``,
  ``base64Decode``, ``parseJson``;
* ``$context`` (``requestId``, ``identity.sourceIp``, ``stage``, ``resourcePath``...) and
  ``$stageVariables``.

JSONPath covers what templates use: ``$``, ``$.a.b``, ``$.a[0]``, ``$['a']``, ``$.a[*]``.

Two places where airspeed is not Java's Velocity are bridged here: JSON objects from
``$input.path`` and ``$util.parseJson`` answer the Java ``Map`` methods (``size()``,
``isEmpty()``, ``keySet()``, ``containsKey()``...; AWS's example template counts an object
with ``$input.path('$.things').size()``), and a backslash pair inside a string literal stays
two backslashes as in Velocity, so AWS's ``.replaceAll("\\'","'")`` idiom after
``$util.escapeJavaScript`` turns ``\'`` back into ``'``.

A template that does not parse or fails to render raises :class:`TemplateError`; the
caller answers 500 ``{"message": "Internal server error"}`` as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from typing import Any

from eventlab.errors import InputError


class TemplateError(InputError):
    """A mapping template that cannot be parsed or rendered."""


_TOKEN = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+|\*)\]|\[['\"]([^'\"]*)['\"]\]")


def json_path(document: Any, path: str) -> Any:
    """Evaluate the JSONPath subset mapping templates use; missing -> ``None``."""
    path = (path or "$").strip()
    if not path.startswith("$"):
        raise TemplateError(f"JSONPath must start with $: {path!r}")
    rest, values = path[1:], [document]
    while rest:
        match = _TOKEN.match(rest)
        if match is None:
            raise TemplateError(f"unsupported JSONPath {path!r}")
        rest = rest[match.end():]
        name, index, quoted = match.groups()
        out: list[Any] = []
        for value in values:
            if index == "*":
                out.extend(value if isinstance(value, list) else
                           list(value.values()) if isinstance(value, dict) else [])
            elif index is not None:
                if isinstance(value, list) and int(index) < len(value):
                    out.append(value[int(index)])
            else:
                key = name if name is not None else quoted
                if isinstance(value, dict) and key in value:
                    out.append(value[key])
        values = out
    if "[*]" in path:
        return values
    return values[0] if values else None


class JsonObject(dict[str, Any]):
    """A JSON object as a template sees it: a ``dict`` with Java ``Map``'s methods.

    airspeed looks extra methods up by exact class, so this class carries them itself."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802 (Java's names)
        return not self

    def keySet(self) -> Any:  # noqa: N802
        return self.keys()

    def containsKey(self, key: Any) -> bool:  # noqa: N802
        return key in self

    def put(self, key: Any, value: Any) -> None:
        self[key] = value

    def putAll(self, values: dict[Any, Any]) -> None:  # noqa: N802
        self.update(values)

    def toString(self) -> str:  # noqa: N802
        return "{" + ", ".join(f"{k}={v}" for k, v in self.items()) + "}"


def _for_template(value: Any) -> Any:
    """JSON data with every object a :class:`JsonObject` (lists stay lists: airspeed gives
    them ``size()`` and ``get()``)."""
    if isinstance(value, dict):
        return JsonObject({k: _for_template(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_for_template(v) for v in value]
    return value


_CODE_START = re.compile(r"\$!?\{?[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*\(|#\{?(?:set|if|elseif|foreach)\s*\(")
_CHAINED_CALL = re.compile(r"\.[A-Za-z]\w*\(")


def _velocity_literals(text: str) -> str:
    """Double each backslash pair inside the string literals of method arguments and
    directives, so that airspeed (which reads ``\\`` as one backslash) yields what
    Velocity keeps: ``"\\'"`` is the three characters ``\\'``."""
    out: list[str] = []
    i = 0
    while True:
        match = _CODE_START.search(text, i)
        if match is None:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:match.end()])
        j, depth = match.end(), 1
        while j < len(text) and depth:
            ch = text[j]
            if ch in "\"'":
                k = j + 1
                while k < len(text) and text[k] != ch:
                    k += 2 if text[k] == "\\" else 1
                if k >= len(text):  # unterminated: airspeed reports it
                    out.append(text[j:])
                    return "".join(out)
                out.append(ch + text[j + 1:k].replace("\\\\", "\\\\\\\\") + ch)
                j = k + 1
                continue
            depth += {"(": 1, ")": -1}.get(ch, 0)
            out.append(ch)
            j += 1
            if depth == 0:
                chained = _CHAINED_CALL.match(text, j)
                if chained:
                    out.append(chained.group())
                    j, depth = chained.end(), 1
        i = j


class InputVar:
    """``$input``: the request (or, in a response template, the integration response)."""

    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        self.body = body
        self._params = params
        self._parsed: Any = None
        self._parsed_ok = False

    def _document(self) -> Any:
        if not self._parsed_ok:
            try:
                self._parsed = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                self._parsed = None
            self._parsed_ok = True
        return self._parsed

    def json(self, path: str = "$") -> str:
        return json.dumps(json_path(self._document(), path))

    def path(self, path: str = "$") -> Any:
        return _for_template(json_path(self._document(), path))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            values = self._params.get(where, {})
            if name in values:
                return values[name]
            if where == "header":
                for key, value in values.items():
                    if key.lower() == name.lower():
                        return value
        return ""


class UtilVar:
    """``$util``."""

    def escapeJavaScript(self, value: Any) -> str:  # noqa: N802 (AWS's names)
        return json.dumps(str(value))[1:-1].replace("'", "\\'")

    def urlEncode(self, value: Any) -> str:  # noqa: N802
        return urllib.parse.quote_plus(str(value))

    def urlDecode(self, value: Any) -> str:  # noqa: N802
        return urllib.parse.unquote_plus(str(value))

    def base64Encode(self, value: Any) -> str:  # noqa: N802
        return base64.b64encode(str(value).encode()).decode()

    def base64Decode(self, value: Any) -> str:  # noqa: N802
        return base64.b64decode(str(value)).decode(errors="replace")

    def parseJson(self, value: Any) -> Any:  # noqa: N802
        return _for_template(json.loads(str(value)))


_compiled: dict[str, Any] = {}
_compiled_lock = threading.Lock()
UTIL = UtilVar()


def _template(text: str) -> Any:
    template = _compiled.get(text)
    if template is None:
        import airspeed

        try:
            template = airspeed.Template(_velocity_literals(text))
            template.ensure_compiled()
        except Exception as exc:  # airspeed.TemplateSyntaxError and friends
            raise TemplateError(f"mapping template does not parse: {exc}") from exc
        with _compiled_lock:
            if len(_compiled) > 512:
                _compiled.clear()
            _compiled[text] = template
    return template


def render(text: str, *, body: str, params: dict[str, dict[str, str]], context: dict[str, Any],
           stage_variables: dict[str, str]) -> str:
    """Render a mapping template; raises :class:`TemplateError` when it is malformed."""
    template = _template(text)
    namespace = {"input": InputVar(body, params), "util": UTIL, "context": context,
                 "stageVariables": dict(stage_variables)}
    try:
        return str(template.merge(namespace))
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(f"mapping template failed: {exc}") from exc
