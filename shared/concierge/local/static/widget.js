/*
 * Concierge chat widget: one <script> tag on a storefront's page (docs/widget.md).
 *
 *   <script src="https://CONCIERGE/widget.js" defer
 *           data-api-url="https://API" data-api-key="STOREFRONT_API_KEY"
 *           data-token-url="/concierge/token"></script>
 *
 * The widget asks the storefront's own backend for the signed-in customer's token (POST data-token-url, with the
 * storefront's cookies; it answers {"token", "expires_at"}), never holds a signing key, and sends the token to the
 * Concierge API with the API key. Everything it draws lives in a shadow root: the storefront's CSS does not reach
 * it, and its CSS does not reach the storefront. Plain JavaScript, no build step, no dependency.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.ConciergeWidget) return; // one widget per page, whatever the number of tags

  // ---- Configuration: the script tag's data- attributes ----
  function attribute(name) {
    const value = script.getAttribute("data-" + name);
    return value && value.trim() ? value.trim() : null;
  }
  function absolute(url, base) {
    try {
      return new URL(url, base).href;
    } catch (_) {
      return null;
    }
  }
  const settings = {
    apiUrl: attribute("api-url") && absolute(attribute("api-url"), location.href),
    apiKey: attribute("api-key"),
    tokenUrl: attribute("token-url") && absolute(attribute("token-url"), location.href),
    configUrl: attribute("config-url") && absolute(attribute("config-url"), location.href),
    signInUrl: attribute("sign-in-url") && absolute(attribute("sign-in-url"), location.href),
  };
  const missing = ["api-url", "api-key", "token-url"].filter((name) => !attribute(name));
  if (missing.length || !settings.apiUrl || !settings.tokenUrl) {
    console.error(`Concierge widget: the script tag needs ${missing.length ? missing.map((m) => "data-" + m).join(", ") : "valid URLs in data-api-url and data-token-url"} (docs/widget.md).`);
    return;
  }
  settings.apiUrl = settings.apiUrl.replace(/\/+$/, "");
  settings.configUrl = settings.configUrl || settings.apiUrl + "/v1/widget-config"; // the API's, from merchant.json

  const TOKEN_MARGIN_MS = 60 * 1000; // a token this close to its expiry is replaced before it is sent
  const TEAM_POLL_MS = 3000;
  const STORAGE_KEY = "concierge-widget:" + settings.apiUrl;
  const DEFAULT_COLOURS = { primary_colour: "#2f5d8a", text_on_primary: "#ffffff" };
  const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
  const UNREACHABLE = "We couldn't reach the chat service. Please check your connection and try again.";
  const TOOL_LABELS = {
    track_shipment: "Order tracking", find_orders: "Order lookup", get_product: "Product details", build_cart: "Cart",
    return_items: "Return", cancel_order: "Cancellation", modify_order: "Order change",
    send_password_reset: "Password reset", get_store_credit: "Store credit",
    find_appointment_slots: "Appointment times", book_appointment: "Appointment", send_message: "Message",
    confirm_action: "Confirmation", cancel_action: "Request withdrawn", issue_discount_code: "Discount code",
    create_handoff: "Passed to our team",
  };
  const STATUS_LABELS = {
    executed: "done", pending_confirmation: "waiting for your confirmation",
    awaiting_approval: "waiting for our team's approval", denied: "not possible", failed: "didn't work",
  };

  // ---- The conversation of this browser tab survives page changes in sessionStorage ----
  function loadSaved() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch (_) {
      return {}; // storage blocked, or not ours: start afresh
    }
  }
  function save() {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ conversationId: state.conversationId, open: state.open }));
    } catch (_) { /* storage blocked: the conversation lasts as long as the page */ }
  }
  const saved = loadSaved();
  const state = {
    config: null, configPromise: null,
    token: null, refreshAt: 0, tokenPromise: null,
    conversationId: typeof saved.conversationId === "string" && /^[\w-]{1,80}$/.test(saved.conversationId) ? saved.conversationId : "",
    open: false, started: false, busy: false, closed: false, signedOut: false,
    epoch: 0, watching: false, seenSeq: 0,
  };

  // ---- The page: a host element and its shadow root ----
  const host = document.createElement("div");
  host.setAttribute("data-concierge-widget", "");
  // Where the widget sits, inline and important: a storefront rule on its divs cannot move or hide it.
  for (const [name, value] of [["position", "fixed"], ["right", "16px"], ["bottom", "16px"], ["left", "auto"],
    ["top", "auto"], ["z-index", "2147483000"], ["display", "block"], ["margin", "0"], ["padding", "0"],
    ["width", "auto"], ["height", "auto"], ["transform", "none"]]) host.style.setProperty(name, value, "important");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
<style>
  :host { all: initial; --primary: ${DEFAULT_COLOURS.primary_colour}; --on-primary: ${DEFAULT_COLOURS.text_on_primary}; }
  /* Nothing inherited from the storefront: every inherited property starts afresh here. */
  .wrap { all: initial; display: block; position: relative; color: #1f2933;
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  *, *::before, *::after { box-sizing: border-box; }
  [hidden] { display: none !important; }
  button, input { font: inherit; color: inherit; margin: 0; }
  button { cursor: pointer; }
  :focus-visible { outline: 3px solid #1f2933; outline-offset: 2px; }
  .launcher { display: inline-flex; align-items: center; gap: .5rem; min-height: 48px; padding: .7rem 1.1rem;
              border: 0; border-radius: 999px; background: var(--primary); color: var(--on-primary);
              font-weight: 600; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); float: right; }
  .launcher svg { width: 22px; height: 22px; flex: none; }
  .launcher .when-open, .open .launcher .when-closed { display: none; }
  .open .launcher .when-open { display: block; }
  .panel { position: absolute; right: 0; bottom: 64px; width: min(380px, calc(100vw - 40px));
           height: min(600px, calc(100vh - 110px)); display: flex; flex-direction: column; overflow: hidden;
           background: #fff; border: 1px solid #d5dae1; border-radius: 14px; box-shadow: 0 10px 40px rgba(0, 0, 0, .22); }
  .head { display: flex; align-items: center; gap: .5rem; padding: .75rem .75rem .75rem 1rem;
           background: var(--primary); color: var(--on-primary); }
  .head .titles { flex: 1; min-width: 0; }
  .head h2 { margin: 0; font-size: 1.05rem; line-height: 1.3; overflow-wrap: anywhere; }
  .head p { margin: 0; font-size: .8rem; }
  .head button { flex: none; display: inline-flex; align-items: center; justify-content: center; width: 40px;
                  height: 40px; padding: 0; border: 0; border-radius: 8px; background: transparent; color: inherit; }
  .head button:hover { background: rgba(127, 127, 127, .25); }
  .head button svg { width: 20px; height: 20px; }
  .head :focus-visible { outline-color: var(--on-primary); outline-offset: -3px; }
  .log { flex: 1; min-height: 0; overflow-y: auto; padding: 1rem; display: flex; flex-direction: column; gap: .6rem;
         background: #f7f8fa; }
  .log:focus-visible { outline-offset: -3px; }
  .msg { max-width: 85%; padding: .55rem .8rem; border-radius: 12px; overflow-wrap: anywhere; }
  .msg p { margin: 0; white-space: pre-wrap; }
  .msg .author { display: block; font-size: .75rem; color: #4b5563; }
  .msg.customer { align-self: flex-end; background: var(--primary); color: var(--on-primary); border-bottom-right-radius: 3px; }
  .msg.assistant { align-self: flex-start; background: #fff; border: 1px solid #dde1e6; border-bottom-left-radius: 3px; }
  .msg.agent { align-self: flex-start; background: #e9f5ee; border: 1px solid #b7dcc3; border-bottom-left-radius: 3px; }
  .msg.error { align-self: stretch; max-width: none; background: #fdecec; color: #8a1c1c; border: 1px solid #f3c2c2; }
  .msg.error a, .notice a { color: inherit; }
  .notice { align-self: center; text-align: center; font-size: .8rem; color: #4b5563; }
  .citations { margin: .45rem 0 0; padding: 0; list-style: none; font-size: .85rem; }
  .citations a { color: #1d4f91; }
  .actions { display: flex; flex-wrap: wrap; gap: .35rem; margin: .45rem 0 0; padding: 0; list-style: none; }
  .action { font-size: .75rem; padding: .1rem .55rem; border-radius: 999px; border: 1px solid #c9ced6; color: #374151; background: #fff; }
  .action[data-status="executed"] { border-color: #8cc5a0; color: #1e6b3a; }
  .action[data-status="pending_confirmation"], .action[data-status="awaiting_approval"] { border-color: #e2c074; color: #7a4b00; }
  .action[data-status="denied"], .action[data-status="failed"] { border-color: #e7a3a3; color: #8a1c1c; }
  .cart { margin: .5rem 0 0; display: flex; flex-direction: column; gap: .4rem; }
  .cart-lines { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: .4rem; }
  .cart-card { border: 1px solid #dde1e6; border-radius: 8px; padding: .45rem .6rem; display: flex; flex-direction: column; gap: .15rem; background: #fff; }
  .cart-card .title { font-weight: 600; color: #1f2933; }
  .cart-card .options, .cart-card .why { margin: 0; font-size: .78rem; color: #4b5563; }
  .cart-card .price { font-weight: 600; }
  .cart-card .was { color: #4b5563; font-weight: 400; margin-left: .3rem; }
  .add-to-cart { align-self: flex-start; min-height: 36px; margin-top: .2rem; padding: .3rem .8rem; border: 1px solid var(--primary); border-radius: 8px; background: #fff; color: #1f2933; }
  .add-to-cart[aria-pressed="true"] { border-color: #8cc5a0; color: #1e6b3a; }
  .cart-total { margin: 0; font-size: .85rem; }
  .cart-checkout { font-size: .85rem; color: #1d4f91; }
  .typing { align-self: flex-start; display: flex; gap: 4px; padding: .65rem .8rem; background: #fff; border: 1px solid #dde1e6; border-radius: 12px; }
  .typing span { width: 7px; height: 7px; border-radius: 50%; background: #6b7280; animation: blink 1.2s infinite ease-in-out; }
  .typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }
  @keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
  @media (prefers-reduced-motion: reduce) { .typing span { animation: none; } }
  .handoff { margin: 0; padding: .6rem 1rem; background: #fff6e0; color: #6b4200; border-top: 1px solid #ecd49a; font-size: .9rem; }
  .handoff strong { display: block; }
  form { display: flex; gap: .5rem; padding: .75rem; border-top: 1px solid #dde1e6; background: #fff; }
  input { flex: 1; min-width: 0; font-size: 16px; padding: .55rem .75rem; border: 1px solid #8a94a3; border-radius: 8px; background: #fff; color: #1f2933; }
  input:disabled { background: #f1f3f5; }
  .send { flex: none; min-height: 44px; padding: .5rem 1rem; border: 0; border-radius: 8px; background: var(--primary);
          color: var(--on-primary); font-weight: 600; }
  button:disabled { opacity: .6; cursor: not-allowed; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  @media (max-width: 480px) {
    .panel { position: fixed; inset: 0; width: 100vw; height: 100vh; height: 100dvh; border: 0; border-radius: 0; }
    .open .launcher { display: none; }
  }
</style>
<div class="wrap">
  <section class="panel" id="panel" role="dialog" aria-modal="false" aria-labelledby="title" hidden>
    <div class="head">
      <div class="titles">
        <h2 id="title">Chat with us</h2>
        <p>AI assistant · our team can take over</p>
      </div>
      <button type="button" id="restart" aria-label="Start a new conversation" title="New conversation">
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4"/></svg>
      </button>
      <button type="button" id="close" aria-label="Close chat" title="Close">
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>
      </button>
    </div>
    <div class="log" id="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></div>
    <div class="handoff" id="handoff" role="status" hidden></div>
    <form id="composer">
      <label for="message" class="sr-only">Your message</label>
      <input id="message" type="text" autocomplete="off" maxlength="4000" placeholder="Type your message…">
      <button type="submit" class="send" id="send">Send</button>
    </form>
  </section>
  <button type="button" class="launcher" id="launcher" aria-expanded="false" aria-controls="panel">
    <svg class="when-closed" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>
    <svg class="when-open" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" d="M6 9l6 6 6-6"/></svg>
    <span id="launcher-text">Chat with us</span>
  </button>
</div>`;
  const $ = (id) => root.getElementById(id);
  const wrap = root.querySelector(".wrap"), panel = $("panel"), log = $("log"), input = $("message"), sendButton = $("send");
  const launcher = $("launcher"), handoffBox = $("handoff");

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) if (c) node.appendChild(c);
    return node;
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function add(node) { log.appendChild(node); scrollDown(); return node; }
  function addNotice(text) { return add(el("p", { className: "notice", text })); }
  function addError(text, link) {
    const children = [el("p", { text })];
    if (link) children.push(el("p", {}, [el("a", { href: link.href, text: link.text })]));
    return add(el("div", { className: "msg error", role: "alert" }, children));
  }
  function addCustomer(text) { return add(el("div", { className: "msg customer" }, [el("span", { className: "sr-only", text: "You: " }), el("p", { text })])); }
  function addTeam(m) {
    const agent = m.role === "agent";
    return add(el("div", { className: agent ? "msg agent" : "msg assistant", "data-seq": String(m.seq) }, [
      el("span", { className: "author", text: agent ? `${m.author || "Our team"} · from our team` : "Assistant" }),
      el("p", { text: String(m.text || "") }),
    ]));
  }
  function safeUrl(url) { // citations point into the storefront's own help center: relative to this page
    const href = absolute(String(url), location.href);
    return href && /^(https?|mailto):/i.test(href) ? href : null;
  }
  function randomHex(bytes) {
    const buffer = new Uint8Array(bytes);
    crypto.getRandomValues(buffer);
    return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  class WidgetError extends Error {
    constructor(message, kind, status) { super(message); this.kind = kind; this.status = status || 0; }
  }

  // ---- The merchant's name and colours (GET /v1/widget-config of the API: public, nothing personal) ----
  function colour(value, fallback) { return typeof value === "string" && HEX.test(value) ? value : fallback; }
  function loadConfig() {
    if (!state.configPromise) {
      state.configPromise = fetch(settings.configUrl, { credentials: "omit", cache: "no-cache" })
        .then((res) => (res.ok ? res.json() : Promise.reject(new WidgetError(UNREACHABLE, "config", res.status))))
        .then((config) => {
          state.config = config && typeof config === "object" ? config : {};
          showConfig();
          return state.config;
        })
        .catch((error) => {
          state.configPromise = null; // asked again on the next opening
          throw error instanceof WidgetError ? error : new WidgetError(UNREACHABLE, "network");
        });
    }
    return state.configPromise;
  }
  function storeName() { return state.config && typeof state.config.name === "string" && state.config.name.trim() ? state.config.name.trim() : ""; }
  function showConfig() {
    const brand = (state.config && state.config.brand) || {};
    host.style.setProperty("--primary", colour(brand.primary_colour, DEFAULT_COLOURS.primary_colour));
    host.style.setProperty("--on-primary", colour(brand.text_on_primary, DEFAULT_COLOURS.text_on_primary));
    const name = storeName();
    $("title").textContent = name || "Chat with us";
    const greeting = root.querySelector("[data-greeting] p");
    if (greeting) greeting.textContent = greetingText();
  }
  function greetingText() {
    const name = storeName();
    return `${name ? `Welcome to ${name}! ` : "Welcome! "}I'm the shop's AI assistant: ask me about your orders, returns or ` +
      "anything else. If you'd rather talk to a person, just say so.";
  }

  // ---- The customer token: minted by the storefront's backend for whoever is signed in there ----
  function jwtExpiry(token) {
    try {
      const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof payload.exp === "number" ? payload.exp : null;
    } catch (_) {
      return null;
    }
  }
  async function mintToken() {
    let res;
    try {
      res = await fetch(settings.tokenUrl, { method: "POST", credentials: "include", cache: "no-store", headers: { Accept: "application/json" } });
    } catch (_) {
      throw new WidgetError("We couldn't check that you're signed in. Please try again in a moment.", "network");
    }
    if (res.status === 401 || res.status === 403) {
      state.signedOut = true;
      throw new WidgetError("Please sign in to your account to chat with us about your orders.", "signed-out", res.status);
    }
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok || !data || typeof data.token !== "string" || !data.token) {
      throw new WidgetError("We couldn't sign you in to the chat. Please try again in a moment.", "token", res.status);
    }
    state.signedOut = false;
    const expiresAt = typeof data.expires_at === "number" ? data.expires_at : jwtExpiry(data.token);
    state.token = data.token;
    state.refreshAt = expiresAt ? expiresAt * 1000 - TOKEN_MARGIN_MS : Infinity;
    return data.token;
  }
  // The current token, or a new one when it is about to expire or the API refused `stale`. Concurrent callers share
  // one request to the storefront.
  function customerToken(stale) {
    const current = state.token && state.token !== stale && (stale || Date.now() < state.refreshAt);
    if (current) return Promise.resolve(state.token);
    if (!state.tokenPromise) state.tokenPromise = mintToken().finally(() => { state.tokenPromise = null; });
    return state.tokenPromise;
  }

  // ---- The Concierge API, as the local chat page calls it (README: The API) ----
  async function api(path, method, body) {
    let token = await customerToken(null);
    let reminted = false;
    for (let busyRetries = 0; ; ) {
      let res;
      try {
        res = await fetch(settings.apiUrl + path, {
          method, body: body === undefined ? undefined : JSON.stringify(body),
          headers: { "x-api-key": settings.apiKey, Authorization: "Bearer " + token, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
          credentials: "omit", cache: "no-store",
        });
      } catch (_) {
        throw new WidgetError(UNREACHABLE, "network"); // offline, or this page's origin is not allowed (CORS)
      }
      let data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (res.status === 401 && !reminted) { // expired, or refused: a new token from the storefront, once
        reminted = true;
        token = await customerToken(token);
        continue;
      }
      const retryAfter = Number(res.headers.get("Retry-After")) || 0;
      if (res.status === 409 && retryAfter && busyRetries++ < 3) { // another message was being taken in: send again
        await sleep(Math.min(retryAfter, 10) * 1000);
        continue;
      }
      if (!res.ok) {
        const message = res.status === 401 ? "Your session has expired. Please sign in again."
          : data && typeof data.message === "string" ? data.message : `Something went wrong (${res.status}).`;
        throw new WidgetError(message, res.status === 401 ? "signed-out" : "api", res.status);
      }
      return data;
    }
  }
  const conversationPath = (id, tail) => `/v1/conversations/${encodeURIComponent(id)}/${tail}`;

  // ---- A cart the assistant built (the reply's `cart`, docs/shopping.md): one card per line ----
  // "Add to cart" dispatches a cancelable `concierge:add-to-cart` event on the storefront's window (detail: product_id,
  // sku, quantity, title, unit_price, currency): the storefront's script adds the line and calls preventDefault().
  // When none does and the line has the storefront's add-to-cart link (merchant.json), the page goes to that link.
  function money(amount, currency) {
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(amount)); }
    catch (_) { return `${amount} ${currency}`; }
  }
  function addToCart(line, currency, button) {
    const detail = { product_id: line.product_id, sku: line.sku, quantity: line.quantity, title: line.title,
                     unit_price: line.unit_price, currency };
    const event = new CustomEvent("concierge:add-to-cart", { detail, cancelable: true });
    window.dispatchEvent(event);
    const link = line.add_to_cart_url ? safeUrl(line.add_to_cart_url) : null;
    if (event.defaultPrevented) { button.textContent = "Added to cart"; button.setAttribute("aria-pressed", "true"); }
    else if (link) window.location.assign(link);
  }
  function cartView(cart) {
    const currency = String((cart.totals && cart.totals.currency) || "USD");
    const list = el("ul", { className: "cart-lines", "aria-label": "Items in the suggested cart" });
    for (const line of cart.lines) {
      const href = line.url ? safeUrl(line.url) : null;
      const title = String(line.title || line.sku);
      const options = Object.values(line.options || {}).map(String).join(", ");
      const price = el("span", { className: "price", text: money(line.line_total, currency) });
      if (Number(line.discount) > 0) price.appendChild(el("s", { className: "was", text: money(Number(line.unit_price) * line.quantity, currency) }));
      const button = el("button", { type: "button", className: "add-to-cart", text: "Add to cart",
                                    "aria-label": `Add ${title} to cart`, "aria-pressed": "false" });
      button.addEventListener("click", () => addToCart(line, currency, button));
      const quantity = line.quantity > 1 ? `× ${line.quantity}` : "";
      list.appendChild(el("li", { className: "cart-card", "data-sku": String(line.sku) }, [
        href ? el("a", { className: "title", href, target: "_blank", rel: "noopener noreferrer", text: title })
             : el("span", { className: "title", text: title }),
        options || quantity ? el("p", { className: "options", text: [options, quantity].filter(Boolean).join(" ") }) : null,
        price,
        Array.isArray(line.why) && line.why.length ? el("p", { className: "why", text: line.why.map(String).join(" · ") }) : null,
        button,
      ]));
    }
    const totals = cart.totals || {};
    const delivery = totals.shipping === null || totals.shipping === undefined ? "delivery at checkout"
      : Number(totals.shipping) === 0 ? "free delivery" : `${money(totals.shipping, currency)} delivery`;
    const checkout = cart.checkout_url ? safeUrl(cart.checkout_url) : null;
    return el("div", { className: "cart", role: "group", "aria-label": "Suggested cart" }, [
      list,
      el("p", { className: "cart-total", text: `Total ${money(totals.total, currency)} (${delivery})` }),
      checkout ? el("a", { className: "cart-checkout", href: checkout, text: "Check out with this cart" }) : null,
    ]);
  }

  // ---- Showing a turn: reply, citations, what was done, handoff, close ----
  function addAssistant(data) {
    if (data && data.reply === null) { // a person from the team has the conversation: the assistant stays silent
      if (data.handoff) showHandoff(data.handoff, "");
      watchTeam();
      return;
    }
    const reply = (data && data.reply) || {};
    const text = String(reply.text || "");
    const bubble = el("div", { className: "msg assistant" }, [el("span", { className: "sr-only", text: "Assistant: " }), el("p", { text })]);
    const citations = Array.isArray(reply.citations) ? reply.citations : [];
    if (citations.length) {
      const list = el("ul", { className: "citations", "aria-label": "Sources" });
      for (const c of citations) {
        const href = safeUrl(c && c.url), label = String((c && (c.title || c.url)) || "Source");
        list.appendChild(el("li", {}, [href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label }) : el("span", { text: label })]));
      }
      bubble.appendChild(list);
    }
    const actions = Array.isArray(data && data.actions) ? data.actions : [];
    if (actions.length) {
      const list = el("ul", { className: "actions", "aria-label": "What the assistant did" });
      for (const a of actions) {
        const tool = String(a.tool || ""), status = String(a.status || "");
        const label = `${TOOL_LABELS[tool] || tool.replace(/_/g, " ")} · ${STATUS_LABELS[status] || status.replace(/_/g, " ")}`;
        list.appendChild(el("li", { className: "action", "data-tool": tool, "data-status": status, text: label }));
      }
      bubble.appendChild(list);
    }
    const cart = data && data.cart;
    if (cart && Array.isArray(cart.lines) && cart.lines.length) bubble.appendChild(cartView(cart));
    add(bubble);
    if (data && data.handoff) { showHandoff(data.handoff, text); watchTeam(); }
    if (data && data.conversation_status === "closed") {
      state.closed = true; // the next message starts a new conversation
      addNotice("This conversation has been closed. Write again to start a new one.");
    }
  }
  function showHandoff(handoff, replyText) {
    const message = String(handoff.message || "").trim();
    handoffBox.replaceChildren(
      el("strong", { text: "A person from our team will take it from here." }),
      message && !String(replyText || "").includes(message) ? el("span", { text: message }) : null,
    );
    handoffBox.dataset.reason = String(handoff.reason || "");
    handoffBox.hidden = false;
  }
  function clearHandoff() { handoffBox.hidden = true; handoffBox.replaceChildren(); }

  // While a person has the conversation, their replies arrive by polling (as on the local chat page).
  async function watchTeam() {
    if (state.watching) return;
    state.watching = true;
    const epoch = state.epoch, id = state.conversationId;
    let first = true;
    while (epoch === state.epoch) {
      try {
        const data = await api(conversationPath(id, "messages") + `?after=${state.seenSeq}`, "GET");
        if (epoch !== state.epoch) break;
        for (const m of data.messages || []) {
          if (m.role === "agent" || (!first && m.role === "assistant")) addTeam(m);
          state.seenSeq = Math.max(state.seenSeq, Number(m.seq) || 0);
        }
        first = false;
        if (data.owner === "ai" || data.conversation_status === "closed") {
          clearHandoff();
          if (data.conversation_status === "closed") {
            state.closed = true;
            addNotice("Our team has closed this conversation. Write again here if you still need help.");
          } else {
            addNotice("You're back with the AI assistant.");
          }
          break;
        }
      } catch (error) {
        if (error.kind === "signed-out") break;
      }
      await sleep(TEAM_POLL_MS);
    }
    if (epoch === state.epoch) state.watching = false;
  }

  // The conversation kept in sessionStorage, as the API has it (a page change, a reload).
  async function restore() {
    const epoch = state.epoch, id = state.conversationId;
    let after = 0, data = null;
    for (let page = 0; page < 20; page++) {
      try {
        data = await api(conversationPath(id, "messages") + `?after=${after}`, "GET");
      } catch (error) {
        if (error.status === 404 && epoch === state.epoch) { // not this customer's, or never started: a new one
          state.conversationId = "";
          save();
        }
        return;
      }
      if (epoch !== state.epoch) return;
      const messages = Array.isArray(data.messages) ? data.messages : [];
      for (const m of messages) {
        if (m.role === "customer") addCustomer(String(m.text || ""));
        else if (m.role === "assistant" || m.role === "agent") addTeam(m);
        after = Math.max(after, Number(m.seq) || 0);
      }
      if (messages.length < 50) break;
    }
    state.seenSeq = after;
    if (data && data.conversation_status === "closed") state.closed = true;
    else if (data && data.owner === "human") { showHandoff({ reason: "", message: "" }, ""); watchTeam(); }
  }

  // ---- Sending ----
  function setBusy(busy) {
    state.busy = busy;
    const ready = !busy && !state.signedOut;
    input.disabled = !ready;
    sendButton.disabled = !ready;
  }
  function newConversation() {
    state.epoch++;
    state.watching = false; state.seenSeq = 0; state.closed = false;
    state.conversationId = "web-" + randomHex(8);
    save();
  }
  async function send(text) {
    text = String(text || "").trim();
    if (!text || state.busy) return;
    if (!state.config) loadConfig().catch(() => { /* the name and colours stay neutral */ });
    if (!state.conversationId || state.closed) newConversation();
    const epoch = state.epoch, id = state.conversationId;
    addCustomer(text);
    input.value = "";
    setBusy(true);
    const typing = add(el("div", { className: "typing", role: "status", "aria-label": "The assistant is typing" }, [el("span"), el("span"), el("span")]));
    try {
      const data = await api(conversationPath(id, "messages"), "POST", { text, channel: "web" });
      if (epoch === state.epoch) addAssistant(data);
    } catch (error) {
      if (epoch === state.epoch) showProblem(error);
    } finally {
      typing.remove();
      if (epoch === state.epoch) {
        setBusy(false);
        if (!input.disabled) input.focus();
      }
    }
  }
  function showProblem(error) {
    const signIn = error.kind === "signed-out" && settings.signInUrl ? { href: settings.signInUrl, text: "Sign in" } : null;
    const shown = addError(error.message || "Something went wrong.", signIn);
    if (error.kind === "signed-out") {
      const hadFocus = root.activeElement === input;
      setBusy(false); // nothing can be sent until the storefront signs the customer in
      if (hadFocus) (shown.querySelector("a") || $("close")).focus();
    }
  }

  // ---- Opening and closing ----
  async function start() { // the first opening on this page: greeting, then the saved conversation if any
    state.started = true;
    add(el("div", { className: "msg assistant", "data-greeting": "" }, [el("p", { text: greetingText() })]));
    try {
      await loadConfig();
    } catch (error) {
      showProblem(error);
      return;
    }
    try {
      await customerToken(null);
    } catch (error) {
      showProblem(error);
      return;
    }
    setBusy(false);
    if (state.conversationId) await restore();
  }
  function open(focus) {
    if (state.open) return;
    state.open = true;
    panel.hidden = false;
    wrap.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    $("launcher-text").textContent = "Close chat";
    save();
    if (!state.started) start();
    scrollDown();
    if (focus !== false) (input.disabled ? $("close") : input).focus();
  }
  function close() {
    if (!state.open) return;
    state.open = false;
    panel.hidden = true;
    wrap.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    $("launcher-text").textContent = "Chat with us";
    save();
    launcher.focus();
  }
  launcher.addEventListener("click", () => (state.open ? close() : open()));
  $("close").addEventListener("click", close);
  $("restart").addEventListener("click", () => {
    state.epoch++;
    state.conversationId = ""; state.closed = false; state.watching = false; state.seenSeq = 0;
    save();
    clearHandoff();
    log.replaceChildren();
    state.started = false;
    start().then(() => input.focus());
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); send(input.value); });

  window.ConciergeWidget = { open: () => open(), close };
  function mount() {
    document.body.appendChild(host);
    loadConfig().catch(() => { /* told when the customer opens the chat */ });
    if (saved.open) open(false);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
