// Shared by the harness scripts: how they talk to the Rust test that runs them, and how they
// set up a stock openid-client against a Keyward node.
//
// Protocol: a script is run as `node clients/node/<script>.mjs <args>`. It prints one JSON
// object per line on stdout (`{"event": "...", ...}`): progress the test may act on (e.g. a user
// code to approve), then a last line with the result. It exits 0 on success, 1 on any failure
// (after printing `{"event": "error", "error": "..."}`), 2 on bad arguments. Nothing else goes
// to stdout; diagnostics go to stderr.

import * as client from 'openid-client'

/** Prints one protocol line. */
export function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

/** Reports a failure as the last protocol line and exits 1. */
export function fail(error) {
  const description = error?.error_description ?? error?.cause?.error_description
  emit('error', {
    error: String(error?.error ?? error?.code ?? error?.name ?? 'error'),
    message: String(error?.message ?? error),
    ...(description ? { error_description: String(description) } : {}),
  })
  process.exit(1)
}

/** The command-line arguments after the script's name, or exit 2 with a usage line. */
export function args(usage, count) {
  const given = process.argv.slice(2)
  if (given.length < count) {
    process.stderr.write(`usage: ${usage}\n`)
    process.exit(2)
  }
  return given
}

/**
 * An openid-client configuration from the issuer's discovery document, untouched but for
 * allowing plain http, which a test node on 127.0.0.1 speaks. `secret` absent: a public client
 * (`token_endpoint_auth_method=none`).
 */
export async function discover(issuer, clientId, secret) {
  const auth = secret ? client.ClientSecretPost(secret) : client.None()
  const options = issuer.startsWith('http://')
    ? { execute: [client.allowInsecureRequests] }
    : undefined
  return client.discovery(new URL(issuer), clientId, undefined, auth, options)
}

export { client }
