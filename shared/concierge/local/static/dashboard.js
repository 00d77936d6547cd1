// The KPI dashboard: reads GET /v1/metrics and GET /v1/conversations/{id}/transcript as a signed-in operator
// (signin.js: locally a dev operator, deployed the Cognito hosted UI).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { auth: null, charts: {} };

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

async function api(path, params = {}) {
  if (!state.auth) throw new Error("Not signed in.");
  const query = new URLSearchParams();
  Object.entries(params).forEach(([key, value]) => { if (value !== "" && value != null) query.set(key, value); });
  const search = query.toString();
  const response = await state.auth.api(search ? `${path}?${search}` : path, {});
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).message || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function filters() {
  return { from: $("from").value, to: $("to").value, channel: $("channel").value, intent: $("intent").value };
}

const pct = (x) => (x == null ? "—" : `${(100 * x).toFixed(1)}%`);
const num = (x, digits = 1) => (x == null ? "—" : Number(x).toFixed(digits));
function duration(ms) {
  if (ms == null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

function tile(title, value, interval, n) {
  const element = document.createElement("div");
  element.className = "tile";
  element.dataset.kpi = title;
  element.innerHTML = `<h2></h2><div class="value"></div><div class="interval"></div><div class="n"></div>`;
  element.querySelector("h2").textContent = title;
  element.querySelector(".value").textContent = value;
  element.querySelector(".interval").textContent = interval || "";
  element.querySelector(".n").textContent = n;
  return element;
}

function shareTile(title, share) {
  const interval = share.low == null ? "" : `95% CI ${pct(share.low)} – ${pct(share.high)}`;
  return tile(title, pct(share.value), interval, `n = ${share.n}`);
}

function renderTiles(k) {
  const revenue = k.revenue.length ? k.revenue.map((m) => `${Number(m.amount).toLocaleString(undefined, { minimumFractionDigits: 2 })} ${m.currency}`).join(" · ") : "—";
  const tiles = [
    shareTile("AI resolution", k.ai_resolution),
    shareTile("Handoff rate", k.handoff),
    shareTile("Repeat contact (7 days)", k.repeat_contact),
    shareTile("CSAT", k.csat),
    tile("NPS", k.nps.value == null ? "—" : num(k.nps.value, 0),
      k.nps.low == null ? "" : `95% CI ${num(k.nps.low, 0)} – ${num(k.nps.high, 0)}`,
      `n = ${k.nps.n} (${k.nps.promoters} promoters, ${k.nps.detractors} detractors)`),
    tile("CES (1–7, higher is easier)", num(k.ces.value, 2),
      k.ces.low == null ? "" : `95% CI ${num(k.ces.low, 2)} – ${num(k.ces.high, 2)}`, `n = ${k.ces.n}`),
    shareTile("Auto-CSAT (every conversation)", k.auto_csat),
    tile("First response", `${duration(k.first_response_ms.p50)}`, `p90 ${duration(k.first_response_ms.p90)}`, `p50 · n = ${k.first_response_ms.n}`),
    tile("Resolution time", `${duration(k.resolution_ms.p50)}`, `p90 ${duration(k.resolution_ms.p90)}`, `p50 · n = ${k.resolution_ms.n}`),
    shareTile("Agent workload reduction", k.workload_reduction),
    tile("Agent hours saved", num(k.agent_hours_saved, 1), "at the configured minutes per conversation", `${k.conversations} conversations`),
    tile("Revenue from AI offers", revenue, "", `${k.redemptions} codes redeemed`),
  ];
  $("tiles").replaceChildren(...tiles);
}

function renderChart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  state.charts[id] = new Chart($(id), config);
}

// Lines are drawn with monotone interpolation: a curve between two days stays between their values (a smoothed
// Bézier with tension overshoots, e.g. CSAT drawn below its lowest day).
function renderCharts(series) {
  const labels = series.map((p) => p.key.slice(5));
  const percent = (share) => (share.value == null ? null : 100 * share.value);
  renderChart("chart-volume", {
    data: {
      labels,
      datasets: [
        { type: "bar", label: "Conversations", data: series.map((p) => p.kpis.conversations), backgroundColor: "#c7d7f5", yAxisID: "y" },
        { type: "line", label: "AI resolution %", data: series.map((p) => percent(p.kpis.ai_resolution)), borderColor: "#2364d2", yAxisID: "y1", cubicInterpolationMode: "monotone" },
        { type: "line", label: "Handoff %", data: series.map((p) => percent(p.kpis.handoff)), borderColor: "#e8710a", yAxisID: "y1", cubicInterpolationMode: "monotone" },
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, position: "left" }, y1: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false } } },
    },
  });
  renderChart("chart-satisfaction", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "CSAT %", data: series.map((p) => percent(p.kpis.csat)), borderColor: "#188038", spanGaps: true, cubicInterpolationMode: "monotone" },
        { label: "Auto-CSAT %", data: series.map((p) => percent(p.kpis.auto_csat)), borderColor: "#9334e6", spanGaps: true, cubicInterpolationMode: "monotone" },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 100 } } },
  });
}

// Why a row scored low. An Auto-CSAT row: what pulled its score down, first. A CSAT survey row is the customer's own
// answer: Auto-CSAT's reasons explain Auto-CSAT's score, not the customer's, so only what it saw going wrong is shown
// beside the rating, and a conversation Auto-CSAT thought went well says so instead of being "explained" by it.
function lowScoreWhy(entry) {
  const reasons = entry.reasons || [];
  if (entry.source === "auto") return reasons.slice(0, 2).join("; ") || "—";
  const rated = `The customer rated it ${entry.score} of 5`;
  const against = reasons.filter((reason) => /\(-\d/.test(reason));
  if (against.length) return `${rated}; Auto-CSAT also saw: ${against.slice(0, 2).join("; ")}`;
  return reasons.length ? `${rated}; Auto-CSAT saw nothing go wrong` : rated;
}

function renderLowScores(rows) {
  const body = $("low-scores");
  if (!rows.length) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 7;
    cell.textContent = "No conversation scored 2 or below in this range.";
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...rows.map((entry) => {
    const row = document.createElement("tr");
    const cells = [entry.day, entry.score, entry.source === "auto" ? "Auto-CSAT" : "CSAT survey", entry.channel, entry.intent,
      lowScoreWhy(entry)];
    cells.forEach((text, i) => {
      const cell = row.insertCell();
      cell.textContent = text;
      if (i === 1) cell.className = "score";
    });
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = "Transcript";
    link.dataset.conversation = entry.conversation_id;
    link.addEventListener("click", (event) => { event.preventDefault(); showTranscript(entry.conversation_id); });
    row.insertCell().appendChild(link);
    return row;
  }));
}

async function showTranscript(conversationId) {
  const dialog = $("transcript");
  $("transcript-title").textContent = `Conversation ${conversationId}`;
  $("transcript-body").textContent = "Loading…";
  dialog.showModal();
  try {
    const t = await (await api(`/v1/conversations/${encodeURIComponent(conversationId)}/transcript`)).json();
    const parts = [];
    const meta = document.createElement("p");
    meta.textContent = `${t.channel || "?"} · ${t.intent || "?"} · ${t.day || ""} · surveys: ${Object.entries(t.surveys).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`;
    parts.push(meta);
    if (t.auto_csat) {
      const auto = document.createElement("div");
      auto.innerHTML = "<strong></strong><ul></ul>";
      auto.querySelector("strong").textContent = `Auto-CSAT ${t.auto_csat.score}/5 because:`;
      t.auto_csat.reasons.forEach((reason) => { const li = document.createElement("li"); li.textContent = reason; auto.querySelector("ul").appendChild(li); });
      parts.push(auto);
    }
    if (!t.messages.length) {
      const none = document.createElement("p");
      none.className = "transcript-note";
      none.textContent = t.note || "No messages are held for this conversation.";
      parts.push(none);
    }
    t.messages.forEach((m) => {
      const message = document.createElement("div");
      message.className = `msg ${m.role}`;
      message.innerHTML = "<small></small><span></span>";
      message.querySelector("small").textContent = `${m.role} · ${m.channel} · ${m.at}`;
      message.querySelector("span").textContent = m.text;
      parts.push(message);
    });
    $("transcript-body").replaceChildren(...parts);
  } catch (error) {
    $("transcript-body").textContent = `Could not load the transcript: ${error.message}`;
  }
}

function fillSelect(select, values) {
  const current = select.value;
  const first = select.options[0];
  select.replaceChildren(first, ...values.map((v) => new Option(v, v)));
  select.value = values.includes(current) ? current : "";
}

// Loading shows as it goes: the status line (a live region) says what is being read and the content is marked busy;
// the tiles, charts and low scores are drawn as soon as their report arrives, before the filters' choices.
async function refresh() {
  const main = document.querySelector("main");
  main.setAttribute("aria-busy", "true");
  document.body.dataset.loading = "true";
  setStatus("Loading the KPIs…");
  try {
    const f = filters();
    const report = await (await api("/v1/metrics", { ...f, group_by: "day", low_scores: 15 })).json();
    renderTiles(report.totals);
    renderCharts(report.series);
    renderLowScores(report.low_scores);
    setStatus("Loading the channels and intents…");
    // The filters' choices: every channel and intent seen in the range.
    const [byChannel, byIntent] = await Promise.all([
      api("/v1/metrics", { from: f.from, to: f.to, group_by: "channel", low_scores: 0 }).then((r) => r.json()),
      api("/v1/metrics", { from: f.from, to: f.to, group_by: "intent", low_scores: 0 }).then((r) => r.json()),
    ]);
    fillSelect($("channel"), byChannel.series.map((p) => p.key));
    fillSelect($("intent"), byIntent.series.map((p) => p.key));
    setStatus(`${report.totals.conversations} conversations from ${report.from} to ${report.to}` +
      `${f.channel ? ` on ${f.channel}` : ""}${f.intent ? ` about ${f.intent}` : ""}. Intervals are 95%; n is the sample size.`);
    document.body.dataset.loaded = "true";
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    main.removeAttribute("aria-busy");
    delete document.body.dataset.loading;
  }
}

async function exportCsv() {
  try {
    const response = await api("/v1/metrics", { ...filters(), group_by: "day", format: "csv" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `concierge-kpis-${$("from").value}-${$("to").value}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function start() {
  // The last 30 days, today included (days are UTC days, as the metrics API counts them): today's conversations show.
  const today = new Date();
  $("to").value = isoDay(today);
  $("from").value = isoDay(new Date(today.getTime() - 29 * 86400000));
  $("apply").addEventListener("click", refresh);
  $("csv").addEventListener("click", exportCsv);
  $("transcript-close").addEventListener("click", () => $("transcript").close());
  try {
    state.auth = await ConciergeSignIn.start({ notice: $("signin-notice") });
    if (state.auth && state.auth.kind === "local" && !(await state.auth.signInAs("dashboard", ["agent"]))) {
      throw new Error("The local operator session did not answer.");
    }
  } catch (error) {
    setStatus(`Could not sign in: ${error.message}`, true);
    return;
  }
  if (!state.auth) {  // not signed in: the notice says why and offers to sign in
    setStatus("Not signed in.", true);
    return;
  }
  if (state.auth.kind !== "local") {
    const operator = state.auth.operator();
    $("signed").textContent = `Signed in as ${operator.name}${operator.groups.includes("supervisor") ? " (supervisor)" : ""}`;
    $("signed").hidden = false;
    $("sign-out").hidden = false;
    $("sign-out").addEventListener("click", () => state.auth.signOut());
  }
  refresh();
}

start();
