// The operators' sign-in, shared by the agent console and the KPI dashboard. It reads /site-config.json (the
// `SiteConfig` of concierge/web/sites.py) and signs the operator in the way it names:
// - "local" (the dev server): its session URL signs in any operator id with the groups asked for;
// - "cognito" (deployed): the Cognito hosted UI, authorization code with PKCE for a public app client (no secret).
// Every API call then goes through `api(path, init)`, which sends the operator's ID token in Authorization (raw, as
// API Gateway's Cognito authorizer takes it); deployed, an ID token is refreshed a minute before it expires and once
// after a 401, and the call is made again once. The claims are read for display only: the API checks the token.
(function () {
  "use strict";

  // Where the tokens live: sessionStorage, for this tab only. A reload keeps the operator signed in (no round trip
  // through the hosted UI, which asks for the password again once its own session is over); closing the tab, or
  // "Sign out", forgets them, and another tab signs in on its own. Unlike a cookie they are never sent by the browser
  // on its own (no cross-site request can use them). Keeping them in memory instead would not keep them from a
  // script running in the page, which could make the same calls with them: what keeps other scripts out is the
  // pages' content security policy (their own files only: no inline script, no eval).
  const TOKENS = "concierge-operator-tokens"; // {idToken, refreshToken}
  const PENDING = "concierge-operator-sign-in"; // {state, verifier, redirectUri}: one sign-in's round trip
  const SIGNED_OUT = "concierge-operator-signed-out"; // set on "Sign out", read once on the way back
  const EARLY_MS = 60000; // an ID token is refreshed this long before it expires
  const RETURN_PARAMS = ["code", "state", "error", "error_description", "error_uri"];

  const read = (key) => {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (_) {
      return null;
    }
  };
  const write = (key, value) => sessionStorage.setItem(key, JSON.stringify(value));
  const never = () => new Promise(() => {}); // the page is on its way elsewhere

  function base64url(bytes) {
    let text = "";
    bytes.forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  const random = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));
  async function challengeOf(verifier) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }
  // A JWT's payload, for display only (who is signed in, when the token expires): the API checks the signature.
  function claimsOf(token) {
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
    } catch (_) {
      return {};
    }
  }

  function send(url, init, token) {
    const headers = new Headers((init && init.headers) || {});
    headers.set("Authorization", token);
    return fetch(url, { ...init, headers });
  }

  // A message above the page with one button (sign in again, or sign in after signing out).
  function tell(notice, text, kind, action, onAction) {
    if (!notice) return;
    notice.setAttribute("role", kind === "error" ? "alert" : "status");
    notice.className = kind;
    const message = document.createElement("p");
    message.textContent = text;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action;
    button.addEventListener("click", onAction);
    notice.replaceChildren(message, button);
    notice.hidden = false;
  }

  // ---- Local: the dev server signs any operator id in ----
  function local(signIn, base) {
    let session = null; // {token, operator: {name, groups}}
    return {
      kind: "local",
      operator: () => (session ? session.operator : null),
      async signInAs(operatorId, groups) {
        const url = new URL(signIn.sessionUrl, location.href);
        url.searchParams.set("operator_id", operatorId);
        url.searchParams.set("groups", groups.join(","));
        const response = await fetch(url);
        const data = await response.json().catch(() => null);
        session = response.ok && data ? { token: data.token, operator: { name: data.operator_id, groups: data.groups } } : null;
        return this.operator();
      },
      async api(path, init) {
        if (!session) throw new Error("Not signed in.");
        return send(base + path, init, session.token);
      },
      signOut() { session = null; },
    };
  }

  // ---- Cognito: the hosted UI, authorization code with PKCE ----
  async function cognito(signIn, base, notice) {
    const domain = signIn.domain.replace(/\/$/, "");
    const here = location.origin + location.pathname; // the app client's callback and sign-out URL for this page

    async function token(fields) {
      // Form-encoded, a "simple" request: no preflight; the token endpoint answers with CORS for this origin.
      try {
        const response = await fetch(domain + "/oauth2/token", { method: "POST", body: new URLSearchParams(fields) });
        const data = await response.json().catch(() => ({}));
        return response.ok && data.id_token ? data : { error: data.error || "HTTP " + response.status, description: data.error_description };
      } catch (error) {
        return { error: "the sign-in service did not answer", description: error.message };
      }
    }

    async function beginSignIn() {
      sessionStorage.removeItem(TOKENS);
      sessionStorage.removeItem(SIGNED_OUT);
      const state = random(32);
      const verifier = random(32);
      write(PENDING, { state, verifier, redirectUri: here });
      const query = new URLSearchParams({
        response_type: "code", client_id: signIn.clientId, redirect_uri: here, scope: signIn.scopes, state,
        code_challenge: await challengeOf(verifier), code_challenge_method: "S256",
      });
      location.assign(domain + "/oauth2/authorize?" + query.toString().replace(/\+/g, "%20"));
      return never();
    }
    const refused = (text) => {
      tell(notice, text, "error", "Sign in again", beginSignIn);
      return null;
    };

    let refreshing = null;
    function refresh() {
      refreshing = refreshing || (async () => {
        const saved = read(TOKENS);
        if (!saved || !saved.refreshToken) return false;
        const answer = await token({ grant_type: "refresh_token", client_id: signIn.clientId, refresh_token: saved.refreshToken });
        if (answer.error) return false;
        write(TOKENS, { idToken: answer.id_token, refreshToken: answer.refresh_token || saved.refreshToken });
        return true;
      })().finally(() => { refreshing = null; });
      return refreshing;
    }
    // An ID token good for at least another minute; when it cannot be refreshed, the operator signs in again.
    async function fresh() {
      const saved = read(TOKENS);
      if (saved && (claimsOf(saved.idToken).exp || 0) * 1000 - Date.now() > EARLY_MS) return saved.idToken;
      return (await refresh()) ? read(TOKENS).idToken : beginSignIn();
    }

    // Back from the hosted UI: with an error, or with a code for this tab's sign-in (its state), taken once.
    const answer = new URLSearchParams(location.search);
    if (RETURN_PARAMS.some((name) => answer.has(name))) {
      const pending = read(PENDING);
      sessionStorage.removeItem(PENDING);
      const url = new URL(location.href);
      RETURN_PARAMS.forEach((name) => url.searchParams.delete(name));
      history.replaceState(null, "", url.pathname + url.search + url.hash);
      if (answer.has("error")) {
        const description = answer.get("error_description");
        return refused("Sign-in did not complete: " + answer.get("error") + (description ? " (" + description + ")" : "") + ".");
      }
      if (!pending || !answer.get("state") || pending.state !== answer.get("state")) {
        return refused("Sign-in refused: the answer from the sign-in page is not for a sign-in started in this tab.");
      }
      const tokens = await token({
        grant_type: "authorization_code", client_id: signIn.clientId, code: answer.get("code") || "",
        redirect_uri: pending.redirectUri, code_verifier: pending.verifier,
      });
      if (tokens.error) {
        return refused("Sign-in refused by the sign-in service: " + tokens.error + (tokens.description ? " (" + tokens.description + ")" : "") + ".");
      }
      write(TOKENS, { idToken: tokens.id_token, refreshToken: tokens.refresh_token });
      sessionStorage.removeItem(SIGNED_OUT);
    } else if (sessionStorage.getItem(SIGNED_OUT)) {
      sessionStorage.removeItem(SIGNED_OUT);
      tell(notice, "You have signed out.", "notice", "Sign in", beginSignIn);
      return null;
    }
    if (!read(TOKENS)) return beginSignIn();
    await fresh();
    let renewedAfter401 = null; // a token renewed after a 401 that gets a 401 too is not renewed again and again

    return {
      kind: "cognito",
      operator() {
        const claims = claimsOf((read(TOKENS) || {}).idToken || "");
        return { name: claims["cognito:username"] || "", groups: claims["cognito:groups"] || [] };
      },
      async api(path, init) {
        const idToken = await fresh();
        const response = await send(base + path, init, idToken);
        if (response.status !== 401 || idToken === renewedAfter401) return response;
        if (!(await refresh())) return beginSignIn();
        renewedAfter401 = read(TOKENS).idToken;
        return send(base + path, init, renewedAfter401);
      },
      // Sign out: revoke the refresh token (and the tokens it gave), forget them, and end the hosted UI's session.
      async signOut() {
        const saved = read(TOKENS);
        sessionStorage.removeItem(TOKENS);
        sessionStorage.removeItem(PENDING);
        sessionStorage.setItem(SIGNED_OUT, "1");
        if (saved && saved.refreshToken) {
          const body = new URLSearchParams({ token: saved.refreshToken, client_id: signIn.clientId });
          await fetch(domain + "/oauth2/revoke", { method: "POST", body }).catch(() => {});  // signing out goes on
        }
        location.assign(domain + "/logout?" + new URLSearchParams({ client_id: signIn.clientId, logout_uri: here }));
      },
    };
  }

  // The page's sign-in: resolves to {kind, operator(), api(path, init), signOut()} (and signInAs(id, groups) when
  // local), or to null when the operator is not signed in (`notice` then says why, with a button to sign in).
  // Deployed, with no token yet, the page goes to the hosted UI and this never resolves.
  async function start(options) {
    const response = await fetch("/site-config.json", { cache: "no-store" });
    if (!response.ok) throw new Error("/site-config.json: HTTP " + response.status);
    const config = await response.json();
    const base = (config.apiBase || "").replace(/\/$/, "");
    return config.signIn.kind === "cognito"
      ? cognito(config.signIn, base, options && options.notice)
      : local(config.signIn, base);
  }

  window.ConciergeSignIn = { start };
})();
