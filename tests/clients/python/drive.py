"""The client experience in Python: the client openapi-python-client generates from
docs/openapi.yaml, driven through every operation against a running server, using nothing but
the generated API. Each step prints one line; a failed check exits non-zero naming it.

Run by scripts/test-clients, which generates the package into target/clients/python, puts it
on PYTHONPATH and sets TOKENS_API_URL (the server) and TOKENS_TOKEN (an admin token of tenant `dev`).
"""

import datetime
import os
import sys
import uuid

from api_tokens_client import AuthenticatedClient
from api_tokens_client.api.tokens import (
    create_token,
    delete_token,
    get_self,
    get_token,
    list_tokens,
    revoke_token,
    rotate_token,
    update_token,
)
from api_tokens_client.models import (
    CreatedToken,
    CreateToken,
    ListTokensOrder,
    ListTokensSort,
    Metadata,
    Problem,
    Quota,
    QuotaPeriod,
    RateLimit,
    Revoke,
    Rotate,
    Status,
    Token,
    TokenList,
    UpdateToken,
)

API = os.environ["TOKENS_API_URL"]
admin = AuthenticatedClient(base_url=API, token=os.environ["TOKENS_TOKEN"])
run = f"py-{uuid.uuid4().hex[:8]}"  # this run's tokens, apart from any other run's
owner = f"{run}-alice"
now = datetime.datetime.now(datetime.UTC)


def check(condition, what):
    if not condition:
        sys.exit(f"python: FAILED: {what}")


def step(line):
    print(f"python: ok  {line}")


def answer(response, status, model):
    """The parsed body of `response`, which must have `status` and parse as `model`."""
    check(
        response.status_code == status and isinstance(response.parsed, model),
        f"expected {status} {model.__name__}, got {response.status_code} {response.content[:300]!r}",
    )
    return response.parsed


def problem(response, status, type_):
    """The problem+json of an error `response`, parsed by the generated error model."""
    p = answer(response, status, Problem)
    check(p.status == status and p.type_ == type_, f"problem {p.status} {p.type_}, want {status} {type_}")
    check(bool(p.title) and bool(p.detail), f"problem without title or detail: {p}")
    return p


def meta(**pairs):
    return Metadata.from_dict(pairs)


def listed(**query):
    return answer(list_tokens.sync_detailed(client=admin, **query), 200, TokenList)


# 1. Create with every field of the body (expires_at here, expires_in_days below).
body = CreateToken(
    name=f"{run} deploy bot",
    description="deploys the web app",
    scopes=["tokens:read", "tokens:write"],
    expires_at=now + datetime.timedelta(days=30),
    user_id=owner,
    metadata=meta(team="infra", run=run),
    allowed_ips=["127.0.0.1", "2001:db8::/32"],
    rate_limit=RateLimit(limit=1000, window_seconds=60),
    quota=Quota(limit=100_000, period=QuotaPeriod.MONTH),
)
r = create_token.sync_detailed(client=admin, body=body, idempotency_key=f"{run}-create")
created = answer(r, 201, CreatedToken)
check(r.headers.get("Location") == f"/tokens/{created.id}", f"Location {r.headers.get('Location')}")
check(created.secret.startswith(created.prefix) and created.prefix.startswith("tkn_"), "secret and prefix")
check(created.user_id == owner and created.status == Status.ACTIVE, "owner and status")
check(created.allowed_ips == ["127.0.0.1/32", "2001:db8::/32"], f"allowed_ips {created.allowed_ips}")
check(created.metadata.to_dict() == {"team": "infra", "run": run}, "metadata")
check(
    (created.rate_limit.limit, created.rate_limit.window_seconds) == (1000, 60)
    and (created.quota.limit, created.quota.period) == (100_000, QuotaPeriod.MONTH)
    and created.quota_remaining == 100_000,
    f"limits {created.rate_limit} {created.quota} {created.quota_remaining}",
)
step(f"create with every field and an Idempotency-Key: 201 {created.id}, secret {created.prefix}...")

r = create_token.sync_detailed(client=admin, body=body, idempotency_key=f"{run}-create")
replayed = answer(r, 201, CreatedToken)
check(
    (replayed.id, replayed.secret) == (created.id, created.secret),
    "a replay returns the same token and secret",
)
check(r.headers.get("Idempotent-Replayed") == "true", "Idempotent-Replayed: true")
step("create again with the same Idempotency-Key: the same token and secret, Idempotent-Replayed: true")

others = []
for i, team in enumerate(["data", "infra", "data", "infra"], start=1):
    others.append(
        answer(
            create_token.sync_detailed(
                client=admin,
                body=CreateToken(
                    name=f"{run} batch {i}",
                    scopes=["tokens:read"],
                    expires_in_days=i,
                    user_id=owner,
                    metadata=meta(team=team, run=run),
                ),
            ),
            201,
            CreatedToken,
        )
    )
step(f"create {len(others)} more with expires_in_days (1..4 days)")

# 2. The secret, once: it authenticates, and no later answer carries it.
itself = AuthenticatedClient(base_url=API, token=created.secret)
me = answer(get_self.sync_detailed(client=itself), 200, Token)
check(me.id == created.id and me.last_used_ip == "127.0.0.1", f"self {me.id} used from {me.last_used_ip}")
step("GET /tokens/self with the new secret: the same token, its use recorded")

got = answer(get_token.sync_detailed(created.id, client=admin), 200, Token)
check(not hasattr(got, "secret") and "secret" not in got.additional_properties, "no secret after creation")
check(
    (got.name, got.scopes, got.expires_at) == (created.name, created.scopes, created.expires_at), "as created"
)
step("get: the token as created, without its secret")

# 3. Listing: every filter at once, then each kind of filter and order.
page = listed(
    status=[Status.ACTIVE],
    include_revoked=False,
    user_id=owner,
    name=run,
    scope="tokens:write",
    metadata=[f"run={run}", "team=infra"],
    created_after=created.created_at - datetime.timedelta(seconds=1),
    created_before=now + datetime.timedelta(hours=1),
    expires_after=now + datetime.timedelta(days=29),
    expires_before=now + datetime.timedelta(days=31),
    last_used_after=created.created_at,
    last_used_before=now + datetime.timedelta(hours=1),
    sort=ListTokensSort.CREATED_AT,
    order=ListTokensOrder.DESC,
    limit=10,
    include_total_count=True,
    limited=True,
)
check(
    [t.id for t in page.items] == [created.id] and page.total == 1,
    f"every filter: {page.items} total {page.total}",
)
step(
    "list with every filter (status, include_revoked=false, user_id, name, scope, metadata, "
    "created/expires/last_used ranges, limited), sort, order, limit, total: exactly the token"
)

page = listed(metadata=[f"run={run}", "team=data"], user_id=owner)
check({t.id for t in page.items} == {others[0].id, others[2].id}, "metadata=run=..&metadata=team=data")
page = listed(token_ids=[others[1].id, others[3].id])
check({t.id for t in page.items} == {others[1].id, others[3].id}, "token_ids")
page = listed(
    status=[Status.ACTIVE, Status.EXPIRED],
    name=run,
    sort=ListTokensSort.EXPIRES_AT,
    order=ListTokensOrder.ASC,
)
check([t.id for t in page.items] == [t.id for t in others] + [created.id], "sort=expires_at&order=asc")
step("list by repeated metadata pairs, by token_ids, by two statuses sorted by expiry")

def by_name(cursor):
    """A page of the owner's tokens by name, 2 a page, with the total."""
    return listed(
        user_id=owner,
        sort=ListTokensSort.NAME,
        order=ListTokensOrder.ASC,
        limit=2,
        include_total_count=True,
        **({"cursor": cursor} if cursor else {}),
    )


pages, cursor = [], None
while True:
    page = by_name(cursor)
    check(page.total == 5 and page.has_prev == bool(pages), f"page {len(pages)}: total {page.total}")
    pages.append([t.name for t in page.items])
    if not page.next_cursor:
        break
    cursor = page.next_cursor
names = [name for p in pages for name in p]
check(names == sorted(t.name for t in [created, *others]) and len(pages) == 3, f"forward: {pages}")
back = [pages[-1]]
while page.prev_cursor:
    page = by_name(page.prev_cursor)
    back.append([t.name for t in page.items])
check(back == pages[::-1], f"backward: {back}")
step("page by name, 2 a page: forward with next_cursor, back with prev_cursor, total 5")

# 4. Change it: patch, rotate (idempotently), revoke, delete.
patched = answer(
    update_token.sync_detailed(
        created.id,
        client=admin,
        body=UpdateToken(
            name=f"{run} deploy bot (eu)",
            description=None,
            metadata=meta(team="infra", run=run, region="eu"),
        ),
    ),
    200,
    Token,
)
check(
    patched.name.endswith("(eu)") and patched.description is None and patched.metadata["region"] == "eu",
    "patched",
)
step("patch (application/json): renamed, description removed, metadata replaced")

rotate = Rotate(grace_period_seconds=60)
rotated = answer(
    rotate_token.sync_detailed(created.id, client=admin, body=rotate, idempotency_key=f"{run}-rotate"),
    201,
    CreatedToken,
)
check(rotated.rotated_from == created.id and rotated.secret != created.secret, "a new token and secret")
again = rotate_token.sync_detailed(created.id, client=admin, body=rotate, idempotency_key=f"{run}-rotate")
check(
    answer(again, 201, CreatedToken).secret == rotated.secret
    and again.headers.get("Idempotent-Replayed") == "true",
    "a repeated rotation returns the same new token",
)
old = answer(get_token.sync_detailed(created.id, client=admin), 200, Token)
check(
    old.rotated_to == rotated.id and old.status == Status.ACTIVE,
    "the old token works through its grace period",
)
step("rotate with an Idempotency-Key, twice: one new token, the same secret both times")

revoked = answer(
    revoke_token.sync_detailed(rotated.id, client=admin, body=Revoke(reason="laptop lost")), 200, Token
)
check(
    revoked.status == Status.REVOKED and revoked.revocation_reason == "laptop lost", "revoked with its reason"
)
step("revoke with a reason: status revoked")

r = delete_token.sync_detailed(others[0].id, client=admin)
check(r.status_code == 204, f"delete: {r.status_code}")
gone = answer(get_token.sync_detailed(others[0].id, client=admin), 200, Token)
check(gone.status == Status.REVOKED, "deleted = revoked, and kept")
page = listed(user_id=owner, status=[Status.REVOKED], include_total_count=True)
check({t.id for t in page.items} == {rotated.id, others[0].id} and page.total == 2, "status=revoked")
page = listed(user_id=owner, include_revoked=True, include_total_count=True)
check(page.total == 6, f"include_revoked=true: {page.total}")
step("delete: 204, then read and listed as revoked")

# 5. Errors, as problem+json through the generated error model.
p = problem(get_token.sync_detailed(uuid.uuid4(), client=admin), 404, "/problems/token-not-found")
step(f"404 {p.type_}: {p.title}")
p = problem(
    create_token.sync_detailed(
        client=admin, body=CreateToken(name=run, scopes=["tokens:read", "tokens:nope"])
    ),
    422,
    "/problems/validation-error",
)
check(
    [(e.loc, e.type_) for e in p.errors] == [(["body", "scopes", 1], "unknown_scope")],
    f"field errors {p.errors}",
)
step(f"422 {p.type_}: {p.errors[0].loc} {p.errors[0].type_}")
stranger = AuthenticatedClient(base_url=API, token="tkn_" + "0" * 55)
p = problem(list_tokens.sync_detailed(client=stranger), 401, "/problems/unauthorized")
step(f"401 {p.type_}: {p.detail}")
