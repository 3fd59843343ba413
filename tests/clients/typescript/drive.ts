// The client experience in TypeScript: types that openapi-typescript generates from
// docs/openapi.yaml and openapi-fetch's typed fetch, driven through every operation against a
// running server, using nothing but the generated types and openapi-fetch. Each step prints one
// line; a failed check exits non-zero naming it.
//
// Run by scripts/test-clients, which generates the types (imported as "api-tokens-client",
// see tsconfig.json), type-checks and compiles this file, and sets TOKENS_API_URL (the server) and
// TOKENS_TOKEN (an admin token of tenant `dev`).
import createClient from "openapi-fetch";
import type { components, paths } from "api-tokens-client";

type Token = components["schemas"]["Token"];
type CreatedToken = components["schemas"]["CreatedToken"];
type Problem = components["schemas"]["Problem"];
type ListQuery = NonNullable<paths["/tokens"]["get"]["parameters"]["query"]>;

const API = process.env.TOKENS_API_URL!;
const client = (secret: string) =>
  createClient<paths>({ baseUrl: API, headers: { Authorization: `Bearer ${secret}` } });
const admin = client(process.env.TOKENS_TOKEN!);
const run = `ts-${crypto.randomUUID().slice(0, 8)}`; // this run's tokens, apart from any other run's
const owner = `${run}-alice`;
const now = Date.now();
const at = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    console.error(`typescript: FAILED: ${what}`);
    process.exit(1);
  }
}

function step(line: string) {
  console.log(`typescript: ok  ${line}`);
}

/** The body of a success `status`; anything else fails naming what came instead. */
function answer<T>(r: { data?: T; error?: unknown; response: Response }, status: number): T {
  check(r.response.status === status && r.data !== undefined,
    `expected ${status}, got ${r.response.status} ${JSON.stringify(r.error ?? r.data)}`);
  return r.data;
}

/** The problem+json of an error answer, typed by the generated error model. */
function problem(r: { error?: Problem; response: Response }, status: number, type: string): Problem {
  const p = r.error;
  check(r.response.status === status && p !== undefined,
    `expected a ${status} problem, got ${r.response.status}`);
  check(r.response.headers.get("Content-Type") === "application/problem+json", "problem+json");
  check(p.status === status && p.type === type, `problem ${p.status} ${p.type}, want ${status} ${type}`);
  check(p.title.length > 0 && p.detail.length > 0, `problem without title or detail: ${JSON.stringify(p)}`);
  return p;
}

async function listed(query: ListQuery) {
  return answer(await admin.GET("/tokens", { params: { query } }), 200);
}

const ids = (tokens: Token[]) => tokens.map((t) => t.id).sort().join(",");

// 1. Create with every field of the body (expires_at here, expires_in_days below).
const body: components["schemas"]["CreateToken"] = {
  name: `${run} deploy bot`,
  description: "deploys the web app",
  scopes: ["tokens:read", "tokens:write"],
  expires_at: at(now + 30 * DAY),
  user_id: owner,
  metadata: { team: "infra", run },
  allowed_ips: ["127.0.0.1", "2001:db8::/32"],
  rate_limit: { limit: 1000, window_seconds: 60 },
  quota: { limit: 100_000, period: "month" },
};
const createOnce = () =>
  admin.POST("/tokens", { params: { header: { "Idempotency-Key": `${run}-create` } }, body });
let r = await createOnce();
const created: CreatedToken = answer(r, 201);
check(r.response.headers.get("Location") === `/tokens/${created.id}`, "Location");
check(created.secret.startsWith(created.prefix) && created.prefix.startsWith("tkn_"), "secret and prefix");
check(created.user_id === owner && created.status === "active", "owner and status");
check(created.allowed_ips.join() === "127.0.0.1/32,2001:db8::/32", `allowed_ips ${created.allowed_ips}`);
check(Object.entries(created.metadata).sort().join() === `run,${run},team,infra`, "metadata");
check(created.rate_limit?.limit === 1000 && created.rate_limit.window_seconds === 60
  && created.quota?.period === "month" && created.quota_remaining === 100_000, "limits");
step(`create with every field and an Idempotency-Key: 201 ${created.id}, secret ${created.prefix}...`);

r = await createOnce();
const replayed = answer(r, 201);
check(replayed.id === created.id && replayed.secret === created.secret,
  "a replay returns the same token and secret");
check(r.response.headers.get("Idempotent-Replayed") === "true", "Idempotent-Replayed: true");
step("create again with the same Idempotency-Key: the same token and secret, Idempotent-Replayed: true");

const others: CreatedToken[] = [];
for (const [i, team] of ["data", "infra", "data", "infra"].entries()) {
  others.push(answer(await admin.POST("/tokens", {
    body: { name: `${run} batch ${i + 1}`, scopes: ["tokens:read"], expires_in_days: i + 1, user_id: owner,
            metadata: { team, run } },
  }), 201));
}
const [batch1, batch2, batch3, batch4] = others as [CreatedToken, CreatedToken, CreatedToken, CreatedToken];
step(`create ${others.length} more with expires_in_days (1..4 days)`);

// 2. The secret, once: it authenticates, and no later answer carries it.
const me = answer(await client(created.secret).GET("/tokens/self"), 200);
check(me.id === created.id && me.last_used_ip === "127.0.0.1", `self ${me.id} used from ${me.last_used_ip}`);
step("GET /tokens/self with the new secret: the same token, its use recorded");

const got = answer(await admin.GET("/tokens/{id}", { params: { path: { id: created.id } } }), 200);
check(!("secret" in got), "no secret after creation");
check(got.name === created.name && got.expires_at === created.expires_at, "as created");
step("get: the token as created, without its secret");

// 3. Listing: every filter at once, then each kind of filter and order.
let page = await listed({
  status: ["active"], include_revoked: false, user_id: owner, name: run, scope: "tokens:write",
  metadata: [`run=${run}`, "team=infra"],
  created_after: at(Date.parse(created.created_at) - 1000), created_before: at(now + 3_600_000),
  expires_after: at(now + 29 * DAY), expires_before: at(now + 31 * DAY),
  last_used_after: created.created_at, last_used_before: at(now + 3_600_000),
  sort: "created_at", order: "desc", limit: 10, include_total_count: true, limited: true,
});
check(ids(page.items) === created.id && page.total === 1,
  `every filter: ${ids(page.items)} total ${page.total}`);
step("list with every filter (status, include_revoked=false, user_id, name, scope, metadata, " +
     "created/expires/last_used ranges, limited), sort, order, limit, total: exactly the token");

page = await listed({ metadata: [`run=${run}`, "team=data"], user_id: owner });
check(ids(page.items) === ids([batch1, batch3]), "metadata=run=..&metadata=team=data");
page = await listed({ token_ids: [batch2.id, batch4.id] });
check(ids(page.items) === ids([batch2, batch4]), "token_ids");
page = await listed({ status: ["active", "expired"], name: run, sort: "expires_at", order: "asc" });
check(page.items.map((t) => t.id).join() === [...others, created].map((t) => t.id).join(),
  "sort=expires_at&order=asc");
step("list by repeated metadata pairs, by token_ids, by two statuses sorted by expiry");

const byName: ListQuery = { user_id: owner, sort: "name", order: "asc", limit: 2, include_total_count: true };
const pages: string[][] = [];
for (let cursor: string | null = null; ;) {
  page = await listed(cursor ? { ...byName, cursor } : byName);
  check(page.total === 5 && page.has_prev === pages.length > 0, `page ${pages.length}: total ${page.total}`);
  pages.push(page.items.map((t) => t.name));
  if (!page.next_cursor) break;
  cursor = page.next_cursor;
}
const names = [created, ...others].map((t) => t.name).sort();
check(JSON.stringify(pages.flat()) === JSON.stringify(names) && pages.length === 3,
  `forward: ${JSON.stringify(pages)}`);
const back = [pages[pages.length - 1]];
while (page.prev_cursor) {
  page = await listed({ ...byName, cursor: page.prev_cursor });
  back.push(page.items.map((t) => t.name));
}
check(JSON.stringify(back) === JSON.stringify([...pages].reverse()), `backward: ${JSON.stringify(back)}`);
step("page by name, 2 a page: forward with next_cursor, back with prev_cursor, total 5");

// 4. Change it: patch, rotate (idempotently), revoke, delete.
const byId = (id: string) => ({ params: { path: { id } } });
const patched = answer(await admin.PATCH("/tokens/{id}", {
  ...byId(created.id),
  body: { name: `${run} deploy bot (eu)`, description: null, metadata: { team: "infra", run, region: "eu" } },
}), 200);
check(patched.name.endsWith("(eu)") && patched.description === null && patched.metadata.region === "eu",
  "patched");
step("patch (application/json): renamed, description removed, metadata replaced");

const rotateOnce = () => admin.POST("/tokens/{id}/rotate", {
  params: { path: { id: created.id }, header: { "Idempotency-Key": `${run}-rotate` } },
  body: { grace_period_seconds: 60 },
});
const rotated = answer(await rotateOnce(), 201);
check(rotated.rotated_from === created.id && rotated.secret !== created.secret, "a new token and secret");
const again = await rotateOnce();
check(answer(again, 201).secret === rotated.secret &&
      again.response.headers.get("Idempotent-Replayed") === "true",
  "a repeated rotation returns the same new token");
const old = answer(await admin.GET("/tokens/{id}", byId(created.id)), 200);
check(old.rotated_to === rotated.id && old.status === "active",
  "the old token works through its grace period");
step("rotate with an Idempotency-Key, twice: one new token, the same secret both times");

const revoked = answer(
  await admin.POST("/tokens/{id}/revoke", { ...byId(rotated.id), body: { reason: "laptop lost" } }), 200);
check(revoked.status === "revoked" && revoked.revocation_reason === "laptop lost", "revoked with its reason");
step("revoke with a reason: status revoked");

const deleted = await admin.DELETE("/tokens/{id}", byId(batch1.id));
check(deleted.response.status === 204, `delete: ${deleted.response.status}`);
const gone = answer(await admin.GET("/tokens/{id}", byId(batch1.id)), 200);
check(gone.status === "revoked", "deleted = revoked, and kept");
page = await listed({ user_id: owner, status: ["revoked"], include_total_count: true });
check(ids(page.items) === ids([rotated, batch1]) && page.total === 2, "status=revoked");
page = await listed({ user_id: owner, include_revoked: true, include_total_count: true });
check(page.total === 6, `include_revoked=true: ${page.total}`);
step("delete: 204, then read and listed as revoked");

// 5. Errors, as problem+json through the generated error model.
let p = problem(await admin.GET("/tokens/{id}", byId(crypto.randomUUID())), 404, "/problems/token-not-found");
step(`404 ${p.type}: ${p.title}`);
p = problem(await admin.POST("/tokens", { body: { name: run, scopes: ["tokens:read", "tokens:nope"] } }),
  422, "/problems/validation-error");
const [fieldError] = p.errors ?? [];
check(p.errors?.length === 1 && JSON.stringify(fieldError?.loc) === '["body","scopes",1]' &&
      fieldError?.type === "unknown_scope", `field errors ${JSON.stringify(p.errors)}`);
step(`422 ${p.type}: ${JSON.stringify(fieldError.loc)} ${fieldError.type}`);
p = problem(await client(`tkn_${"0".repeat(55)}`).GET("/tokens"), 401, "/problems/unauthorized");
step(`401 ${p.type}: ${p.detail}`);
