// An MCP client with the official MCP TypeScript SDK, its OAuth flow untouched: it connects to a
// protected MCP server, gets a 401, and the SDK does the rest — RFC 9728 discovery of the
// authorization server, RFC 8414 metadata, the app's identity, authorization code with PKCE
// (S256) and `resource` (RFC 8707) — while this script only keeps what the SDK hands it (the
// SDK's OAuthClientProvider, in memory) and plays the native app's loopback redirect (RFC 8252).
//
// usage: node mcp-client.mjs MCP_URL MODE [ARG]
//   MODE preregistered CLIENT_ID  a public app registered in Keyward's console (no registration)
//   MODE cimd METADATA_URL        the app is its Client ID Metadata Document at that https URL
//   MODE dcr                      the SDK registers the app at registration_endpoint (RFC 7591)
// stdout: {"event":"authorize", url, redirect_uri} — the test signs the user in at `url` and
//         follows the redirect to redirect_uri (this script's loopback listener);
//         {"event":"client", client_id} — the app's identity, each time the SDK saves it;
//         last {"event":"tool", text, token_type, scope} — the `whoami` tool's answer.

import { createServer } from 'node:http'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { args, emit, fail } from './lib.mjs'

const usage = 'node mcp-client.mjs MCP_URL (preregistered CLIENT_ID | cimd METADATA_URL | dcr)'
const [mcpUrl, mode, modeArg] = args(usage, 2)
if (!['preregistered', 'cimd', 'dcr'].includes(mode) || (mode !== 'dcr' && !modeArg)) {
  process.stderr.write(`usage: ${usage}\n`)
  process.exit(2)
}

try {
  // The loopback redirect: a port of our own, picked now (RFC 8252 §7.3). The authorization
  // response comes back here once the user has consented.
  const listener = createServer()
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const redirectUri = `http://127.0.0.1:${listener.address().port}/callback`
  const expectedState = randomBytes(16).toString('base64url')
  const callback = new Promise((resolve, reject) => {
    listener.on('request', (req, res) => {
      const url = new URL(req.url, redirectUri)
      if (url.pathname !== '/callback') {
        res.writeHead(404).end()
        return
      }
      const ok = url.searchParams.get('state') === expectedState && url.searchParams.has('code')
      res.writeHead(ok ? 200 : 400, { 'Content-Type': 'text/plain' })
      res.end(ok ? 'Signed in; you may close this window.' : 'Sign-in failed.')
      if (ok) resolve(url.searchParams.get('code'))
      else reject(Object.assign(new Error('bad authorization response'), {
        error: url.searchParams.get('error') ?? 'invalid_state',
        error_description: url.searchParams.get('error_description') ?? undefined,
      }))
    })
  })

  // The SDK's OAuthClientProvider: storage only. What is stored is kept exactly as given (the
  // SDK stamps client information and tokens with the issuer they belong to).
  const stored = { client: undefined, tokens: undefined, verifier: undefined }
  if (mode === 'preregistered') stored.client = { client_id: modeArg }
  const provider = {
    get redirectUrl() {
      return redirectUri
    },
    // What a dynamic registration sends (RFC 7591); a Client ID Metadata Document says the same.
    get clientMetadata() {
      return {
        client_name: 'MCP Test Agent',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }
    },
    // Used instead of registering when the server says client_id_metadata_document_supported.
    clientMetadataUrl: mode === 'cimd' ? modeArg : undefined,
    state: () => expectedState,
    clientInformation: () => stored.client,
    saveClientInformation(information) {
      stored.client = information
      emit('client', { client_id: information.client_id })
    },
    tokens: () => stored.tokens,
    saveTokens(tokens) {
      stored.tokens = tokens
    },
    redirectToAuthorization(url) {
      emit('authorize', { url: url.href, redirect_uri: redirectUri })
    },
    saveCodeVerifier(verifier) {
      stored.verifier = verifier
    },
    codeVerifier: () => stored.verifier,
  }

  const client = new Client({ name: 'keyward-mcp-test-agent', version: '1.0.0' })
  let transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider })
  try {
    await client.connect(transport)
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error
    // The SDK has sent the user to sign in (redirectToAuthorization); wait for the code, let
    // the SDK redeem it, and connect again with the tokens it saved — its documented pattern.
    const code = await callback
    await transport.finishAuth(code)
    transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider })
    await client.connect(transport)
  }
  listener.close()

  const result = await client.callTool({ name: 'whoami', arguments: {} })
  if (result.isError) throw new Error(`the tool failed: ${JSON.stringify(result.content)}`)
  emit('tool', {
    text: result.content.map((part) => part.text ?? '').join(''),
    token_type: stored.tokens?.token_type,
    scope: stored.tokens?.scope,
  })
  await client.close()
  process.exit(0)
} catch (error) {
  fail(error)
}
