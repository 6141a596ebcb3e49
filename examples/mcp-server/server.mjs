// An MCP server protected by Keyward, written with the official MCP TypeScript SDK and its
// resource-server helpers. Keyward is the authorization server; this server only checks tokens.
//
//   - RFC 9728 protected resource metadata names Keyward (`authorization_servers`), so an MCP
//     client finds where to sign in from the 401 alone;
//   - every request to /mcp needs a Keyward JWT access token (RFC 9068) for this server: signed by
//     a key from Keyward's jwks_uri, `typ: at+jwt`, Keyward's `iss`, `aud` equal to this server's
//     resource identifier (its /mcp URL), not expired, with the required scope;
//   - one tool, `whoami`, answers with who called it (user id and app), read from the token.
//
// usage: node server.mjs ISSUER [SCOPE] [PORT]
//   ISSUER  Keyward's base URL (its issuer), e.g. https://auth.example.com
//   SCOPE   the scope a token needs (default mcp:tools)
//   PORT    where to listen on 127.0.0.1 (default 0: any free port)
// stdout: one line {"event":"listening","url":…,"resource":…,"metadata":…}; then it serves until
// stopped. In Keyward, register `resource` as an API with SCOPE and the JWT token format.

import { createServer } from 'node:http'
import { once } from 'node:events'
import express from 'express'
import { createRemoteJWKSet, errors, jwtVerify } from 'jose'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js'
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js'
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from '@modelcontextprotocol/sdk/server/auth/router.js'

const given = process.argv.slice(2)
if (given.length < 1) {
  process.stderr.write('usage: node server.mjs ISSUER [SCOPE] [PORT]\n')
  process.exit(2)
}
const [issuer, scope = 'mcp:tools', port = '0'] = given
// What clients are told to ask for: this API's scope, and Keyward's `profile`, with which the
// access token carries the user's name for the tool to say.
const askFor = [scope, 'profile']

/**
 * Keyward's authorization server metadata (RFC 8414, else OpenID Connect discovery), checked to
 * be the issuer's own (RFC 8414 §3.3), so that tokens are verified against the right keys.
 */
async function discover(issuer) {
  const base = issuer.replace(/\/$/, '')
  for (const path of ['oauth-authorization-server', 'openid-configuration']) {
    const res = await fetch(`${base}/.well-known/${path}`)
    if (!res.ok) continue
    const metadata = await res.json()
    if (metadata.issuer !== issuer) {
      throw new Error(`${path} names issuer ${metadata.issuer}, not ${issuer}`)
    }
    return metadata
  }
  throw new Error(`no authorization server metadata at ${issuer}`)
}

/** The MCP server for one request: stateless, so one per request (the SDK's stateless pattern). */
function mcpServer() {
  const server = new McpServer({ name: 'keyward-example', version: '1.0.0' })
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'Tells who is calling: the Keyward user and app the access token stands for.',
    },
    // `authInfo` is what the bearer middleware put on the request (our verifier's answer).
    async ({ authInfo }) => ({
      content: [
        {
          type: 'text',
          text:
            `You are ${authInfo.extra.name ?? 'an unnamed user'} (user ${authInfo.extra.sub}), ` +
            `calling through app ${authInfo.clientId}.`,
        },
      ],
    }),
  )
  return server
}

try {
  const metadata = await discover(issuer)
  // jose fetches the keys once, caches them, and refetches when a token names an unknown `kid`
  // (Keyward rotating its keys).
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri))

  const app = express()
  const listener = createServer(app)
  listener.listen(Number(port), '127.0.0.1')
  await once(listener, 'listening')
  const origin = `http://127.0.0.1:${listener.address().port}`
  // The RFC 8707 resource identifier: the URL MCP clients connect to, which they send as
  // `resource` and which Keyward puts in `aud`.
  const resource = new URL(`${origin}/mcp`)
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(resource)

  // RFC 9728 at /.well-known/oauth-protected-resource/mcp (the SDK's router; it also mirrors
  // Keyward's RFC 8414 document at this origin, for clients of the 2025-03-26 MCP spec).
  app.use(
    mcpAuthMetadataRouter({
      oauthMetadata: metadata,
      resourceServerUrl: resource,
      scopesSupported: askFor,
      resourceName: 'Keyward example MCP server',
    }),
  )
  // And at the root form, which MCP clients try when the path-suffixed one is missing; a server
  // with one protected resource may answer both with the same document.
  app.use(
    '/.well-known/oauth-protected-resource',
    metadataHandler({
      resource: resource.href,
      authorization_servers: [metadata.issuer],
      scopes_supported: askFor,
      resource_name: 'Keyward example MCP server',
    }),
  )

  // The SDK's bearer middleware asks this for every token, and turns an InvalidTokenError into
  // 401 `error="invalid_token"` with resource_metadata, a missing scope into 403.
  const verifier = {
    async verifyAccessToken(token) {
      let payload
      try {
        ;({ payload } = await jwtVerify(token, jwks, {
          issuer: metadata.issuer,
          audience: resource.href, // a token for another API of the same Keyward fails here
          typ: 'at+jwt',
        }))
      } catch (error) {
        if (!(error instanceof errors.JOSEError)) throw error
        // A fixed message: it goes into the WWW-Authenticate header, and jose's have quotes.
        throw new InvalidTokenError('The access token is not valid for this server')
      }
      return {
        token,
        clientId: payload.client_id,
        scopes: String(payload.scope ?? '').split(' ').filter(Boolean),
        expiresAt: payload.exp,
        resource, // `aud`, checked above
        // The user's stable id (the app's client_id for a client-credentials token), and their
        // name, which Keyward puts in the token when the user shared `profile` with the app.
        extra: { sub: payload.sub, name: payload.preferred_username },
      }
    },
  }
  const bearer = requireBearerAuth({
    verifier,
    requiredScopes: [scope],
    resourceMetadataUrl: metadataUrl,
  })
  // No credentials at all: RFC 6750 §3.1 says no error code then; the challenge still points at
  // the metadata and names the scope to ask for. (The SDK middleware would say invalid_token.)
  const challenge = (req, res, next) => {
    if (req.headers.authorization) return next()
    res
      .status(401)
      .set(
        'WWW-Authenticate',
        `Bearer resource_metadata="${metadataUrl}", scope="${askFor.join(' ')}"`,
      )
      .json({ error: 'unauthorized', error_description: 'An access token is required' })
  }

  app.use('/mcp', challenge, bearer)
  app.post('/mcp', express.json(), async (req, res) => {
    const server = mcpServer()
    // sessionIdGenerator undefined: stateless, every POST stands alone.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    res.on('close', () => {
      transport.close()
      server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  // Stateless: no server-to-client stream (GET) and no session to end (DELETE).
  app.all('/mcp', (req, res) => {
    res.status(405).set('Allow', 'POST').json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed.' },
      id: null,
    })
  })

  process.stdout.write(
    `${JSON.stringify({ event: 'listening', url: resource.href, resource: resource.href, metadata: metadataUrl })}\n`,
  )
} catch (error) {
  process.stdout.write(`${JSON.stringify({ event: 'error', message: String(error?.message ?? error) })}\n`)
  process.exit(1)
}
