// The device authorization grant (RFC 8628) with openid-client, untouched: discovery, the
// device authorization request, then polling until the user has answered at /device.
//
// usage: node device-flow.mjs ISSUER CLIENT_ID SCOPE [CLIENT_SECRET]
// stdout: {"event":"started", user_code, verification_uri, verification_uri_complete,
//          expires_in, interval}, then {"event":"tokens", sub, preferred_username, scope,
//          token_type, expires_in, refresh_token, id_token_claims, userinfo}.

import { args, client, discover, emit, fail } from './lib.mjs'

const [issuer, clientId, scope, secret] = args(
  'node device-flow.mjs ISSUER CLIENT_ID SCOPE [CLIENT_SECRET]',
  3,
)

try {
  const config = await discover(issuer, clientId, secret)
  const started = await client.initiateDeviceAuthorization(config, { scope })
  emit('started', {
    user_code: started.user_code,
    verification_uri: started.verification_uri,
    verification_uri_complete: started.verification_uri_complete,
    expires_in: started.expires_in,
    interval: started.interval,
  })
  // Polls at the interval, slowing down when told to, until tokens or a final error. The
  // id_token, when there is one, is validated by the library (signature through jwks_uri,
  // iss, aud, exp).
  const tokens = await client.pollDeviceAuthorizationGrant(config, started)
  const claims = tokens.claims()
  const userinfo = claims
    ? await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    : undefined
  emit('tokens', {
    sub: claims?.sub,
    preferred_username: userinfo?.preferred_username,
    scope: tokens.scope,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    refresh_token: Boolean(tokens.refresh_token),
    id_token_claims: claims ? Object.keys(claims).sort() : [],
    userinfo: userinfo ?? null,
  })
} catch (error) {
  fail(error)
}
