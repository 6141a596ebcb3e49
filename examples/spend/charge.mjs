// Spends part of a user's balance through Keyward, then gives part of it back: the integration
// guide's "Spending the user's balance" example. Node 20 or later, no dependencies.
//
//   BASE_URL=https://id.example.com ACCESS_TOKEN=… node charge.mjs [amount] [refund]
//
// ACCESS_TOKEN is a user's access token with the scope balance:spend. For the platform's billing
// service (a client_credentials token) also set USER_ID to the user to charge. Amounts are quota
// units (default: charge 100, refund half of it). Prints one JSON line per answer and exits with
// 1 when a request was refused.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

const base = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
const token = process.env.ACCESS_TOKEN ?? '';
if (!base || !token) {
  console.error('usage: BASE_URL=… ACCESS_TOKEN=… node charge.mjs [amount] [refund]');
  process.exit(2);
}
const amount = Number(process.argv[2] ?? 100);
const refundAmount = Number(process.argv[3] ?? Math.floor(amount / 2));
const userId = process.env.USER_ID ? Number(process.env.USER_ID) : undefined;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (event) => console.log(JSON.stringify(event));

// POSTs a JSON body with the bearer token. A network error, a 5xx or a 429 is retried with the
// very same body: its idempotency_key makes the retry safe (Keyward answers a repeated request
// with the first answer and moves nothing again).
async function post(path, body) {
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      if (attempt >= 4) throw error;
      await sleep(500 * attempt);
      continue;
    }
    if ((res.status >= 500 || res.status === 429) && attempt < 4) {
      const wait = Number(res.headers.get('retry-after')) || attempt;
      await sleep(Math.min(wait, 10) * 1000);
      continue;
    }
    return { status: res.status, body: await res.json().catch(() => null) };
  }
}

// One key per charge you mean to make: derive it from your own order or request id in a real app,
// so that a retry after a crash reuses it.
const charge = {
  amount,
  idempotency_key: `example-${randomUUID()}`,
  description: 'example charge',
  ...(userId === undefined ? {} : { user_id: userId }),
};
const charged = await post('/api/oauth2/balance/charge', charge);
print({ event: 'charge', ...charged });
if (charged.status !== 200) process.exit(1);

// The same request again, as a retry after a lost answer would send it: the same answer.
const again = await post('/api/oauth2/balance/charge', charge);
print({ event: 'charge_retry', ...again, same: isDeepStrictEqual(again.body, charged.body) });

if (refundAmount > 0) {
  const refunded = await post('/api/oauth2/balance/refund', {
    charge_id: charged.body.charge_id,
    amount: refundAmount,
    idempotency_key: `example-refund-${randomUUID()}`,
  });
  print({ event: 'refund', ...refunded });
  if (refunded.status !== 200) process.exit(1);
}
