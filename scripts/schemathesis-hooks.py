"""schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).

Authentication: schemathesis calls every route, revocations included, so the token it uses
ends up revoking itself. It therefore gets an ordinary user token (user `fuzz`, tokens:read
and tokens:write) minted with the dev server's admin token, which it never sees: a user lists
and reads only its own tokens, so schemathesis can never learn the admin token's id. When a
request answers 401 (its token revoked or rotated away), schemathesis drops the cached token,
fetches a new one from here and sends the request again.

Constraints JSON Schema cannot express are met before sending, so a case generated as
valid is valid (a case generated as invalid keeps what makes it invalid):
- `expires_at` must be in the future and at most 3,650 days ahead (the longest lifetime): a
  time outside that is moved to 30 days ahead (in every case; it stays a valid date-time).
- `metadata.<key>` is a template for `metadata.team`, `metadata.env`, ...: sent as
  `metadata.team`.
- Valid cases only: a `cursor` is opaque and only comes from an earlier page, so none is sent;
  `status` excludes `include_revoked`, so that is dropped; a `*_before` not later than its
  `*_after` is dropped; an `Idempotency-Key` is unique per request (reusing one for another
  request is a 422 by design), so it gets a fresh value; `scopes` must be in the deployment's
  catalog (EXTRA_SCOPES extends it, so the schema cannot list it), so other ones are dropped.
"""

import datetime
import json
import os
import urllib.request
import uuid

import schemathesis

BASE_URL = os.environ["SCHEMATHESIS_BASE_URL"]
ADMIN_TOKEN = os.environ["SCHEMATHESIS_ADMIN_TOKEN"]
# The dev server's scope catalog (it runs without EXTRA_SCOPES).
CATALOG = ["tokens:read", "tokens:write", "tokens:admin"]


@schemathesis.auth()
class FuzzUserToken:
    """A fresh `fuzz` user token, minted by the admin token."""

    def get(self, case, context):
        body = {
            "name": "schemathesis",
            "user_id": "fuzz",
            "scopes": ["tokens:read", "tokens:write"],
        }
        request = urllib.request.Request(
            f"{BASE_URL}/tokens",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["secret"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _future(value):
    """`value` moved 30 days past now if it is an RFC 3339 time in the past or more than the
    longest lifetime (3,650 days) ahead."""
    if not isinstance(value, str):
        return value
    try:
        when = datetime.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        return value
    now = datetime.datetime.now(datetime.timezone.utc)
    if now < when <= now + datetime.timedelta(days=3649):
        return value
    later = now + datetime.timedelta(days=30)
    return later.strftime("%Y-%m-%dT%H:%M:%SZ")


def _positive(case):
    return case.meta is None or case.meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() == "POST" and isinstance(case.body, dict) and "expires_at" in case.body:
        case.body["expires_at"] = _future(case.body["expires_at"])
    query = case.query if isinstance(case.query, dict) else None
    if query is not None and "metadata.<key>" in query:
        query["metadata.team"] = query.pop("metadata.<key>")
    if not _positive(case):
        return
    if query is not None and case.method.upper() == "GET" and case.path == "/tokens":
        query.pop("cursor", None)
        if "status" in query:
            query.pop("include_revoked", None)
        for field in ("created", "expires", "last_used"):
            after, before = query.get(f"{field}_after"), query.get(f"{field}_before")
            if isinstance(after, str) and isinstance(before, str):
                try:
                    a = datetime.datetime.fromisoformat(after.replace("Z", "+00:00"))
                    b = datetime.datetime.fromisoformat(before.replace("Z", "+00:00"))
                except ValueError:
                    continue
                if b <= a:
                    query.pop(f"{field}_before")
    if case.method.upper() == "POST" and isinstance(case.body, dict):
        scopes = case.body.get("scopes")
        if isinstance(scopes, list):
            case.body["scopes"] = [s for s in CATALOG if s in scopes]
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = f"schemathesis-{uuid.uuid4()}"
