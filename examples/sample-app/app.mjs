// "Sign in with <platform>" in one file, with nothing but Node's own modules (Node 20+): the
// authorization code flow with PKCE and a state bound to the browser, the code exchanged on this
// server with the client secret, then the user's name and balance from the userinfo endpoint.
// The endpoints come from the platform's OpenID discovery document.
//
//   KEYWARD_URL=http://127.0.0.1:3000 CLIENT_ID=client_… CLIENT_SECRET=secret_… \
//     node examples/sample-app/app.mjs
//
// With SPEND_LIMIT=<quota units>/<day|month|total> (e.g. 10000/month) the app also asks for
// `balance:spend` and suggests that limit (the user sets the real one on the consent page; an
// admin must have allowed the app to spend), and its home page gets a "Charge" form: each
// charge is POST /api/oauth2/balance/charge with a fresh idempotency key, and the page shows
// the answer, or the error code (spend_limit_exceeded with remaining_limit...).
//
// Register http://127.0.0.1:8000/callback (PORT changes 8000) as the app's redirect URI. Each
// line on standard output is a JSON event, so that tests can follow the app.

import http from 'node:http';
import crypto from 'node:crypto';

const issuer = (process.env.KEYWARD_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
const port = Number(process.env.PORT ?? 8000);
const redirectUri = `http://127.0.0.1:${port}/callback`;
const spendLimit = process.env.SPEND_LIMIT ?? '';
if (!clientId || !clientSecret) {
  console.error('set CLIENT_ID and CLIENT_SECRET (from the developer console, /user/setting/oauth)');
  process.exit(2);
}

const say = (event) => console.log(JSON.stringify(event));
const random = () => crypto.randomBytes(32).toString('base64url');
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
// Logins under way, by state, and signed-in browsers, by session id: in memory, for a demo.
const pending = new Map();
const sessions = new Map();

function cookies(req) {
  return Object.fromEntries((req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')));
}

function page(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(`<!doctype html><meta charset="utf-8"><title>Sample app</title><main>${body}</main>`);
}

async function callback(req, res, url) {
  const state = url.searchParams.get('state') ?? '';
  const login = pending.get(state);
  pending.delete(state);
  // The state must be the one this browser was given, or anyone could finish a login for it.
  if (!login || cookies(req).sample_login !== login.browser) {
    return page(res, 400, '<p>This sign-in was not started here. <a href="/login">Start again</a></p>');
  }
  if (url.searchParams.has('error')) {
    return page(res, 200, `<p>Not signed in: ${escape(url.searchParams.get('error'))}. <a href="/login">Try again</a></p>`);
  }
  const tokens = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: url.searchParams.get('code') ?? '',
      redirect_uri: redirectUri,
      code_verifier: login.verifier,
    }),
  }).then((r) => r.json());
  if (!tokens.access_token) {
    say({ event: 'token_error', error: tokens.error });
    return page(res, 502, `<p>The platform refused the code: ${escape(tokens.error)}</p>`);
  }
  const user = await fetch(discovery.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  }).then((r) => r.json());
  const session = random();
  // The access token stays on this server, never in the browser.
  sessions.set(session, { user, token: tokens.access_token });
  say({ event: 'signed_in', username: user.preferred_username, balance: user.balance_formatted });
  res.writeHead(303, {
    location: '/',
    'set-cookie': `sample_session=${session}; HttpOnly; SameSite=Lax; Path=/`,
  });
  res.end();
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10_000) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

// POST /charge: spends `amount` quota units of the signed-in user's balance. The session cookie
// is SameSite=Lax, so another site cannot make a browser post here with it.
async function charge(req, res, signedIn) {
  const form = await readForm(req);
  const answer = await fetch(`${issuer}/api/oauth2/balance/charge`, {
    method: 'POST',
    headers: { authorization: `Bearer ${signedIn.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      amount: Number(form.get('amount')),
      // A fresh key per charge; a retry of the same charge would reuse it.
      idempotency_key: crypto.randomUUID(),
      description: 'Sample app charge',
    }),
  });
  const body = await answer.json().catch(() => ({}));
  if (answer.ok) {
    signedIn.last = `<p id="charge-result" class="ok">Charged <span id="charged">${escape(body.amount)}</span>; remaining limit <span id="remaining-limit">${escape(body.remaining_limit ?? 'none')}</span>; balance <span id="charge-balance">${escape(body.balance_formatted)}</span>.</p>`;
    say({ event: 'charged', status: answer.status, ...body });
  } else {
    signedIn.last = `<p id="charge-result" class="refused">Refused: <code id="charge-error">${escape(body.error ?? answer.status)}</code>${body.remaining_limit === undefined ? '' : `; remaining limit <span id="remaining-limit">${escape(body.remaining_limit)}</span>`}.</p>`;
    say({ event: 'charge_refused', status: answer.status, ...body });
  }
  res.writeHead(303, { location: '/' });
  res.end();
}

function home(signedIn) {
  const { user } = signedIn;
  const chargeForm = spendLimit
    ? `<form method="post" action="/charge"><label>Amount (quota units) <input id="amount" name="amount" value="1000" inputmode="numeric"></label> <button id="charge" type="submit">Charge</button></form>${signedIn.last ?? ''}`
    : '';
  return `<p>Signed in as <strong id="signed-in">${escape(user.preferred_username)}</strong>; balance <span id="balance">${escape(user.balance_formatted ?? '?')}</span>.</p>${chargeForm}`;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  try {
    const signedIn = sessions.get(cookies(req).sample_session);
    if (url.pathname === '/') {
      return signedIn
        ? page(res, 200, home(signedIn))
        : page(res, 200, '<p><a href="/login">Sign in with the platform</a></p>');
    }
    if (url.pathname === '/charge' && req.method === 'POST') {
      if (!signedIn) return page(res, 401, '<p>Sign in first. <a href="/login">Sign in</a></p>');
      return await charge(req, res, signedIn);
    }
    if (url.pathname === '/login') {
      const state = random();
      const verifier = random();
      const browser = random();
      pending.set(state, { verifier, browser });
      const authorize = new URL(discovery.authorization_endpoint);
      authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: spendLimit ? 'openid profile balance balance:spend' : 'openid profile balance',
        state,
        code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        ...(spendLimit ? { spend_limit: spendLimit } : {}),
      });
      res.writeHead(302, {
        location: authorize.toString(),
        'set-cookie': `sample_login=${browser}; HttpOnly; SameSite=Lax; Path=/`,
      });
      return res.end();
    }
    if (url.pathname === '/callback') return await callback(req, res, url);
    page(res, 404, '<p>Not here. <a href="/">Home</a></p>');
  } catch (e) {
    say({ event: 'failed', error: String(e) });
    page(res, 500, '<p>Something went wrong.</p>');
  }
});

server.listen(port, '127.0.0.1', () => say({ event: 'listening', url: `http://127.0.0.1:${port}` }));
