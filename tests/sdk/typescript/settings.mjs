// The official Cloudflare TypeScript SDK, unchanged, against a running server: every method of
// client.emailSecurity.settings.*, with the values it returns checked.
//
//   node settings.mjs <server url> <account id> <token> <plan file>
//   (or EMAIL_SECURITY_BASE_URL, EMAIL_SECURITY_ACCOUNT_ID, EMAIL_SECURITY_TOKEN,
//   EMAIL_SECURITY_SDK_PLAN)
//
// The plan holds each group's data, built from the server's test cases so that it follows the
// server's declarations; in the checkout's root:
//   .venv/bin/python -m tests.sdk.test_typescript_sdk > plan.json
//
// The server url may end in /client/v4 or not. On success a JSON summary goes to stdout; on
// any failure a message goes to stderr and the exit status is 1.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import process from 'node:process';

import Cloudflare from 'cloudflare';
import { APIResource } from 'cloudflare/core/resource';
import { VERSION } from 'cloudflare/version';

const [baseArg, accountArg, tokenArg, planArg] = process.argv.slice(2);
const server = baseArg ?? process.env.EMAIL_SECURITY_BASE_URL;
const account_id = accountArg ?? process.env.EMAIL_SECURITY_ACCOUNT_ID;
const token = tokenArg ?? process.env.EMAIL_SECURITY_TOKEN;
const planPath = planArg ?? process.env.EMAIL_SECURITY_SDK_PLAN;
if (!server || !account_id || !token || !planPath) {
  process.stderr.write('usage: node settings.mjs <server url> <account id> <token> <plan file>\n');
  process.exit(2);
}
const baseURL = server.replace(/\/+$/, '').replace(/(\/client\/v4)?$/, '/client/v4');

/*
 * Per group (camelCase, as the SDK names it), from group_plan in ../test_typescript_sdk.py:
 *   seeds      create bodies; entries made from seeds[n] sort by `order` in the order of n
 *   change     a PATCH that changes what seeds[0] holds
 *   put, post  {n, body}: a batch put and post; by `order` they come after every seed
 *   order      the main sort, a field of the bodies
 *   filter     {query, bodies}: list(query) selects the entries made from bodies, no others
 *   batch      the operations the server's batch takes
 */
const plans = JSON.parse(readFileSync(planPath, 'utf8'));

// Every request the SDK makes, so pagination can be checked page by page and a failure can
// name the request that caused it.
const requests = [];
async function recordingFetch(url, init) {
  const request = { method: init?.method ?? 'GET', url: String(url), status: null };
  requests.push(request);
  const response = await fetch(url, init);
  request.status = response.status;
  return response;
}

const client = new Cloudflare({
  baseURL,
  apiToken: token,
  // Explicit nulls: CLOUDFLARE_* variables in the environment must not add other credentials.
  apiKey: null,
  apiEmail: null,
  userServiceKey: null,
  maxRetries: 0,
  timeout: 30_000,
  fetch: recordingFetch,
});

// --- What the SDK offers -------------------------------------------------------------------

/** Public methods a resource has: its own and inherited ones, up to APIResource. */
function methodsOf(resource) {
  const names = new Set();
  for (
    let proto = Object.getPrototypeOf(resource);
    proto && proto !== APIResource.prototype && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name === 'constructor' || name.startsWith('_') || name.startsWith('#')) continue;
      if (typeof descriptor.value !== 'function') continue;
      names.add(name);
    }
  }
  return [...names].sort();
}

/** The settings groups: the APIResource instances hanging off client.emailSecurity.settings. */
function sdkGroups(settings) {
  const groups = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value instanceof APIResource) groups[name] = methodsOf(value);
  }
  return groups;
}

// --- Helpers -------------------------------------------------------------------------------

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);
const ids = (entries) => entries.map((entry) => entry.id);
const PER_PAGE = 5;
const MANY = 12; // entries the list step pages through: more than two pages of PER_PAGE

async function collect(list) {
  const items = [];
  for await (const item of list) items.push(item);
  return items;
}

function assertTimestamps(entry) {
  for (const field of ['created_at', 'modified_at']) {
    assert.equal(typeof entry[field], 'string', `${field} is a string`);
    assert.ok(!Number.isNaN(Date.parse(entry[field])), `${field} parses: ${entry[field]}`);
  }
}

/** The entry holds every field of `expected`, with its value. */
function assertIncludes(entry, expected, what) {
  for (const [field, value] of Object.entries(expected)) {
    assert.deepEqual(entry[field], value, `${field} of ${what}`);
  }
}

function assertNewEntry(entry, expected) {
  assert.equal(typeof entry.id, 'string');
  assert.ok(entry.id.length > 0);
  assertTimestamps(entry);
  assertIncludes(entry, expected, 'the new entry');
}

/**
 * Auto-pagination with `for await`: the first page's result_info, every entry exactly once,
 * and the requests the SDK made (page 1 implied, then 2, 3, ... up to the first empty page).
 */
async function paginate(api, params, expectedCount) {
  const first = await api.list({ account_id, ...params, per_page: PER_PAGE });
  assert.equal(first.result.length, Math.min(PER_PAGE, expectedCount));
  assert.deepEqual(
    pick(first.result_info, ['count', 'page', 'per_page', 'total_count']),
    {
      count: Math.min(PER_PAGE, expectedCount),
      page: 1,
      per_page: PER_PAGE,
      total_count: expectedCount,
    },
    'result_info of the first page',
  );
  const start = requests.length;
  const items = await collect(api.list({ account_id, ...params, per_page: PER_PAGE }));
  const sent = requests.slice(start).map((request) => new URL(request.url).searchParams);
  const pages = Math.ceil(expectedCount / PER_PAGE) + 1; // the last one comes back empty
  assert.deepEqual(
    sent.map((query) => query.get('page')),
    [null, ...range(pages - 1).map((page) => String(page + 1))],
    'pages the SDK requested',
  );
  assert.ok(sent.every((query) => query.get('per_page') === String(PER_PAGE)));
  assert.equal(items.length, expectedCount, 'entries seen across all pages');
  assert.equal(new Set(ids(items)).size, expectedCount, 'no entry seen twice');
  return items;
}

function pick(object, fields) {
  return Object.fromEntries(fields.map((field) => [field, object?.[field]]));
}

async function assertGone(api, id) {
  await assert.rejects(() => api.get(id, { account_id }), Cloudflare.NotFoundError);
}

/** A delete answers {id}, and the entry is gone afterwards. */
async function deleteAndCheck(api, id) {
  const deleted = await api.delete(id, { account_id });
  assert.deepEqual(deleted, { id });
  await assertGone(api, id);
}

// --- The steps every group shares, driven by its plan ------------------------------------
//
// ctx.main is the entry made from seeds[0]; ctx.made holds {n, id} of each entry the list
// step pages through, n placing it in the order; ctx.changed, the ids `change` went to.

async function makeEntry(api, ctx, n, body) {
  const entry = await api.create({ account_id, ...body });
  assertNewEntry(entry, body);
  ctx.made.push({ n, id: entry.id });
  return entry;
}

/**
 * The seeds after the first in one batch of posts, then one batch with each operation the
 * server's batch takes: delete the last seed, patch the second with `change`, replace the
 * first with `put`, post `post`. Every result holds what was sent.
 */
async function batchStep(api, ctx, plan) {
  // The server requires each list it takes, empty or not.
  const lists = (given) => Object.fromEntries(plan.batch.map((op) => [op, given[op] ?? []]));
  const bodies = plan.seeds.slice(1);
  const first = await api.batch({ account_id, ...lists({ posts: bodies }) });
  assert.deepEqual({ ...first, posts: [] }, lists({}), 'only posts in the first batch');
  assert.equal(first.posts.length, bodies.length);
  first.posts.forEach((entry, i) => assertNewEntry(entry, bodies[i]));
  ctx.made.push(...first.posts.map((entry, i) => ({ n: i + 1, id: entry.id })));
  ctx.seeded = true;

  const [replaced, patched] = first.posts;
  const dropped = first.posts.at(-1);
  const sent = {
    deletes: [{ id: dropped.id }],
    patches: [{ id: patched.id, ...plan.change }],
    puts: [{ id: replaced.id, ...plan.put.body }],
    posts: [plan.post.body],
  };
  const second = await api.batch({ account_id, ...lists(sent) });
  // Past the result checks, what each operation means for the list step.
  const applied = {
    deletes: async () => {
      assert.deepEqual(second.deletes, sent.deletes);
      await assertGone(api, dropped.id);
      ctx.made = ctx.made.filter((entry) => entry.id !== dropped.id);
    },
    patches: () => {
      assertIncludes(second.patches[0], { ...bodies[1], ...plan.change }, 'the patched entry');
      ctx.changed.push(patched.id);
    },
    puts: () => {
      // A put that leaves out the sorted field (a domain's name) keeps the entry's place.
      if (plan.order in plan.put.body) ctx.made.find(({ id }) => id === replaced.id).n = plan.put.n;
    },
    posts: () => {
      assertNewEntry(second.posts[0], plan.post.body);
      ctx.made.push({ n: plan.post.n, id: second.posts[0].id });
    },
  };
  for (const op of plan.batch) {
    assert.equal(second[op].length, 1, `${op} in the second batch`);
    assertIncludes(second[op][0], sent[op][0], `the ${op} result`);
    await applied[op]();
  }
}

/**
 * Auto-pagination over MANY entries by the plan's order, which must be the order of their n;
 * then the filter, which selects exactly the entries made from its bodies.
 */
async function listStep(api, ctx, plan) {
  if (!ctx.seeded) {
    // No batch step made the other seeds.
    for (const [n, body] of plan.seeds.entries()) if (n > 0) await makeEntry(api, ctx, n, body);
  }
  assert.equal(ctx.made.length, MANY, 'entries to list');
  ctx.listed = await paginate(api, { order: plan.order }, MANY);
  const byN = [...ctx.made].sort((a, b) => a.n - b.n);
  assert.deepEqual(ids(ctx.listed), ids(byN), `order=${plan.order} across pages`);
  if (!plan.filter) return;
  const selected = [];
  for (const body of plan.filter.bodies) {
    selected.push((await api.create({ account_id, ...body })).id);
  }
  const found = await collect(api.list({ account_id, ...plan.filter.query }));
  assert.deepEqual(ids(found), selected, `list(${JSON.stringify(plan.filter.query)})`);
}

// In the order they run; a group's own methods run just before the delete (see stepsOf).
const sharedSteps = {
  async create(api, ctx, plan) {
    ctx.made = [];
    ctx.changed = [];
    ctx.main = ctx.created = await makeEntry(api, ctx, 0, plan.seeds[0]);
  },
  async get(api, ctx) {
    assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
  },
  async edit(api, ctx, plan) {
    const edited = await api.edit(ctx.main.id, { account_id, ...plan.change });
    // The change comes back, and the rest of the body as it was.
    assertIncludes(edited, { ...plan.seeds[0], ...plan.change, id: ctx.main.id }, 'the edit');
    ctx.main = edited;
    ctx.changed.push(edited.id);
  },
  batch: batchStep,
  list: listStep,
  async delete(api, ctx) {
    await deleteAndCheck(api, ctx.main.id);
  },
};

// --- What only some groups have: a check run after the shared step of the same name, or a
// step of its own for a method the shared steps do not cover -------------------------------

const particular = {
  allowPolicies: {
    async create(api, ctx) {
      assert.equal(ctx.main.is_sender, ctx.main.is_trusted_sender, 'deprecated alias is_sender');
    },
    async list(api, ctx, plan) {
      // search looks in the comments too, whatever the case.
      const search = plan.change.comments.toUpperCase();
      assert.deepEqual(ids(await collect(api.list({ account_id, search }))), ctx.changed);
    },
  },

  domains: {
    async create(api, ctx) {
      assert.equal(ctx.main.status, 'ACTIVE');
    },
    async list(api, ctx) {
      // An array query parameter: the SDK repeats the key.
      const domain = ctx.listed.slice(3, 5).map((entry) => entry.domain);
      const picked = await collect(api.list({ account_id, domain, order: 'domain' }));
      assert.deepEqual(picked.map((entry) => entry.domain), domain);
    },
    async update(api, ctx, plan) {
      // PUT replaces the whole entry: what it leaves out (here the edit's change) is reset.
      const changed = Object.keys(plan.change);
      assert.notDeepEqual(pick(ctx.main, changed), pick(ctx.created, changed));
      const replaced = await api.update(ctx.main.id, { account_id, ...plan.put.body });
      const kept = pick(ctx.created, ['id', 'domain', ...changed]);
      assertIncludes(replaced, { ...plan.put.body, ...kept }, 'the replaced entry');
      ctx.main = replaced;
    },
    async bulkDelete(api, ctx) {
      const { id } = ctx.made.find((entry) => entry.id !== ctx.main.id);
      // The SDK sends no body, and the endpoint needs the list of ids in it.
      await assert.rejects(
        () => collect(api.bulkDelete({ account_id })),
        Cloudflare.BadRequestError,
      );
      await api.get(id, { account_id }); // still there
      // The ids go in as a request option; the SDK sends them as the JSON body.
      assert.deepEqual(await collect(api.bulkDelete({ account_id }, { body: [{ id }] })), [{ id }]);
      await assertGone(api, id);
    },
  },

  impersonationRegistry: {
    async create(api, ctx) {
      assert.equal(ctx.main.provenance, 'A1S_INTERNAL', 'provenance of an entry the API made');
    },
  },

  trustedDomains: {
    async create(api, ctx, plan) {
      const entry = await api.create({ account_id, ...plan.seeds[0], pattern: 'Partner.Example' });
      assert.equal(entry.pattern, 'partner.example', 'a domain is stored in lower case');
      await deleteAndCheck(api, entry.id); // the list step counts the entries
    },
  },
};

/**
 * A group's steps in order: the shared ones (batch where the SDK group has it), each followed
 * by the group's own check of that method, and the group's own methods before the delete.
 */
function stepsOf(group, methods) {
  const own = particular[group] ?? {};
  const shared = Object.keys(sharedSteps).filter(
    (method) => method !== 'batch' || methods.includes('batch'),
  );
  const extra = Object.keys(own).filter((method) => !shared.includes(method));
  const order = [...shared.filter((method) => method !== 'delete'), ...extra, 'delete'];
  return order.map((method) => [
    method,
    async (api, ctx, plan) => {
      await sharedSteps[method]?.(api, ctx, plan);
      await own[method]?.(api, ctx, plan);
    },
  ]);
}

// --- Running -------------------------------------------------------------------------------

/** Every SDK method has a step and every step names an SDK method; else, what is off. */
function coverageProblems(offered, scenarios) {
  const problems = [];
  for (const group of Object.keys(particular)) {
    if (!plans[group]) problems.push(`steps of its own for ${group}, which has no plan`);
  }
  for (const group of new Set([...Object.keys(offered), ...Object.keys(scenarios)])) {
    const methods = offered[group];
    const steps = (scenarios[group] ?? []).map(([method]) => method);
    if (!methods) {
      problems.push(`scenario for ${group}, which the SDK does not have`);
      continue;
    }
    if (!scenarios[group]) {
      problems.push(`no plan for the SDK group ${group} (${methods.join(', ')})`);
      continue;
    }
    for (const method of methods) {
      if (!steps.includes(method)) problems.push(`no scenario for ${group}.${method}`);
    }
    for (const method of steps) {
      if (!methods.includes(method)) {
        problems.push(`scenario for ${group}.${method}, not an SDK method`);
      }
    }
    const duplicates = steps.filter((method, i) => steps.indexOf(method) !== i);
    for (const method of new Set(duplicates)) problems.push(`two scenarios for ${group}.${method}`);
  }
  return problems;
}

/** The resource, with calls to its methods noted, so a step is known to call its method. */
function recording(resource, methods, called) {
  return new Proxy(resource, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !methods.includes(property)) return value;
      return (...args) => {
        called.add(property);
        return value.apply(target, args);
      };
    },
  });
}

function describe(error) {
  if (error instanceof Cloudflare.APIError) {
    const body = JSON.stringify(error.error ?? error.message);
    return `${error.constructor.name} ${error.status}: ${body}`;
  }
  return error?.stack ?? String(error);
}

async function main() {
  const settings = client.emailSecurity.settings;
  const offered = sdkGroups(settings);
  const scenarios = Object.fromEntries(
    Object.keys(plans).map((group) => [group, stepsOf(group, offered[group] ?? [])]),
  );
  const problems = coverageProblems(offered, scenarios);
  if (problems.length) {
    throw new Error(`scenarios do not match the SDK:\n  ${problems.join('\n  ')}`);
  }

  const exercised = {};
  for (const [group, steps] of Object.entries(scenarios)) {
    const called = new Set();
    const api = recording(settings[group], offered[group], called);
    const ctx = {};
    exercised[group] = [];
    for (const [method, step] of steps) {
      const before = requests.length;
      try {
        called.delete(method);
        await step(api, ctx, plans[group]);
        assert.ok(called.has(method), `the scenario did not call ${method}`);
      } catch (error) {
        const last = requests.slice(before).at(-1);
        const where = last ? `\n  last request: ${last.method} ${last.url} -> ${last.status}` : '';
        throw new Error(`${group}.${method}: ${describe(error)}${where}`, { cause: error });
      }
      exercised[group].push(method);
    }
  }
  const methods = Object.values(exercised).reduce((sum, list) => sum + list.length, 0);
  return { sdk: `cloudflare ${VERSION}`, groups: exercised, methods, requests: requests.length };
}

try {
  const summary = await main();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  process.stderr.write(`FAILED ${error.message}\n`);
  process.exitCode = 1;
}
