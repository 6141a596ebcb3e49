// An authorization-code flow for an API (RFC 8707 `resource`) from a native app's loopback
// redirect on a random port (RFC 8252 §7.3), with openid-client untouched; then the JWT access
// token (RFC 9068) checked with jose against jwks_uri, with the audience.
//
// usage: node auth-code-resource.mjs ISSUER CLIENT_ID RESOURCE SCOPE
// stdout: {"event":"authorize", url, redirect_uri} — open `url` in a browser as the user; then
//         {"event":"tokens", scope, token_type, expires_in, typ, claims, wrong_audience_refused,
//          access_token}.

import { createServer } from 'node:http'
import { once } from 'node:events'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { args, client, discover, emit, fail } from './lib.mjs'

const [issuer, clientId, resource, scope] = args(
  'node auth-code-resource.mjs ISSUER CLIENT_ID RESOURCE SCOPE',
  4,
)

try {
  const config = await discover(issuer, clientId)

  // The app listens on a port the system picks, as a CLI does.
  const callbacks = createServer()
  callbacks.listen(0, '127.0.0.1')
  await once(callbacks, 'listening')
  const redirectUri = `http://127.0.0.1:${callbacks.address().port}/callback`
  const received = new Promise((resolve) => {
    callbacks.on('request', (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.end('You can close this window.')
      resolve(new URL(req.url, redirectUri))
    })
  })

  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    resource,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  emit('authorize', { url: url.href, redirect_uri: redirectUri })

  const callback = await received
  callbacks.close()
  // Checks `state` and the RFC 9207 `iss`, then redeems the code with the verifier.
  const tokens = await client.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state },
    { resource },
  )

  // What the API does with the token: verify it offline against the published keys.
  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri))
  const { payload } = await jwtVerify(tokens.access_token, jwks, {
    issuer: config.serverMetadata().issuer,
    audience: resource,
    typ: 'at+jwt',
  })
  let wrongAudienceRefused = false
  try {
    await jwtVerify(tokens.access_token, jwks, { audience: 'https://another.example.com' })
  } catch (error) {
    wrongAudienceRefused = error.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
  }
  emit('tokens', {
    scope: tokens.scope,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    typ: decodeProtectedHeader(tokens.access_token).typ,
    claims: payload,
    wrong_audience_refused: wrongAudienceRefused,
    access_token: tokens.access_token,
  })
} catch (error) {
  fail(error)
}
