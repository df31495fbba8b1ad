"""Django's CookieStorage on herald's benchmark workloads, timed with timeit.

Rows (ns per operation, the minimum over the repeats, as timeit recommends):

* encode/N, N = 1, 10, 50, 200: CookieStorage._encode of N messages (JSON, zlib attempt,
  HMAC-SHA256 signature) -- herald's encode+sign;
* decode/N: CookieStorage._decode of the same value -- herald's verify+decode;
* truncate_keep_newest/200, truncate_keep_oldest/200: CookieStorage._store of 200
  messages into the default 2048-byte cookie with remove_oldest True / False (herald's
  texts compress so well that all 200 fit: no truncation happens); the same with
  `_random` texts (60 incompressible characters each), where Django really truncates;
* roundtrip/1: one message through a request cycle without the framework around it --
  a storage on a request, add, update() a redirect response (Set-Cookie), then a new
  request carrying that cookie value, iterate the storage into a body, update() the page
  response (the removal cookie);
* roundtrip_floor/1: the same request and response objects and the same body with no
  storage, so roundtrip - roundtrip_floor is the storage's overhead.

The texts are herald's `texts(n)`: "Message {i:03}: your profile was saved and your
changes are live." Results go to --out as JSON.
"""

import argparse
import base64
import json
import platform
import random
import sys
import time
import timeit

import django
from django.conf import settings

SECRET = "benchmark secret benchmark secret!"

settings.configure(
    SECRET_KEY=SECRET,
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.messages"],
    MESSAGE_STORAGE="django.contrib.messages.storage.cookie.CookieStorage",
)
django.setup()

from django.contrib.messages import constants  # noqa: E402
from django.contrib.messages.storage.base import Message  # noqa: E402
from django.contrib.messages.storage.cookie import CookieStorage  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect  # noqa: E402


def texts(n):
    return [f"Message {i:03}: your profile was saved and your changes are live." for i in range(n)]


def messages(n):
    return [Message(constants.SUCCESS, t) for t in texts(n)]


def random_messages(n):
    """n messages of 60 base64 characters of seeded random bytes (incompressible)."""
    return [
        Message(constants.SUCCESS, base64.b64encode(random.Random(i).randbytes(45)).decode())
        for i in range(n)
    ]


def storage():
    return CookieStorage(HttpRequest())


def time_op(fn, repeat):
    """ns per call: timeit's autorange picks the loop count, then the minimum of `repeat`."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=repeat, number=number))
    return best / number * 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="where to write the JSON results")
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    rows = {}
    notes = {}

    st = storage()
    for n in (1, 10, 50, 200):
        msgs = messages(n)
        data = st._encode(msgs)
        decoded = st._decode(data)
        assert [m.message for m in decoded] == texts(n), "decode returns the encoded texts"
        rows[f"encode/{n}"] = time_op(lambda msgs=msgs: st._encode(msgs), repeat)
        rows[f"decode/{n}"] = time_op(lambda data=data: st._decode(data), repeat)
        notes[f"encode/{n}"] = f"value {len(data)} characters"

    # With herald's texts, zlib shrinks 200 messages to well under 2048 characters, so
    # Django stores them all without truncating; the *_random rows use 60-character texts
    # that do not compress, so Django's bisection really truncates.
    for suffix, msgs in (("", messages(200)), ("_random", random_messages(200))):
        for policy, remove_oldest in (("keep_newest", True), ("keep_oldest", False)):
            name = f"truncate_{policy}{suffix}/200"
            response = HttpResponse()
            unstored = st._store(msgs, response, remove_oldest=remove_oldest)
            value = response.cookies[CookieStorage.cookie_name].value
            assert len(value) <= CookieStorage.max_cookie_size
            kept = st._decode(value)
            truncated = bool(kept) and kept[-1] == CookieStorage.not_finished
            if truncated:
                kept.pop()
            assert len(kept) + len(unstored) == 200, "kept + unstored = input"
            assert truncated == bool(unstored)
            if suffix:
                assert truncated, "random texts do not fit"
            notes[name] = (
                f"kept {len(kept)} of 200 in {len(value)} characters"
                + (" (truncated)" if truncated else " (all fit after zlib: no truncation)")
            )
            rows[name] = time_op(
                lambda msgs=msgs, response=response, remove_oldest=remove_oldest: st._store(
                    msgs, response, remove_oldest=remove_oldest
                ),
                repeat,
            )

    text = texts(1)[0]

    def roundtrip():
        request = HttpRequest()
        st1 = CookieStorage(request)
        st1.add(constants.SUCCESS, text)
        redirect = HttpResponseRedirect("/show")
        st1.update(redirect)
        request2 = HttpRequest()
        request2.COOKIES = {"messages": redirect.cookies["messages"].value}
        st2 = CookieStorage(request2)
        body = "".join(m.message + "\n" for m in st2)
        page = HttpResponse(body)
        st2.update(page)
        return redirect, page

    def roundtrip_floor():
        HttpRequest()
        redirect = HttpResponseRedirect("/show")
        request2 = HttpRequest()
        request2.COOKIES = {}
        body = "".join(t + "\n" for t in (text,))
        page = HttpResponse(body)
        return redirect, page

    redirect, page = roundtrip()
    assert page.content.decode() == text + "\n", "the message is delivered"
    removal = page.cookies["messages"]
    assert removal.value == "" and str(removal["max-age"]) == "0", "and then deleted"
    set_cookie = redirect.cookies["messages"].OutputString()
    notes["roundtrip/1"] = f"Set-Cookie {len(set_cookie)} bytes: {set_cookie}"
    rows["roundtrip/1"] = time_op(roundtrip, repeat)
    rows["roundtrip_floor/1"] = time_op(roundtrip_floor, repeat)

    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": platform.python_version(),
        "django": django.get_version(),
        "repeat": repeat,
        "unit": "ns/op",
        "rows": rows,
        "notes": notes,
        "set_cookie_1": {"header_value_bytes": len(set_cookie), "value_bytes": len(redirect.cookies["messages"].value)},
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    for k, v in rows.items():
        print(f"{k:28} {v / 1000:10.2f} us  {notes.get(k, '')}")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
