// The agent console (console.html): the queue of conversations waiting for a person, each one's handoff package,
// and the agent's actions on it (claim, reply, approve or deny, hand back, close), all through /v1/ as the signed-in
// operator (signin.js). A file of its own, not an inline script: the page runs under a policy that allows only the
// site's own scripts (concierge/web/sites.py).
(function () {
  "use strict";
  let session = null;
  let signing = null;  // the sign-in under way, if any: every action waits for it
  let selected = null;
  let current = null;
  let renderedPackage = "";
  let renderedQueue = "";
  const drafts = {};  // conversation id → what the agent has typed and not sent yet
  const $ = (id) => document.getElementById(id);

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k in node) node[k] = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.append(c));
    return node;
  }
  function rows(target, pairs) {
    target.replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v == null || v === "" ? "—" : String(v) })]));
  }
  function say(text, kind) { $("status").textContent = text; $("status").className = kind || ""; }

  // ---- Who is signed in. Locally, the id in the Agent field (and the Supervisor box) is who the dev server signs
  // in: the author the customer sees on a reply. Deployed, the identity is the sign-in's ID token, never a field. ----
  let auth = null;  // signin.js: the operator's sign-in and the API calls made with it
  function wanted() {
    return { agent: $("agent").value.trim(), groups: $("supervisor").checked ? "agent,supervisor" : "agent" };
  }
  function showOperator() {
    const supervisor = session && session.groups.includes("supervisor") ? " (supervisor)" : "";
    const prefix = auth && auth.kind === "local" ? "signed in as " : "Signed in as ";
    $("signed").textContent = session ? prefix + session.operator_id + supervisor : "not signed in";
    $("replying-as").textContent = session ? "Your replies are signed " + session.operator_id + " in the transcript and in the customer's web chat." : "";
  }
  async function signIn() {
    const { agent, groups } = wanted();
    const operator = await auth.signInAs(agent, groups.split(","));
    session = operator ? { operator_id: operator.name, groups: operator.groups, wanted: agent + "|" + groups } : null;
    showOperator();
    renderedPackage = "";  // what the agent may do depends on who they are
  }
  // Before any call: locally, the session matches the Agent field as it reads now (an id typed and not yet committed
  // with Enter or Tab is signed in first, so a reply never goes out under the previous agent's name).
  async function ensureSession() {
    if (!auth) throw new Error("Not signed in yet.");
    if (auth.kind !== "local") {
      const operator = auth.operator();
      session = { operator_id: operator.name, groups: operator.groups };
      return;
    }
    const { agent, groups } = wanted();
    if (signing) await signing;
    if (!session || session.wanted !== agent + "|" + groups) {
      signing = signIn().finally(() => { signing = null; });
      await signing;
    }
    if (!session) throw new Error("Not signed in: enter your agent id.");
  }
  async function api(method, path, body) {
    await ensureSession();
    const json = body !== undefined;
    const res = await auth.api(path, { method, headers: json ? { "Content-Type": "application/json" } : {}, body: json ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || ("HTTP " + res.status));
    return data;
  }

  // ---- The queue ----
  const PRIORITY_HELP = "Priority 0–100, highest first (the queue is sorted by it, then by waiting time): 30 to start, "
    + "+30 for an urgent reason (a payment failure, an approval not decided in time), +15 if the customer is frustrated, "
    + "up to +20 for how upset they sound, up to +15 for what they spent recently.";
  function priorityBand(p) { return p >= 70 ? "urgent" : p >= 50 ? "high" : p >= 35 ? "normal" : "low"; }
  function since(iso) {
    const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
    if (minutes < 1) return "less than a minute";
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " days";
  }

  async function loadQueue() {
    await ensureSession();
    const filter = $("queue-filter").value;
    const data = await api("GET", "/v1/handoffs" + (filter ? "?queue=" + encodeURIComponent(filter) : ""));
    const minute = Math.floor(Date.now() / 60000);  // the waiting times move on
    const key = JSON.stringify(data) + "|" + selected + "|" + minute;
    if (key === renderedQueue) return;
    renderedQueue = key;
    const select = $("queue-filter");
    if (select.options.length === 1) data.queues.forEach((q) => select.append(el("option", { value: q, text: q })));
    $("empty").hidden = data.handoffs.length > 0;
    const active = document.activeElement;
    const focused = active && active.closest && active.closest("#queue li") ? active.closest("#queue li").dataset.conversation : null;
    $("queue").replaceChildren(...data.handoffs.map((h) => {
      const band = priorityBand(h.priority);
      const waited = h.state === "assigned" ? "handed off " + since(h.handoff_at) + " ago"
        : "waiting " + since(h.handoff_at);
      const item = el("li", { role: "option", dataset: { conversation: h.conversation_id, testid: "queue-item" } }, [
        el("div", { className: "top" }, [
          el("span", { className: "who", text: h.customer_name ? h.customer_name + " (" + h.customer_id + ")" : h.customer_id }),
          el("span", { className: "pill " + h.state, text: h.state === "assigned" ? "with " + h.assigned_to : "waiting" }),
        ]),
        el("div", { className: "reason", text: h.reason }),
        el("div", { className: "meta" }, [
          el("span", { className: "prio prio-" + band, title: PRIORITY_HELP, dataset: { testid: "priority" },
                       text: band + " priority (" + h.priority + "/100)" }),
          " · ", el("span", { className: "waited", text: waited }),
        ]),
        el("div", { className: "meta", text: h.queue + " queue · " + h.channel
          + (h.within_hours ? "" : " · promised by " + new Date(h.promised_by).toLocaleString()) }),
      ]);
      item.setAttribute("aria-selected", String(h.conversation_id === selected));
      item.tabIndex = 0;  // in the tab order: Enter or Space opens it, the arrow keys move along the queue
      item.addEventListener("click", () => open(h.conversation_id));
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open(h.conversation_id).catch((e) => say(e.message, "error"));
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          const next = event.key === "ArrowDown" ? item.nextElementSibling : item.previousElementSibling;
          if (next) next.focus();
        }
      });
      return item;
    }));
    // A redrawn queue keeps the keyboard's place: the entry that had the focus has it again.
    if (focused) {
      const again = [...$("queue").children].find((li) => li.dataset.conversation === focused);
      if (again) again.focus();
    }
  }

  // ---- The package ----
  async function open(conversationId) {
    if (selected !== conversationId) {
      if (selected) drafts[selected] = $("reply").value;
      $("reply").value = drafts[conversationId] || "";
      say("");
    }
    selected = conversationId;
    const fresh = await api("GET", "/v1/handoffs/" + encodeURIComponent(conversationId));
    // Re-render only what changed: a button redrawn under the agent's pointer would swallow the click.
    const key = session.operator_id + "|" + JSON.stringify(fresh);
    if (key !== renderedPackage && selected === conversationId) {
      current = fresh;
      renderedPackage = key;
      render(current);
    }
    document.querySelectorAll("#queue li").forEach((li) => li.setAttribute("aria-selected", String(li.dataset.conversation === selected)));
  }

  function render(p) {
    $("pick").hidden = true;
    $("detail").hidden = false;
    $("detail-title").textContent = "Conversation " + p.conversation_id;
    const h = p.handoff;
    const mine = h.state === "assigned" && h.assigned_to === session.operator_id;
    const claim = el("button", { className: "primary", id: "claim", text: "Claim", title: "C", disabled: h.state !== "waiting" });
    claim.addEventListener("click", () => act(() => api("POST", "/v1/handoffs/" + p.conversation_id + "/claim"), "Claimed."));
    const band = priorityBand(h.priority);
    $("owner-row").replaceChildren(
      el("span", { className: "pill " + h.state, id: "owner", text: h.state === "assigned" ? "assigned to " + h.assigned_to : h.state }),
      el("span", { className: "pill", title: PRIORITY_HELP, text: "queue " + h.queue + " · " + band + " priority (" + h.priority + "/100)" }),
      el("span", { className: "pill", text: "handed off " + since(h.handoff_at) + " ago: " + h.reason }),
      claim,
    );
    const c = p.customer;
    rows($("customer"), [["Name", c.name], ["Email", c.email], ["Verified", c.verified ? "yes" : "no"],
      ["Customer since", c.customer_since && c.customer_since.slice(0, 10)], ["Earlier conversations", c.conversations_before],
      ["Recent spend", c.lifetime_value_recent]]);
    const pr = p.problem;
    rows($("problem"), [["Summary", pr.summary], ["Intent", pr.intent],
      ["Sentiment", pr.sentiment_trajectory.map((s) => (s > 0 ? "+" : "") + s.toFixed(2)).join(" → ")]]);
    $("tried").replaceChildren(...(pr.already_tried.length ? pr.already_tried.map((t) =>
      el("li", { text: t.tool + ": " + t.status + (t.reason ? " (" + t.reason + ")" : "") + (t.explanation ? " — " + t.explanation : "") }))
      : [el("li", { text: "Nothing yet." })]));
    $("orders").replaceChildren(...(p.orders.length ? p.orders.map((o) =>
      el("li", { text: o.order_id + " · " + o.status + " · " + o.total + " " + o.currency + " · " + o.items.join(", ")
        + (o.tracking ? " · tracking " + o.tracking : "") + (p.open_orders.includes(o.order_id) ? " (open)" : "") }))
      : [el("li", { text: "No orders (or the sender is not verified)." })]));
    // Earlier conversations: their summaries, counted; what we know (facts) is a list of its own.
    const summaries = p.history.summaries;
    const count = Math.max(c.conversations_before || 0, summaries.length);
    $("history-title").textContent = "Earlier conversations (" + count + ")";
    $("history").replaceChildren(...(summaries.length
      ? [...summaries.map((s) => el("li", { text: (s.closed_at ? s.closed_at.slice(0, 10) + " · " : "") + (s.channel ? s.channel + " · " : "") + s.text })),
         ...(count > summaries.length ? [el("li", { className: "more", text: "and " + (count - summaries.length) + " older, not summarised here." })] : [])]
      : [el("li", { text: count ? count + " earlier, none summarised here." : "First contact." })]));
    $("facts").replaceChildren(...(p.history.facts.length ? p.history.facts.map((t) => el("li", { text: t }))
      : [el("li", { text: "Nothing recorded." })]));
    $("approvals-box").hidden = p.pending_approvals.length === 0;
    $("approvals").replaceChildren(...p.pending_approvals.map((a) => {
      const approve = el("button", { className: "primary", text: "Approve" });
      const deny = el("button", { className: "danger", text: "Deny" });
      approve.addEventListener("click", () => act(() => api("POST", "/v1/approvals/" + a.action_id + "/approve", {}), "Approved: it executes and the customer is told."));
      deny.addEventListener("click", () => act(() => api("POST", "/v1/approvals/" + a.action_id + "/deny", { note: $("reply").value.trim().slice(0, 500) }), "Denied: the customer is told."));
      return el("div", { className: "approval" }, [el("div", { text: a.summary + " — " + a.reason }), el("div", { className: "row" }, [approve, deny])]);
    }));
    $("transcript").replaceChildren(...p.transcript.map((m) => el("div", { className: "msg " + m.role, dataset: { role: m.role } }, [
      el("small", { text: (m.role === "agent" ? (m.author || "agent") + (m.author === session.operator_id ? " (you)" : "") : m.role)
        + " · " + (m.channel || "") }), document.createTextNode(m.text)])));
    $("transcript").scrollTop = $("transcript").scrollHeight;
    $("insert-suggestion").title = p.suggested_reply;
    ["send", "hand-back", "close"].forEach((id) => { $(id).disabled = !mine; });
  }

  async function act(call, done) {
    let ok = false;
    try {
      await call();
      say(done, "ok");
      ok = true;
    } catch (error) {
      say(error.message, "error");
    }
    await loadQueue().catch(() => {});
    if (selected) await open(selected).catch(() => {});
    return ok;
  }

  function insertSuggestion() {
    if (!current) return;
    const box = $("reply"), text = current.suggested_reply;
    if (!box.value.trim()) box.value = text;
    else box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
    if (selected) drafts[selected] = box.value;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }
  function send() {
    const text = $("reply").value.trim();
    if (!text) return say("Write a reply first.", "error");
    const conversation = selected;
    const id = "console-" + Date.now() + "-" + Math.random().toString(16).slice(2, 8);
    act(() => api("POST", "/v1/handoffs/" + conversation + "/messages", { text, message_id: id }), "Sent on the customer's channel.")
      .then((ok) => {
        if (!ok) return;  // a failed send keeps the text for another try
        delete drafts[conversation];
        if (selected === conversation && $("reply").value.trim() === text) $("reply").value = "";
      });
  }

  $("insert-suggestion").addEventListener("click", insertSuggestion);
  $("reply").addEventListener("input", () => { if (selected) drafts[selected] = $("reply").value; });
  $("send").addEventListener("click", send);
  $("hand-back").addEventListener("click", () => act(() => api("POST", "/v1/handoffs/" + selected + "/release", {}), "Handed back to the AI."));
  $("close").addEventListener("click", () => {
    const reason = $("close-reason").value.trim();
    if (reason.length < 3) return say("Give a resolution reason.", "error");
    act(() => api("POST", "/v1/handoffs/" + selected + "/close", { resolution: $("resolution").value, reason }), "Closed.");
  });
  $("queue-filter").addEventListener("change", () => loadQueue());
  $("agent").addEventListener("change", async () => { await ensureSession(); await loadQueue(); if (selected) await open(selected); });
  $("supervisor").addEventListener("change", async () => { await ensureSession(); if (selected) await open(selected); });

  // ---- Keyboard: single keys when not typing; in the reply box only Ctrl+Enter (send) and Esc (leave it) ----
  function enabled(id) { const b = $(id); return b && !b.disabled && !$("detail").hidden ? b : null; }
  function step(by) {
    const items = [...document.querySelectorAll("#queue li")];
    if (!items.length) return;
    const at = items.findIndex((li) => li.dataset.conversation === selected);
    const next = items[Math.min(items.length - 1, Math.max(0, at + by))];
    if (next) open(next.dataset.conversation).catch((e) => say(e.message, "error"));
  }
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if (event.target.id === "reply" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (enabled("send")) send();
      } else if (event.target.id === "reply" && event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const key = event.key.toLowerCase();
    const target = { c: "claim", h: "hand-back" }[key];
    if (target) {
      const button = enabled(target);
      if (button) { event.preventDefault(); button.click(); }
    } else if (key === "r" && !$("detail").hidden) {
      event.preventDefault();
      $("reply").focus();
    } else if (key === "i" && !$("detail").hidden) {
      event.preventDefault();
      insertSuggestion();
    } else if (key === "j") step(1);
    else if (key === "k") step(-1);
  });

  (async function init() {
    try {
      auth = await ConciergeSignIn.start({ notice: $("signin-notice") });
    } catch (error) {
      $("signin-notice").textContent = "Could not start the sign-in: " + error.message;
      $("signin-notice").className = "error";
      $("signin-notice").hidden = false;
    }
    if (!auth) {  // not signed in: the notice says why and offers to sign in
      document.querySelector("main").hidden = true;
      return;
    }
    if (auth.kind === "local") {
      $("agent-field").hidden = false;
      $("supervisor-field").hidden = false;
    } else {
      $("sign-out").hidden = false;
      $("sign-out").addEventListener("click", () => auth.signOut());
    }
    await ensureSession();
    showOperator();
    await loadQueue();
    setInterval(() => { loadQueue().catch(() => {}); if (selected && current) open(selected).catch(() => {}); }, 2500);
  })();
})();
