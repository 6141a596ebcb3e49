// Progressive enhancement only: every page works without this file.
// Copy buttons: <button data-copy="input-id" hidden> next to a read-only input.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = "✓ " + label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      target.focus();
      target.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();

// Passkeys (WebAuthn): sign-in on /login (a button, and the browser's autofill prompt on the
// user-name field), the second step of a login, and adding one on /user/security. The pages
// carry data-* hooks; the JSON API (/api/user/passkey/...) does the work, binary fields in
// base64url both ways.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    return;
  }

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
  }

  function creationOptions(data) {
    var pk = Object.assign({}, data.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(data) {
    var pk = Object.assign({}, data.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    return pk;
  }

  function credentialJson(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return out;
  }

  // POSTs JSON to the account API; resolves with `data`, rejects with the refusal's message.
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!answer.success) {
          throw new Error(answer.message || String(response.status));
        }
        return answer.data;
      });
    });
  }

  function reporter(container) {
    return function (error) {
      var box = container.querySelector("[role=alert]");
      var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
      box.textContent = cancelled
        ? container.getAttribute("data-cancelled")
        : container.getAttribute("data-failed") + (error && error.message ? error.message : "");
      box.hidden = false;
    };
  }

  // A sign-in ceremony: `begin` and `finish` are the API paths; `conditional` asks for the
  // autofill prompt instead of a dialog.
  function ceremony(begin, finish, signal, conditional) {
    return post(begin).then(function (data) {
      var request = { publicKey: requestOptions(data), signal: signal };
      if (conditional) {
        request.mediation = "conditional";
      }
      return navigator.credentials.get(request);
    }).then(function (credential) {
      return post(finish, credentialJson(credential));
    });
  }

  function signInButton(container, button, begin, finish, autofill) {
    var report = reporter(container);
    var target = container.getAttribute("data-return-to") || "/";
    var controller = null;
    var run = function (conditional) {
      if (controller) {
        controller.abort();
      }
      controller = new AbortController();
      return ceremony(begin, finish, controller.signal, conditional).then(function () {
        window.location.assign(target);
      });
    };
    button.hidden = false;
    button.addEventListener("click", function () {
      run(false).catch(report);
    });
    if (autofill && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          run(true).catch(function (error) {
            if (!error || error.name !== "AbortError") {
              report(error);
            }
          });
        }
      });
    }
  }

  var login = document.querySelector("[data-passkey-login]");
  if (login) {
    signInButton(login, document.getElementById("passkey-sign-in"),
      "/api/user/passkey/login/begin", "/api/user/passkey/login/finish", true);
  }

  var second = document.querySelector("[data-passkey-second-factor]");
  if (second) {
    signInButton(second, document.getElementById("passkey-second-factor"),
      "/api/user/login/2fa/passkey/begin", "/api/user/login/2fa/passkey/finish", false);
  }

  var enrol = document.querySelector("[data-passkey-enrol]");
  if (enrol) {
    var add = document.getElementById("passkey-add");
    var report = reporter(enrol);
    add.hidden = false;
    add.addEventListener("click", function () {
      var name = document.getElementById("passkey-new-name").value;
      add.disabled = true;
      post("/api/user/passkey/register/begin").then(function (data) {
        return navigator.credentials.create({ publicKey: creationOptions(data) });
      }).then(function (credential) {
        return post("/api/user/passkey/register/finish", { name: name, credential: credentialJson(credential) });
      }).then(function () {
        window.location.assign("/user/security?done=passkey_added#passkeys");
      }).catch(function (error) {
        add.disabled = false;
        report(error);
      });
    });
  }
})();

// A page that shows a secret for the last time (data-warn-leave on its box) asks before the
// browser leaves it, unless the developer said they saved it (a form marked data-leave-ok) or
// switches the language (the page comes back with the secret). The box itself says so in words.
(function () {
  "use strict";
  var box = document.querySelector("[data-warn-leave]");
  if (!box) {
    return;
  }
  var leaving = false;
  document.querySelectorAll("form[data-leave-ok]").forEach(function (form) {
    form.addEventListener("submit", function () { leaving = true; });
  });
  document.querySelectorAll("a.lang").forEach(function (link) {
    link.addEventListener("click", function () { leaving = true; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (leaving) {
      return undefined;
    }
    event.preventDefault();
    event.returnValue = box.getAttribute("data-warn-leave");
    return event.returnValue;
  });
})();
