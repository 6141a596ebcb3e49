#!/usr/bin/env python3
"""Prepares credentials for scripts/api-fuzz.sh on a fresh Keyward node: an admin session and its
developer token, an approved confidential app, and a user access token for that app from the real
authorization-code flow (consent page included). Prints `NAME=value` lines for the shell.

Usage: api-fuzz-setup.py BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
"""

import html
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

base, username, password = sys.argv[1:4]
redirect_uri = "http://127.0.0.1:9/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
)


def call(method, path, body=None, form=None, headers=None):
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with opener.open(request) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def envelope(status, text, what):
    value = json.loads(text)
    if status != 200 or not value.get("success"):
        sys.exit(f"api fuzz setup: {what} failed: {status} {text[:300]}")
    return value["data"]


envelope(*call("POST", "/api/user/login", body={"username": username, "password": password})[::2], "login")
token = envelope(*call("GET", "/api/user/token")[::2], "developer token")
bearer = {"authorization": f"Bearer {token}"}

app = envelope(
    *call(
        "POST",
        "/api/oauth_apps",
        body={
            "name": "fuzz app",
            "redirect_uri": redirect_uri,
            "scopes": "openid profile email balance offline_access",
        },
        headers=bearer,
    )[::2],
    "app creation",
)
envelope(*call("POST", f"/api/admin/oauth_apps/{app['id']}/approve", headers=bearer)[::2], "approval")
app = envelope(*call("GET", f"/api/oauth_apps/{app['id']}", headers=bearer)[::2], "app view")
client_id, client_secret = app["client_id"], app["client_secret"]

query = urllib.parse.urlencode(
    {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid profile email balance",
        "state": "fuzz-state",
    }
)
status, _, page = call("GET", f"/oauth/authorize?{query}")
fields = dict(
    (m.group(1), html.unescape(m.group(2)))
    for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
)
if "csrf_token" not in fields:
    sys.exit(f"api fuzz setup: no consent form ({status})")
fields["decision"] = "approve"
status, headers, _ = call("POST", "/oauth/authorize", form=fields)
location = headers.get("location", "")
code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("code", [""])[0]
if not code:
    sys.exit(f"api fuzz setup: no code ({status})")
status, _, text = call(
    "POST",
    "/api/oauth2/token",
    form={
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    },
)
if status != 200:
    sys.exit(f"api fuzz setup: token exchange failed: {status} {text[:300]}")
access_token = json.loads(text)["access_token"]

# A second app, left pending, for the admin review operations to work on.
pending = envelope(
    *call(
        "POST",
        "/api/oauth_apps",
        body={"name": "fuzz review", "redirect_uri": redirect_uri},
        headers=bearer,
    )[::2],
    "second app",
)

print(f"KEYWARD_FUZZ_DEVELOPER_TOKEN={token}")
print(f"KEYWARD_FUZZ_PENDING_APP_ID={int(pending['id'])}")
print(f"KEYWARD_FUZZ_ACCESS_TOKEN={access_token}")
print(f"KEYWARD_FUZZ_CLIENT_ID={client_id}")
print(f"KEYWARD_FUZZ_CLIENT_SECRET={client_secret}")
