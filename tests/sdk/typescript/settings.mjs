// The official Cloudflare TypeScript SDK, unchanged, against a running server: every method of
// client.emailSecurity.settings.*, with the values it returns checked.
//
//   node settings.mjs <server url> <account id> <token>
//   (or EMAIL_SECURITY_BASE_URL, EMAIL_SECURITY_ACCOUNT_ID, EMAIL_SECURITY_TOKEN)
//
// The server url may end in /client/v4 or not. On success a JSON summary goes to stdout; on
// any failure a message goes to stderr and the exit status is 1.

import assert from 'node:assert/strict';
import process from 'node:process';

import Cloudflare from 'cloudflare';
import { APIResource } from 'cloudflare/core/resource';
import { VERSION } from 'cloudflare/version';

const [baseArg, accountArg, tokenArg] = process.argv.slice(2);
const server = baseArg ?? process.env.EMAIL_SECURITY_BASE_URL;
const account_id = accountArg ?? process.env.EMAIL_SECURITY_ACCOUNT_ID;
const token = tokenArg ?? process.env.EMAIL_SECURITY_TOKEN;
if (!server || !account_id || !token) {
  process.stderr.write('usage: node settings.mjs <server url> <account id> <token>\n');
  process.exit(2);
}
const baseURL = server.replace(/\/+$/, '').replace(/(\/client\/v4)?$/, '/client/v4');

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
const pad = (i) => String(i).padStart(2, '0');
const ids = (entries) => entries.map((entry) => entry.id);
const sorted = (values) => [...values].sort();
const PER_PAGE = 5;
const MANY = 12; // more than two pages of PER_PAGE

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

function assertNewEntry(entry, expected) {
  assert.equal(typeof entry.id, 'string');
  assert.ok(entry.id.length > 0);
  assertTimestamps(entry);
  for (const [field, value] of Object.entries(expected)) {
    assert.deepEqual(entry[field], value, `${field} of the new entry`);
  }
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

function omit(object, fields) {
  return Object.fromEntries(Object.entries(object).filter(([field]) => !fields.includes(field)));
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

/**
 * The batch pattern shared by the groups that have one: first 13 posts, then one request
 * using all four lists (delete the 13th, patch `main`, replace the 1st, post one more).
 * Leaves MANY entries made from `seed` (the replaced one included); their ids go in ctx.many.
 */
async function batchScenario(api, ctx, { seed, patch, put, post, checkPatched, checkPut }) {
  const seeded = range(MANY + 1).map(seed);
  const first = await api.batch({ account_id, deletes: [], patches: [], puts: [], posts: seeded });
  assert.deepEqual(
    [first.deletes, first.patches, first.puts],
    [[], [], []],
    'only posts in the first batch',
  );
  assert.equal(first.posts.length, seeded.length);
  first.posts.forEach((entry, i) => assertNewEntry(entry, seeded[i]));
  assert.equal(new Set(ids(first.posts)).size, seeded.length);

  const [replaced, ...rest] = first.posts;
  const dropped = rest.pop();
  const second = await api.batch({
    account_id,
    deletes: [{ id: dropped.id }],
    patches: [{ id: ctx.main.id, ...patch }],
    puts: [{ id: replaced.id, ...put }],
    posts: [post],
  });
  assert.deepEqual(second.deletes, [{ id: dropped.id }]);
  assert.equal(second.patches.length, 1);
  assert.equal(second.patches[0].id, ctx.main.id);
  checkPatched(second.patches[0]);
  assert.equal(second.puts.length, 1);
  assert.equal(second.puts[0].id, replaced.id);
  checkPut(second.puts[0]);
  assert.equal(second.posts.length, 1);
  assertNewEntry(second.posts[0], post);
  await assertGone(api, dropped.id);
  ctx.main = second.patches[0];
  ctx.posted = second.posts[0];
  ctx.many = [replaced.id, ...ids(rest)];
  assert.equal(ctx.many.length, MANY);
}

// --- Scenarios: one step per SDK method, in the order they run ---------------------------

const policy = (fields) => ({
  is_acceptable_sender: false,
  is_exempt_recipient: false,
  is_regex: false,
  is_trusted_sender: false,
  verify_sender: false,
  ...fields,
});

const domainBody = (domain, fields = {}) => ({
  domain,
  allowed_delivery_modes: ['DIRECT'],
  drop_dispositions: ['MALICIOUS', 'SPAM'],
  ip_restrictions: [],
  regions: ['GLOBAL'],
  ...fields,
});

const scenarios = {
  allowPolicies: [
    [
      'create',
      async (api, ctx) => {
        const body = policy({
          pattern: 'boss@partner.example',
          pattern_type: 'EMAIL',
          is_trusted_sender: true,
          verify_sender: true,
          comments: 'supplier',
        });
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
        assert.equal(ctx.main.is_sender, true, 'deprecated alias echoes is_trusted_sender');
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, {
          account_id,
          comments: 'supplier, reviewed',
          verify_sender: false,
        });
        assert.deepEqual(
          pick(edited, ['id', 'pattern', 'is_trusted_sender', 'verify_sender', 'comments']),
          {
            id: ctx.main.id,
            pattern: 'boss@partner.example',
            is_trusted_sender: true,
            verify_sender: false,
            comments: 'supplier, reviewed',
          },
        );
        ctx.main = edited;
      },
    ],
    [
      'batch',
      async (api, ctx) => {
        await batchScenario(api, ctx, {
          seed: (i) =>
            policy({ pattern: `203.0.113.${i}`, pattern_type: 'IP', is_acceptable_sender: true }),
          patch: { comments: 'patched in a batch' },
          put: policy({
            pattern: '203.0.113.100',
            pattern_type: 'IP',
            is_acceptable_sender: true,
            comments: 'replaced',
          }),
          post: policy({
            pattern: 'newsletter@partner.example',
            pattern_type: 'EMAIL',
            is_acceptable_sender: true,
          }),
          checkPatched: (entry) => {
            assert.equal(entry.comments, 'patched in a batch');
            assert.equal(entry.is_trusted_sender, true, 'a patch leaves other fields');
          },
          checkPut: (entry) => {
            assert.deepEqual(pick(entry, ['pattern', 'comments', 'is_acceptable_sender']), {
              pattern: '203.0.113.100',
              comments: 'replaced',
              is_acceptable_sender: true,
            });
          },
        });
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const ips = await paginate(api, { pattern_type: 'IP' }, MANY);
        assert.deepEqual(sorted(ids(ips)), sorted(ctx.many));
        assert.ok(ips.every((entry) => entry.pattern_type === 'IP'));
        const trusted = await collect(api.list({ account_id, is_trusted_sender: true }));
        assert.deepEqual(ids(trusted), [ctx.main.id]);
        const found = await collect(api.list({ account_id, search: 'newsletter' }));
        assert.deepEqual(ids(found), [ctx.posted.id]);
        const exact = await collect(api.list({ account_id, pattern: '203.0.113.100' }));
        assert.deepEqual(ids(exact), [ctx.many[0]]);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  blockSenders: [
    [
      'create',
      async (api, ctx) => {
        const body = {
          pattern: 'spam@evil.example',
          pattern_type: 'EMAIL',
          is_regex: false,
          comments: 'phishing',
        };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, comments: 'phishing wave' });
        assert.deepEqual(pick(edited, ['id', 'pattern', 'pattern_type', 'comments']), {
          id: ctx.main.id,
          pattern: 'spam@evil.example',
          pattern_type: 'EMAIL',
          comments: 'phishing wave',
        });
        ctx.main = edited;
      },
    ],
    [
      'batch',
      async (api, ctx) => {
        await batchScenario(api, ctx, {
          seed: (i) => ({ pattern: `198.51.100.${i}`, pattern_type: 'IP', is_regex: false }),
          patch: { comments: 'patched in a batch' },
          put: {
            pattern: '198.51.100.200',
            pattern_type: 'IP',
            is_regex: false,
            comments: 'replaced',
          },
          post: { pattern: '.*@spam\\.example', pattern_type: 'EMAIL', is_regex: true },
          checkPatched: (entry) => {
            assert.deepEqual(pick(entry, ['pattern', 'comments']), {
              pattern: 'spam@evil.example',
              comments: 'patched in a batch',
            });
          },
          checkPut: (entry) => {
            assert.deepEqual(pick(entry, ['pattern', 'pattern_type', 'comments']), {
              pattern: '198.51.100.200',
              pattern_type: 'IP',
              comments: 'replaced',
            });
          },
        });
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const ips = await paginate(api, { pattern_type: 'IP' }, MANY);
        assert.deepEqual(sorted(ids(ips)), sorted(ctx.many));
        const exact = await collect(api.list({ account_id, pattern: 'spam@evil.example' }));
        assert.deepEqual(ids(exact), [ctx.main.id]);
        const found = await collect(api.list({ account_id, search: 'EVIL' }));
        assert.deepEqual(ids(found), [ctx.main.id]);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  contentPolicies: [
    [
      'create',
      async (api, ctx) => {
        const body = {
          name: 'Wire transfer lure',
          pattern: 'wire\\s+transfer',
          targets: ['SUBJECT', 'BODY'],
          enabled: true,
          notes: 'finance',
        };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
        assert.equal(ctx.main.pattern, body.pattern);
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, {
          account_id,
          enabled: false,
          targets: ['BODY'],
        });
        assert.deepEqual(pick(edited, ['id', 'name', 'enabled', 'targets', 'notes']), {
          id: ctx.main.id,
          name: 'Wire transfer lure',
          enabled: false,
          targets: ['BODY'],
          notes: 'finance',
        });
        ctx.main = edited;
      },
    ],
    [
      'batch',
      async (api, ctx) => {
        await batchScenario(api, ctx, {
          seed: (i) => ({
            name: `Lure ${pad(i)}`,
            pattern: `lure-${i}\\b`,
            targets: ['SUBJECT'],
            enabled: true,
          }),
          patch: { notes: 'patched in a batch' },
          put: { name: 'Lure replaced', pattern: 'replaced', targets: ['BODY'], enabled: true },
          post: {
            name: 'Gift cards',
            pattern: 'gift\\s+cards?',
            targets: ['BODY'],
            enabled: false,
          },
          checkPatched: (entry) => {
            assert.deepEqual(pick(entry, ['name', 'enabled', 'notes']), {
              name: 'Wire transfer lure',
              enabled: false,
              notes: 'patched in a batch',
            });
          },
          checkPut: (entry) => {
            assert.deepEqual(pick(entry, ['name', 'pattern', 'targets', 'enabled']), {
              name: 'Lure replaced',
              pattern: 'replaced',
              targets: ['BODY'],
              enabled: true,
            });
          },
        });
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const enabled = await paginate(api, { enabled: true, order: 'name' }, MANY);
        assert.deepEqual(sorted(ids(enabled)), sorted(ctx.many));
        const names = enabled.map((entry) => entry.name);
        assert.deepEqual(names, sorted(names), 'order=name holds across pages');
        const named = await collect(api.list({ account_id, name: 'Wire transfer lure' }));
        assert.deepEqual(ids(named), [ctx.main.id]);
        const found = await collect(api.list({ account_id, search: 'gift' }));
        assert.deepEqual(ids(found), [ctx.posted.id]);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  domains: [
    [
      'create',
      async (api, ctx) => {
        const body = domainBody('ours.example', { lookback_hops: 2 });
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
        assert.equal(ctx.main.status, 'ACTIVE');
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, require_tls_inbound: true });
        assert.deepEqual(pick(edited, ['id', 'domain', 'lookback_hops', 'require_tls_inbound']), {
          id: ctx.main.id,
          domain: 'ours.example',
          lookback_hops: 2,
          require_tls_inbound: true,
        });
        ctx.main = edited;
      },
    ],
    [
      'update',
      async (api, ctx) => {
        // PUT: a full replacement, so what is left out (require_tls_inbound) is reset.
        const replaced = await api.update(ctx.main.id, {
          account_id,
          allowed_delivery_modes: ['BCC'],
          drop_dispositions: [],
          ip_restrictions: ['198.51.100.0/24'],
          regions: ['US'],
        });
        assert.deepEqual(
          pick(replaced, [
            'id',
            'domain',
            'allowed_delivery_modes',
            'drop_dispositions',
            'ip_restrictions',
            'regions',
            'require_tls_inbound',
          ]),
          {
            id: ctx.main.id,
            domain: 'ours.example',
            allowed_delivery_modes: ['BCC'],
            drop_dispositions: [],
            ip_restrictions: ['198.51.100.0/24'],
            regions: ['US'],
            require_tls_inbound: false,
          },
        );
        ctx.main = replaced;
      },
    ],
    [
      'batch',
      async (api, ctx) => {
        await batchScenario(api, ctx, {
          seed: (i) => domainBody(`d${pad(i)}.example`),
          patch: { lookback_hops: 5 },
          put: {
            allowed_delivery_modes: ['DIRECT'],
            drop_dispositions: ['SPAM'],
            ip_restrictions: [],
            regions: ['DE'],
          },
          post: domainBody('bcc.example', { allowed_delivery_modes: ['BCC'] }),
          checkPatched: (entry) => {
            assert.deepEqual(pick(entry, ['domain', 'lookback_hops', 'allowed_delivery_modes']), {
              domain: 'ours.example',
              lookback_hops: 5,
              allowed_delivery_modes: ['BCC'],
            });
          },
          checkPut: (entry) => {
            assert.deepEqual(pick(entry, ['domain', 'drop_dispositions', 'regions']), {
              domain: 'd01.example',
              drop_dispositions: ['SPAM'],
              regions: ['DE'],
            });
          },
        });
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const direct = await paginate(api, { allowed_delivery_mode: 'DIRECT' }, MANY);
        assert.deepEqual(sorted(ids(direct)), sorted(ctx.many));
        const bcc = await collect(api.list({ account_id, allowed_delivery_mode: 'BCC' }));
        assert.deepEqual(sorted(ids(bcc)), sorted([ctx.main.id, ctx.posted.id]));
        // An array query parameter: the SDK repeats the key.
        const picked = await collect(
          api.list({ account_id, domain: ['d03.example', 'd04.example'], order: 'domain' }),
        );
        assert.deepEqual(
          picked.map((entry) => entry.domain),
          ['d03.example', 'd04.example'],
        );
      },
    ],
    [
      'bulkDelete',
      async (api, ctx) => {
        // The SDK sends no body, and the endpoint needs the list of ids in it.
        await assert.rejects(
          () => collect(api.bulkDelete({ account_id })),
          Cloudflare.BadRequestError,
        );
        await api.get(ctx.posted.id, { account_id }); // still there
        // The ids go in as a request option; the SDK sends them as the JSON body.
        const removed = await collect(
          api.bulkDelete({ account_id }, { body: [{ id: ctx.posted.id }] }),
        );
        assert.deepEqual(removed, [{ id: ctx.posted.id }]);
        await assertGone(api, ctx.posted.id);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  impersonationRegistry: [
    [
      'create',
      async (api, ctx) => {
        const body = {
          email: 'ceo@ours.example',
          name: 'Ann Lee',
          is_email_regex: false,
          comments: 'chief executive',
        };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, { ...body, provenance: 'A1S_INTERNAL' });
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, email: 'ann.lee@ours.example' });
        assert.deepEqual(pick(edited, ['id', 'email', 'name', 'comments']), {
          id: ctx.main.id,
          email: 'ann.lee@ours.example',
          name: 'Ann Lee',
          comments: 'chief executive',
        });
        ctx.main = edited;
      },
    ],
    [
      'list',
      async (api, ctx) => {
        for (const i of range(MANY - 1)) {
          await api.create({
            account_id,
            email: `staff${pad(i)}@ours.example`,
            name: `Staff ${pad(i)}`,
            is_email_regex: false,
          });
        }
        const all = await paginate(api, { order: 'name', direction: 'desc' }, MANY);
        const names = all.map((entry) => entry.name);
        assert.deepEqual(names, sorted(names).reverse(), 'order=name desc across pages');
        assert.equal(names.at(-1), 'Ann Lee');
        const found = await collect(api.list({ account_id, search: 'ann.lee' }));
        assert.deepEqual(ids(found), [ctx.main.id]);
        const internal = await collect(api.list({ account_id, provenance: 'A1S_INTERNAL' }));
        assert.equal(internal.length, MANY);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  sendingDomainRestrictions: [
    [
      'create',
      async (api, ctx) => {
        const body = {
          domain: 'bank.example',
          exclude: ['legacy.bank.example'],
          comments: 'TLS only',
        };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, exclude: [] });
        assert.deepEqual(pick(edited, ['id', 'domain', 'exclude', 'comments']), {
          id: ctx.main.id,
          domain: 'bank.example',
          exclude: [],
          comments: 'TLS only',
        });
        ctx.main = edited;
      },
    ],
    [
      'list',
      async (api, ctx) => {
        for (const i of range(MANY - 1)) {
          await api.create({ account_id, domain: `partner${pad(i)}.example`, exclude: [] });
        }
        const all = await paginate(api, { order: 'domain', direction: 'asc' }, MANY);
        const domains = all.map((entry) => entry.domain);
        assert.deepEqual(domains, sorted(domains), 'order=domain across pages');
        assert.equal(domains[0], 'bank.example');
        const found = await collect(api.list({ account_id, search: 'bank' }));
        assert.deepEqual(ids(found), [ctx.main.id]);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  trustedDomains: [
    [
      'create',
      async (api, ctx) => {
        const body = {
          pattern: 'Partner.Example',
          is_recent: false,
          is_regex: false,
          is_similarity: false,
          comments: 'partner',
        };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, omit(body, ['pattern']));
        assert.equal(ctx.main.pattern, 'partner.example', 'a domain is stored in lower case');
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, is_similarity: true });
        assert.deepEqual(pick(edited, ['id', 'pattern', 'is_similarity', 'is_recent']), {
          id: ctx.main.id,
          pattern: 'partner.example',
          is_similarity: true,
          is_recent: false,
        });
        ctx.main = edited;
      },
    ],
    [
      'batch',
      async (api, ctx) => {
        await batchScenario(api, ctx, {
          seed: (i) => ({
            pattern: `t${pad(i)}.example`,
            is_recent: true,
            is_regex: false,
            is_similarity: false,
          }),
          patch: { comments: 'patched in a batch' },
          put: {
            pattern: 'replaced.example',
            is_recent: true,
            is_regex: false,
            is_similarity: false,
          },
          post: {
            pattern: '.*\\.lookalike\\.example',
            is_recent: false,
            is_regex: true,
            is_similarity: true,
          },
          checkPatched: (entry) => {
            assert.deepEqual(pick(entry, ['pattern', 'is_similarity', 'comments']), {
              pattern: 'partner.example',
              is_similarity: true,
              comments: 'patched in a batch',
            });
          },
          checkPut: (entry) => {
            assert.deepEqual(pick(entry, ['pattern', 'is_recent']), {
              pattern: 'replaced.example',
              is_recent: true,
            });
          },
        });
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const recent = await paginate(api, { is_recent: true }, MANY);
        assert.deepEqual(sorted(ids(recent)), sorted(ctx.many));
        const similar = await collect(
          api.list({ account_id, is_similarity: true, order: 'pattern' }),
        );
        assert.deepEqual(
          similar.map((entry) => entry.pattern),
          ['.*\\.lookalike\\.example', 'partner.example'],
        );
        const exact = await collect(api.list({ account_id, pattern: 'replaced.example' }));
        assert.deepEqual(ids(exact), [ctx.many[0]]);
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],

  urlIgnorePatterns: [
    [
      'create',
      async (api, ctx) => {
        const body = { pattern: 'https://intranet\\.ours\\.example/.*', comments: 'intranet' };
        ctx.main = await api.create({ account_id, ...body });
        assertNewEntry(ctx.main, body);
      },
    ],
    [
      'get',
      async (api, ctx) => {
        assert.deepEqual(await api.get(ctx.main.id, { account_id }), ctx.main);
      },
    ],
    [
      'edit',
      async (api, ctx) => {
        const edited = await api.edit(ctx.main.id, { account_id, comments: 'intranet links' });
        assert.deepEqual(pick(edited, ['id', 'pattern', 'comments']), {
          id: ctx.main.id,
          pattern: 'https://intranet\\.ours\\.example/.*',
          comments: 'intranet links',
        });
        ctx.main = edited;
      },
    ],
    [
      'list',
      async (api, ctx) => {
        const made = [ctx.main.id];
        for (const i of range(MANY - 1)) {
          const pattern = `https://cdn${pad(i)}\\.example/.*`;
          const entry = await api.create({ account_id, pattern });
          made.push(entry.id);
        }
        const all = await paginate(api, {}, MANY);
        assert.deepEqual(sorted(ids(all)), sorted(made));
      },
    ],
    ['delete', async (api, ctx) => deleteAndCheck(api, ctx.main.id)],
  ],
};

// --- Running -------------------------------------------------------------------------------

/** Every SDK method has a step and every step names an SDK method; else, what is off. */
function coverageProblems(offered) {
  const problems = [];
  for (const group of new Set([...Object.keys(offered), ...Object.keys(scenarios)])) {
    const methods = offered[group];
    const steps = (scenarios[group] ?? []).map(([method]) => method);
    if (!methods) {
      problems.push(`scenario for ${group}, which the SDK does not have`);
      continue;
    }
    if (!scenarios[group]) {
      problems.push(`no scenario for the SDK group ${group} (${methods.join(', ')})`);
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
  const problems = coverageProblems(offered);
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
        await step(api, ctx);
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
