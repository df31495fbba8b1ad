#!/usr/bin/env python3
"""Render templates with real Django's template engine and messages context processor,
for herald's template-context check (tests/templates.rs).

Reads one JSON document on standard input:

    {"tags": {"35": "notice", ...}, "templates": [str, ...],
     "messages": [{"level": int, "message": str, "extra_tags": str|null, "is_safe": bool}]}

and writes {"django_version": str, "rendered": [str, ...]}: each template rendered by
the DjangoTemplates backend with the context processor
django.contrib.messages.context_processors.messages, for a request whose message storage
(CookieStorage) holds the messages, added in order with storage.add(); a safe message's
text is mark_safe()d. "tags" is the MESSAGE_TAGS setting.
"""

import json
import sys

import django
from django.conf import settings

doc = json.load(sys.stdin)

settings.configure(
    DEBUG=False,
    SECRET_KEY="django-render-helper-not-secret",
    INSTALLED_APPS=["django.contrib.messages"],
    MESSAGE_TAGS={int(k): v for k, v in doc.get("tags", {}).items()},
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "context_processors": [
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        }
    ],
)
django.setup()

from django.contrib.messages.storage.cookie import CookieStorage  # noqa: E402
from django.http import HttpRequest  # noqa: E402
from django.template import engines  # noqa: E402
from django.utils.safestring import mark_safe  # noqa: E402

rendered = []
for source in doc["templates"]:
    request = HttpRequest()
    storage = CookieStorage(request)
    for m in doc["messages"]:
        text = mark_safe(m["message"]) if m.get("is_safe") else m["message"]
        storage.add(m["level"], text, m.get("extra_tags"))
    request._messages = storage
    template = engines["django"].from_string(source)
    rendered.append(template.render({}, request))

json.dump({"django_version": django.get_version(), "rendered": rendered}, sys.stdout)
