// The KPI dashboard: reads GET /v1/metrics, GET /v1/conversations/{id}/transcript, GET /v1/offers/report and GET /v1/journeys/report as a
// signed-in operator (signin.js: locally a dev operator, deployed the Cognito hosted UI).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { auth: null, charts: {}, offers: { range: null, request: 0 }, journeys: { range: null, request: 0 } };

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
  // Business requests (docs/leads.md): only a shop that takes them has any, so the tile shows when the range has one.
  if (k.leads) {
    const share = k.leads_qualified;
    tiles.push(tile("Leads qualified", pct(share.value), `95% CI ${pct(share.low)} – ${pct(share.high)}`,
      `${share.n} ${share.n === 1 ? "lead" : "leads"}`));
  }
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

// ---- Offers (GET /v1/offers/report): each offer's decisions and funnel, its treatment group against its holdout
// group with lift and 95% intervals (or why there is not enough data), and the outcomes by channel and locale. ----

const MINUS = "\u2212";

// A number with its sign shown ("+4.2", "−1.3", "0.0"): a value that rounds to zero has none.
function signedFixed(x, digits) {
  const text = Math.abs(x).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${x > 0 ? "+" : MINUS}${text}`;
}
// A number with a sign only when negative ("0.3", "−5.0"), as an interval's bounds are written.
function fixed(x, digits) {
  const text = Math.abs(x).toFixed(digits);
  return x < 0 && Number(text) !== 0 ? `${MINUS}${text}` : text;
}
const count = (n) => Number(n).toLocaleString();

// An amount in the report's currency ("—" when the report has none: no order was reported).
function money(amount, currency, options = {}) {
  if (amount == null || !currency) return "—";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, ...options }).format(Number(amount));
  } catch (_) {  // a currency the browser does not know
    return `${Number(amount).toFixed(2)} ${currency}`;
  }
}

// A cell's content: lines of text, the first as is and the others smaller and muted; `strong` makes the first bold.
function lines(cell, first, rest = [], strong = false) {
  const lead = document.createElement(strong ? "strong" : "span");
  lead.textContent = first;
  cell.appendChild(lead);
  rest.filter(Boolean).forEach((text) => {
    const line = document.createElement("span");
    line.className = "sub";
    line.textContent = text;
    cell.appendChild(line);
  });
}

function notEnoughData(cell, result) {
  cell.classList.add("no-data");
  cell.dataset.result = "not_enough_data";
  const lead = document.createElement("strong");
  lead.textContent = "Not enough data";
  const reason = document.createElement("span");
  reason.className = "sub reason";
  reason.textContent = `${result.reason.charAt(0).toUpperCase()}${result.reason.slice(1)}.`;
  const n = document.createElement("span");
  n.className = "sub";
  n.textContent = `n = ${count(result.treated_customers)} / ${count(result.holdout_customers)}`;
  cell.append(lead, reason, n);
}

// A rate's lift in percentage points: "+4.2 pp (0.3 to 8.1), n = 299 / 32", and the relative lift under it.
function rateLiftCell(cell, result) {
  if (result.result !== "lift") return notEnoughData(cell, result);
  cell.dataset.result = "lift";
  const pp = (x) => fixed(100 * x, 1);
  const relative = (x) => `${fixed(100 * x, 0)}%`;
  lines(cell, `${signedFixed(100 * result.lift, 1)} pp (${pp(result.low)} to ${pp(result.high)}), ` +
    `n = ${count(result.treated.customers)} / ${count(result.holdout.customers)}`,
  [`${signedFixed(100 * result.relative, 0)}% relative (${relative(result.relative_low)} to ${relative(result.relative_high)})`]);
}

// Revenue per customer's lift in the report's currency: "+$1.20 ($−0.30 to $2.80), n = 299 / 32".
function meanLiftCell(cell, result, currency) {
  if (result.result !== "lift") return notEnoughData(cell, result);
  cell.dataset.result = "lift";
  const amount = (x, options) => (currency ? money(x, currency, options) : fixed(x, 2));
  const lift = currency ? amount(result.lift, { signDisplay: "exceptZero" }) : signedFixed(result.lift, 2);
  const relative = result.relative == null ? null
    : `${signedFixed(100 * result.relative, 0)}% relative` +
      (result.relative_low == null ? "" : ` (${fixed(100 * result.relative_low, 0)}% to ${fixed(100 * result.relative_high, 0)}%)`);
  lines(cell, `${lift} (${amount(result.low)} to ${amount(result.high)}), ` +
    `n = ${count(result.treated_customers)} / ${count(result.holdout_customers)}`, [relative]);
}

const share = (p) => (p.value == null ? "—" : pct(p.value));
const shareInterval = (p) => (p.low == null ? `n = ${count(p.n)}` : `95% CI ${pct(p.low)} – ${pct(p.high)} · n = ${count(p.n)}`);

function offerRow(offer, currency) {
  const row = document.createElement("tr");
  row.dataset.offer = offer.offer_id;
  const name = document.createElement("th");
  name.scope = "row";
  const about = [offer.kind ? offer.kind.replace(/_/g, " ") : "no longer configured"];
  if (offer.holdout_share != null) about.push(`holdout ${Math.round(100 * offer.holdout_share)}%`);
  if (offer.kind && !offer.enabled) about.push("disabled");
  lines(name, offer.offer_id, [about.join(" · ")]);
  row.appendChild(name);
  const numeric = (key, value, rest = []) => {
    const cell = row.insertCell();
    cell.className = "num";
    cell.dataset.col = key;
    lines(cell, value, rest);
    return cell;
  };
  numeric("decided", count(offer.decided));
  numeric("offered", count(offer.offered));
  numeric("held_out", count(offer.held_out));
  numeric("refused", count(offer.refused),
    Object.entries(offer.refusals).map(([reason, n]) => `${reason.replace(/_/g, " ")}: ${count(n)}`));
  numeric("presented", count(offer.presented));
  numeric("accepted", count(offer.accepted));
  numeric("redeemed", count(offer.redeemed));
  numeric("redeemed_revenue", money(offer.redeemed_revenue, currency));
  const rates = row.insertCell();
  rates.className = "rates";
  rates.dataset.col = "conversion_rates";
  const rate = (label, group) => (group.converted.n ? `${label} ${share(group.converted)} (n = ${count(group.converted.n)})` : `${label} — (n = 0)`);
  lines(rates, rate("Treatment", offer.treatment), [rate("Holdout", offer.holdout)]);
  [["conversion", rateLiftCell], ["retention", rateLiftCell], ["revenue_per_customer", meanLiftCell]].forEach(([key, draw]) => {
    const cell = row.insertCell();
    cell.className = "lift";
    cell.dataset.col = key;
    draw(cell, offer[key], currency);
  });
  return row;
}

function parityBodies(parity) {
  const dimensions = [];
  parity.forEach((entry) => {
    let group = dimensions.find((d) => d.name === entry.dimension);
    if (!group) dimensions.push(group = { name: entry.dimension, rows: [] });
    group.rows.push(entry);
  });
  return dimensions.map(({ name, rows }) => {
    const body = document.createElement("tbody");
    body.dataset.dimension = name;
    rows.forEach((entry, i) => {
      const row = body.insertRow();
      row.dataset.segment = entry.segment;
      if (i === 0) {
        const group = document.createElement("th");
        group.scope = "rowgroup";
        group.rowSpan = rows.length;
        group.textContent = name === "channel" ? "Channel" : "Locale";
        row.appendChild(group);
      }
      const segment = document.createElement("th");
      segment.scope = "row";
      segment.textContent = entry.segment;
      row.appendChild(segment);
      const cell = (key, first, rest = [], numeric = false) => {
        const c = row.insertCell();
        c.dataset.col = key;
        if (numeric) c.className = "num";
        lines(c, first, rest);
      };
      cell("decided", count(entry.decided), [], true);
      cell("offered", share(entry.offered), [shareInterval(entry.offered)]);
      cell("refused_for_mood", count(entry.refused_for_mood), [], true);
      cell("presented", count(entry.presented), [], true);
      cell("treated_customers", count(entry.treated_customers), [], true);
      cell("converted", share(entry.converted), [shareInterval(entry.converted)]);
    });
    return body;
  });
}

function emptyRow(columns, text) {
  const row = document.createElement("tr");
  const cell = row.insertCell();
  cell.colSpan = columns;
  cell.textContent = text;
  return row;
}

function renderOffers(report) {
  const currency = report.currency;
  $("offers-rows").replaceChildren(...(report.offers.length
    ? report.offers.map((offer) => offerRow(offer, currency))
    : [emptyRow(13, "No offer is configured, and none was decided in this range.")]));
  const parity = $("offers-parity");
  parity.querySelectorAll("tbody").forEach((body) => body.remove());
  if (report.parity.length) {
    parity.append(...parityBodies(report.parity));
  } else {
    const body = document.createElement("tbody");
    body.appendChild(emptyRow(8, "No offer was decided in this range."));
    parity.appendChild(body);
  }
  $("offers-orders-note").hidden = report.orders_reported;
  $("offers-status").textContent = `Customers first met with an offer from ${report.from} to ${report.to}` +
    `${currency ? `, amounts in ${currency}` : ""}. Conversion is an order within ${report.attribution_days} days; ` +
    `retention an order ${report.attribution_days}–${report.retention_days} days after; a lift needs ` +
    `${report.min_customers} customers in each group. Intervals are 95%; n is treatment / holdout customers.`;
}

// The offers' report is read on its own: its failure or slowness never holds the KPIs up, and it is read again only
// when the range changes (channel and intent do not apply to offers). A newer request's answer wins.
async function refreshOffers() {
  const { from, to } = filters();
  const range = `${from}/${to}`;
  if (range === state.offers.range) return;
  state.offers.range = range;
  const request = ++state.offers.request;
  const section = $("offers");
  section.setAttribute("aria-busy", "true");
  section.dataset.state = "loading";
  $("offers-status").className = "offers-status";
  $("offers-status").textContent = "Loading the offers…";
  $("offers-rows").replaceChildren();
  $("offers-parity").querySelectorAll("tbody").forEach((body) => body.remove());
  $("offers-orders-note").hidden = true;
  try {
    const report = await (await api("/v1/offers/report", { from, to })).json();
    if (request !== state.offers.request) return;
    renderOffers(report);
    section.dataset.state = "loaded";
  } catch (error) {
    if (request !== state.offers.request) return;
    state.offers.range = null;  // "Show" asks again
    $("offers-status").className = "offers-status error";
    $("offers-status").textContent = `Could not load the offers: ${error.message}`;
    section.dataset.state = "error";
  } finally {
    if (request === state.offers.request) section.removeAttribute("aria-busy");
  }
}

// ---- Journeys (GET /v1/journeys/report): who entered each journey, its messages and replies, and its treatment
// group against its holdout group (a nudge's), with lift and 95% intervals or why there is not enough data. ----

function journeyRow(journey, currency) {
  const row = document.createElement("tr");
  row.dataset.journey = journey.journey_id;
  const name = document.createElement("th");
  name.scope = "row";
  const about = [journey.converts_on === "order" ? "converts on an order"
    : journey.converts_on === "feature" ? "converts on the step done"
      : journey.converts_on === "activity" ? "converts on the customer back" : "service message"];
  about.push(journey.holdout_share > 0 ? `holdout ${Math.round(100 * journey.holdout_share)}%` : "no holdout");
  if (!journey.enabled) about.push("not running");
  lines(name, journey.journey_id.replace(/_/g, " "), [about.join(" · ")]);
  row.appendChild(name);
  const numeric = (key, value) => {
    const cell = row.insertCell();
    cell.className = "num";
    cell.dataset.col = key;
    lines(cell, value);
  };
  numeric("entered", count(journey.entered));
  numeric("messages", count(journey.messages));
  numeric("held_out", count(journey.held_out));
  const replied = row.insertCell();
  replied.dataset.col = "replied";
  lines(replied, share(journey.treatment.replied), [shareInterval(journey.treatment.replied)]);
  const rates = row.insertCell();
  rates.className = "rates";
  rates.dataset.col = "conversion_rates";
  if (!journey.converts_on) {
    lines(rates, "—", ["a service message: measured by its replies"]);
  } else {
    const rate = (label, group) => (group.converted.n ? `${label} ${share(group.converted)} (n = ${count(group.converted.n)})` : `${label} — (n = 0)`);
    lines(rates, rate("Treatment", journey.treatment), [rate("Holdout", journey.holdout)]);
  }
  [["conversion", rateLiftCell], ["revenue_per_customer", meanLiftCell]].forEach(([key, draw]) => {
    const cell = row.insertCell();
    cell.className = "lift";
    cell.dataset.col = key;
    if (journey[key] == null) lines(cell, "—", [journey.holdout_share > 0 ? "" : "no holdout to compare with"]);
    else draw(cell, journey[key], currency);
  });
  return row;
}

function renderJourneys(report) {
  $("journeys-rows").replaceChildren(...(report.journeys.length
    ? report.journeys.map((journey) => journeyRow(journey, report.currency))
    : [emptyRow(8, "No journey runs for this shop, and none was entered in this range.")]));
  $("journeys-status").textContent = `Customers who first entered a journey from ${report.from} to ${report.to}` +
    `${report.currency ? `, amounts in ${report.currency}` : ""}. Conversion is within ${report.attribution_days} ` +
    `days of entering, counted for everyone who entered (stopped or held out too); a lift needs ` +
    `${report.min_customers} customers in each group. Intervals are 95%; n is treatment / holdout customers.`;
}

// Read on its own, like the offers' report: once per range, a newer request's answer wins.
async function refreshJourneys() {
  const { from, to } = filters();
  const range = `${from}/${to}`;
  if (range === state.journeys.range) return;
  state.journeys.range = range;
  const request = ++state.journeys.request;
  const section = $("journeys");
  section.setAttribute("aria-busy", "true");
  section.dataset.state = "loading";
  $("journeys-status").className = "offers-status";
  $("journeys-status").textContent = "Loading the journeys…";
  $("journeys-rows").replaceChildren();
  try {
    const report = await (await api("/v1/journeys/report", { from, to })).json();
    if (request !== state.journeys.request) return;
    renderJourneys(report);
    section.dataset.state = "loaded";
  } catch (error) {
    if (request !== state.journeys.request) return;
    state.journeys.range = null;  // "Show" asks again
    $("journeys-status").className = "offers-status error";
    $("journeys-status").textContent = `Could not load the journeys: ${error.message}`;
    section.dataset.state = "error";
  } finally {
    if (request === state.journeys.request) section.removeAttribute("aria-busy");
  }
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
    refreshOffers();  // once the tiles are drawn: it never competes with them, nor waits for the filters' choices
    refreshJourneys();
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
    refreshOffers();  // the offers' report stands on its own (a no-op when it is already read for this range)
    refreshJourneys();
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
