#!/usr/bin/env python3
"""Drive real Django's messages storages for herald's live cross-check (tests/django_live.rs).

Reads one JSON document on standard input:

    {"cases": [case, ...]}

and writes one JSON document on standard output:

    {"django_version": str, "python_version": str, "zlib_version": str, "results": [result, ...]}

with one result per case, in order. Case kinds ("op"):

* "encode": CookieStorage._store(messages, HttpResponse(), remove_oldest) at a frozen
  time.time(); result {"value": str|null (null for the deletion cookie),
  "set_cookie": Morsel.OutputString(), "unstored_indices": [int]}.
* "decode": CookieStorage._get() with request.COOKIES["messages"] = value; result
  {"result": "ok"|"invalid"|"absent"|"exception", "messages": [item], "all_retrieved": bool}
  (plus "exception": name).
  A payload that is not a list gives {"result": "ok", "non_list": value, ...}.
* "session_encode": SessionStorage.serialize_messages(messages); result {"value": str}.
* "session_decode": SessionStorage.deserialize_messages(value); result
  {"result": "ok", "messages": [item]} or {"result": "exception", ...}.
* "sign_payload": TimestampSigner.sign_object on raw payload bytes (hex) with the
  messages cookie signer at a frozen time; result {"value": str}.
* "b64_decode": django.core.signing.b64_decode(value bytes); result {"hex": str} or
  {"error": str}.

Every case carries "secret", "fallbacks" and optional cookie "settings"
{"domain", "secure", "httponly", "samesite"}. Messages are
{"level", "message", "extra_tags", "is_safe"} or {"raw": value}; decoded items are
described the same way, nested messages as {"message_object": {...}}.
"""

import json
import platform
import sys
import zlib
from unittest import mock

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="placeholder-replaced-per-case",
    SECRET_KEY_FALLBACKS=[],
    INSTALLED_APPS=["django.contrib.messages"],
    USE_TZ=True,
)
django.setup()

from django.contrib.messages.storage.base import Message  # noqa: E402
from django.contrib.messages.storage.cookie import CookieStorage  # noqa: E402
from django.contrib.messages.storage.session import SessionStorage  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.utils.safestring import SafeData, mark_safe  # noqa: E402


def to_item(d):
    if "raw" in d:
        return d["raw"]
    text = d["message"]
    if d.get("is_safe"):
        text = mark_safe(text)
    return Message(d["level"], text, extra_tags=d.get("extra_tags"))


def describe(item):
    if isinstance(item, Message):
        return {
            "level": item.level,
            "message": str(item.message),
            "extra_tags": item.extra_tags,
            "is_safe": isinstance(item.message, SafeData),
        }
    return {"raw": plain(item)}


def plain(value):
    if isinstance(value, Message):
        return {"message_object": describe(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def configure(case):
    settings.SECRET_KEY = case["secret"]
    settings.SECRET_KEY_FALLBACKS = list(case.get("fallbacks", []))
    s = case.get("settings") or {}
    settings.SESSION_COOKIE_DOMAIN = s.get("domain")
    settings.SESSION_COOKIE_SECURE = s.get("secure", False)
    settings.SESSION_COOKIE_HTTPONLY = s.get("httponly", True)
    settings.SESSION_COOKIE_SAMESITE = s.get("samesite", "Lax")


def run_encode(case):
    msgs = [to_item(d) for d in case["messages"]]
    for m in msgs:
        if isinstance(m, Message):
            m._prepare()
    with mock.patch("time.time", return_value=float(case["timestamp"])):
        storage = CookieStorage(HttpRequest())
        response = HttpResponse()
        unstored = storage._store(list(msgs), response, remove_oldest=case["remove_oldest"])
    morsel = response.cookies[CookieStorage.cookie_name]
    deletion = morsel["max-age"] == 0
    n, k = len(msgs), len(unstored)
    # _store returns messages[:idx] (remove_oldest) or messages[idx:].
    indices = list(range(k)) if case["remove_oldest"] else list(range(n - k, n))
    assert [id(m) for m in unstored] == [id(msgs[i]) for i in indices]
    return {
        "value": None if deletion else morsel.value,
        "set_cookie": morsel.OutputString(),
        "unstored_indices": indices,
    }


def run_decode(case):
    request = HttpRequest()
    request.COOKIES = {CookieStorage.cookie_name: case["value"]}
    storage = CookieStorage(request)
    try:
        msgs, all_retrieved = storage._get()
    except Exception as e:  # Django lets some errors escape (SPEC)
        return {"result": "exception", "exception": type(e).__name__}
    if msgs is None:
        return {"result": "invalid" if storage.used else "absent"}
    if not isinstance(msgs, list):
        return {"result": "ok", "non_list": plain(msgs), "all_retrieved": all_retrieved}
    return {
        "result": "ok",
        "messages": [describe(m) for m in msgs],
        "all_retrieved": all_retrieved,
    }


def session_storage():
    request = HttpRequest()
    request.session = {}
    return SessionStorage(request)


def run_session_encode(case):
    msgs = [to_item(d) for d in case["messages"]]
    return {"value": session_storage().serialize_messages(msgs)}


def run_session_decode(case):
    try:
        msgs = session_storage().deserialize_messages(case["value"])
    except Exception as e:
        return {"result": "exception", "exception": type(e).__name__}
    return {"result": "ok", "messages": [describe(m) for m in msgs]}


class RawBytes:
    """A serializer that hands sign_object the payload bytes as they are."""

    def dumps(self, obj):
        return obj


def run_sign_payload(case):
    with mock.patch("time.time", return_value=float(case["timestamp"])):
        signer = CookieStorage(HttpRequest()).signer
        value = signer.sign_object(
            bytes.fromhex(case["payload_hex"]), serializer=RawBytes, compress=True
        )
    return {"value": value}


def run_b64_decode(case):
    from django.core import signing

    try:
        return {"hex": signing.b64_decode(case["value"].encode()).hex()}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


RUNNERS = {
    "sign_payload": run_sign_payload,
    "b64_decode": run_b64_decode,
    "encode": run_encode,
    "decode": run_decode,
    "session_encode": run_session_encode,
    "session_decode": run_session_decode,
}


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    results = []
    for case in request["cases"]:
        configure(case)
        results.append(RUNNERS[case["op"]](case))
    json.dump(
        {
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
