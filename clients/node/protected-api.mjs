// A protected API (or MCP server) in front of Keyward, with stock jose only: RFC 9728 metadata
// that points clients at Keyward, and every request's bearer JWT (RFC 9068) checked offline
// against jwks_uri — issuer, audience, type, expiry — and for a scope.
//
// usage: node protected-api.mjs ISSUER REQUIRED_SCOPE [PORT]
// It serves http://127.0.0.1:PORT/mcp (PORT 0 or absent: any free port), whose identifier
// (the RFC 8707 resource to register in Keyward) is that URL.
// stdout: {"event":"listening", resource, metadata}; then it serves until stopped.
//   GET /mcp                                      200 {sub, client_id, scope} with a good token
//                                                 401 + WWW-Authenticate resource_metadata=…
//                                                 403 insufficient_scope
//   GET /.well-known/oauth-protected-resource/mcp the RFC 9728 document

import { createServer } from 'node:http'
import { once } from 'node:events'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { args, emit, fail } from './lib.mjs'

const [issuer, requiredScope, port = '0'] = args(
  'node protected-api.mjs ISSUER REQUIRED_SCOPE [PORT]',
  2,
)

try {
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri))
  const server = createServer()
  server.listen(Number(port), '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${server.address().port}`
  const resource = `${origin}/mcp`
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`
  const document = {
    resource,
    authorization_servers: [metadata.issuer],
    scopes_supported: [requiredScope],
    bearer_methods_supported: ['header'],
  }
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

  server.on('request', async (req, res) => {
    const path = new URL(req.url, origin).pathname
    if (path === '/.well-known/oauth-protected-resource/mcp') {
      return json(res, 200, document)
    }
    if (path !== '/mcp') {
      return json(res, 404, { error: 'not_found' })
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    let payload
    try {
      ;({ payload } = await jwtVerify(token ?? '', jwks, {
        issuer: metadata.issuer,
        audience: resource,
        typ: 'at+jwt',
      }))
    } catch {
      return json(res, 401, { error: 'invalid_token' }, {
        'WWW-Authenticate': `Bearer error="invalid_token", resource_metadata="${metadataUrl}"`,
      })
    }
    if (!String(payload.scope ?? '').split(' ').includes(requiredScope)) {
      return json(res, 403, { error: 'insufficient_scope' }, {
        'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${requiredScope}"`,
      })
    }
    json(res, 200, { sub: payload.sub, client_id: payload.client_id, scope: payload.scope })
  })
  emit('listening', { resource, metadata: metadataUrl })
} catch (error) {
  fail(error)
}
