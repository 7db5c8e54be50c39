// The status page: renders /api/status snapshots, live from /api/events
// (server-sent events), falling back to polling /api/status every 2 s.
// Every URL is relative, so the page works under a path prefix (Home
// Assistant ingress). Data only ever reaches the DOM as text.
"use strict";
(function () {
  const HISTORY_MS = 10 * 60 * 1000; // what the chart shows
  const PREFERRED_CHART = ["BatteryLevel", "VehicleSpeed", "ACChargingPower", "DCChargingPower",
    "InsideTemp", "OutsideTemp", "EstBatteryRange", "Odometer"];

  let clockOffset = 0; // server clock minus browser clock, ms
  let snapshot = null;
  const cards = new Map(); // "v:<VIN>" / "s:<id>" → card state

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  };
  const svgEl = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };
  const serverNow = () => Date.now() + clockOffset;
  const ms = (t) => (t ? Date.parse(t) : NaN);

  function duration(s) {
    if (!isFinite(s)) return "–";
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    const h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  const age = (t) => (t ? duration((serverNow() - ms(t)) / 1000) : "–");
  // Older than a day: the date says more than "81 d ago".
  const ago = (t) => (!t ? "never" : serverNow() - ms(t) > 86400e3 ? localTime(t) : age(t) + " ago");
  const localTime = (t) => (t ? new Date(ms(t)).toLocaleString() : "");

  function formatValue(v) {
    if (v === null || v === undefined) return { text: "unknown", null: true };
    if (typeof v === "object") {
      if (typeof v.latitude === "number" && typeof v.longitude === "number") {
        return { text: v.latitude.toFixed(5) + ", " + v.longitude.toFixed(5) };
      }
      if (Array.isArray(v)) return { text: v.map((x) => formatValue(x).text).join(", ") || "none" };
      return { text: Object.entries(v).map(([k, x]) => k + ": " + formatValue(x).text).join(", ") };
    }
    return { text: String(v) };
  }

  function badge(text, kind) {
    return el("span", { class: "badge" + (kind ? " " + kind : ""), text: text });
  }
  function setBadge(node, text, kind) {
    node.textContent = text;
    node.className = "badge" + (kind ? " " + kind : "");
  }
  const availabilityKind = (a) => (a === "online" ? "ok" : a === "offline" ? "bad" : "");
  const stateKind = (s) => (s === "online" ? "ok" : s === "asleep" ? "" : s === "offline" ? "warn" : "");

  // ---- bridge -------------------------------------------------------------

  function renderBridge(b) {
    $("version").textContent = /^v?\d/.test(b.version) ? "v" + b.version.replace(/^v/, "") : b.version;
    setBadge($("mqtt-state"), b.mqtt.connected ? "Connected" : "Disconnected", b.mqtt.connected ? "ok" : "bad");
    $("mqtt-url").textContent = b.mqtt.url || "";
    $("mqtt-base").textContent = b.mqtt.base_topic || "";
    const list = $("streams");
    list.replaceChildren();
    if (b.streams.length === 0) {
      list.append(el("li", { class: "muted small", text: b.webhook ? "Webhooks only" : "No stream" }));
    }
    for (const s of b.streams) {
      list.append(el("li", {},
        el("div", { class: "row" }, el("span", { class: "mono", text: s.path }),
          badge(s.connected ? "Connected" : "Down", s.connected ? "ok" : "bad")),
        el("div", { class: "muted small", "data-since": s.since || "", "data-last": s.last_event_at || "" },
          streamDetail(s))));
    }
    const c = b.credits;
    if (c && typeof c === "object") {
      const balance = c.balance ?? c.credits ?? c.remaining;
      $("credits").textContent = balance !== undefined ? String(balance) : "–";
      const q = c.quota && typeof c.quota === "object" ? c.quota : null;
      const parts = [];
      if (q && typeof q.used === "number") parts.push(q.used + " used this period");
      if (q && q.reset_at) parts.push("resets " + new Date(ms(q.reset_at)).toLocaleDateString());
      if (!q && c.quota !== undefined) parts.push("quota " + formatValue(c.quota).text);
      $("credits-detail").textContent = parts.join(" · ");
    } else {
      $("credits").textContent = "–";
      $("credits-detail").textContent = "no credits event yet";
    }
    $("started").textContent = b.started_at ? "since " + localTime(b.started_at) : "";
  }
  function streamDetail(s) {
    const since = s.since ? (s.connected ? "up " : "down ") + age(s.since) : "not connected yet";
    return since + " · " + s.reconnects + " reconnect" + (s.reconnects === 1 ? "" : "s") +
      " · last event " + ago(s.last_event_at);
  }

  // ---- cars and sites -------------------------------------------------------

  function newCard(key, kind) {
    const c = { key: key, kind: kind, sortKey: "name", sortDir: 1, filter: "", chartField: "", history: new Map(), seen: new Map() };
    const id = key.replace(/[^A-Za-z0-9]/g, "-");
    c.title = el("h3", { id: id + "-title" });
    c.sub = el("span", { class: "muted small mono" });
    c.avail = badge("–");
    c.state = badge("–");
    c.badges = el("div", { class: "badges" }, c.avail, kind === "v" ? c.state : null);
    c.facts = el("dl", { class: "facts" });
    c.alerts = el("div", { class: "alerts", "aria-label": "Active alerts" });
    c.extra = el("div", { class: "small" });

    c.chartSelect = el("select", { id: id + "-chart-field", "aria-label": "Field shown in the chart" });
    c.chartSelect.addEventListener("change", () => { c.chartField = c.chartSelect.value; drawChart(c); });
    c.chartNow = el("span", { class: "chart-now" });
    c.svg = svgEl("svg", { class: "chart", viewBox: "0 0 600 110", preserveAspectRatio: "none", role: "img", "aria-label": "Chart, no data yet" });
    c.scaleMin = el("span");
    c.scaleMax = el("span");
    c.chartSpan = el("span", { class: "muted small" });
    c.chartBox = el("div", { class: "chart-box" },
      el("div", { class: "chart-head" },
        el("div", { class: "chart-pick" }, el("label", { for: id + "-chart-field", text: "Chart" }), c.chartSelect, c.chartSpan),
        c.chartNow),
      c.svg, el("div", { class: "chart-scale" }, c.scaleMin, c.scaleMax));

    c.filterInput = el("input", { type: "search", id: id + "-filter", placeholder: "Filter fields", "aria-label": "Filter fields by name", autocomplete: "off" });
    c.filterInput.addEventListener("input", () => { c.filter = c.filterInput.value.trim().toLowerCase(); renderRows(c); });
    c.count = el("span", { class: "muted small" });
    const heads = [["name", "Field"], ["value", "Value"], ["unit", "Unit"], ["age", "Age"]].map(([k, label]) => {
      const b = el("button", { type: "button", text: label, "aria-label": "Sort by " + label.toLowerCase() });
      const th = el("th", { scope: "col", class: k }, b);
      b.addEventListener("click", () => {
        c.sortDir = c.sortKey === k ? -c.sortDir : 1;
        c.sortKey = k;
        renderRows(c);
      });
      return [k, th];
    });
    c.heads = new Map(heads);
    c.tbody = el("tbody");
    const table = el("table", { "aria-label": "Fields" }, el("thead", {}, el("tr", {}, ...heads.map((h) => h[1]))), c.tbody);
    c.root = el("article", { class: "card", "aria-labelledby": id + "-title", "data-key": key },
      el("div", { class: "card-head" }, el("div", {}, c.title, " ", c.sub), c.badges),
      c.facts, c.alerts, c.extra, c.chartBox,
      el("div", { class: "table-tools" }, c.filterInput, c.count),
      el("div", { class: "table-wrap" }, table));
    return c;
  }

  function fact(label, value, attrs) {
    return el("div", {}, el("dt", { text: label }), el("dd", attrs || {}, value));
  }

  function renderCards(container, items, kind, empty) {
    const seenKeys = new Set();
    const order = [];
    for (const item of items) {
      const key = kind + ":" + (kind === "v" ? item.vin : item.id);
      seenKeys.add(key);
      let c = cards.get(key);
      if (!c) {
        c = newCard(key, kind);
        cards.set(key, c);
      }
      updateCard(c, item);
      order.push(c.root);
    }
    for (const [key, c] of cards) {
      if (key.startsWith(kind + ":") && !seenKeys.has(key)) cards.delete(key);
    }
    if (order.length === 0) {
      if (empty) container.replaceChildren(el("p", { class: "muted empty", text: empty }));
      return;
    }
    // Re-attach only when the set or order changed (keeps focus in filters).
    const current = Array.from(container.children);
    if (current.length !== order.length || current.some((n, i) => n !== order[i])) container.replaceChildren(...order);
  }

  function updateCard(c, item) {
    const isCar = c.kind === "v";
    c.title.textContent = item.name || (isCar ? item.vin : "Site " + item.id);
    c.sub.textContent = isCar ? item.vin : item.id;
    setBadge(c.avail, item.availability ? "Stream " + item.availability : "Stream unknown", availabilityKind(item.availability));
    c.avail.setAttribute("title", "Is the data pipeline for it up?");
    if (isCar) {
      setBadge(c.state, item.state ? capitalise(item.state) : "State unknown", stateKind(item.state));
      c.state.setAttribute("title", "Vehicle state");
    }
    c.lastSeen = item.last_seen;
    c.facts.replaceChildren(fact("Last seen", ago(item.last_seen), { "data-ago": item.last_seen || "" }),
      fact("Fields", String((isCar ? item.fields : item.values).length)));
    c.alerts.replaceChildren();
    if (isCar && item.active_alerts.length) {
      for (const a of item.active_alerts) c.alerts.append(badge("⚠ " + a, "warn"));
    }
    c.extra.replaceChildren();
    if (isCar && item.last_command) c.extra.append(el("p", {}, el("span", { class: "muted", text: "Last command: " }), summary(item.last_command)));
    if (isCar && item.fields_status) c.extra.append(el("p", {}, el("span", { class: "muted", text: "Field config: " }), summary(item.fields_status)));

    const fields = isCar ? item.fields : item.values;
    const now = serverNow();
    c.changed = new Set();
    for (const f of fields) {
      const prev = c.seen.get(f.name);
      if (prev !== undefined && prev !== f.updated_at) c.changed.add(f.name);
      c.seen.set(f.name, f.updated_at);
      if (typeof f.value === "number") {
        let h = c.history.get(f.name);
        if (!h) c.history.set(f.name, (h = []));
        const t = Math.min(ms(f.updated_at) || now, now);
        if (h.length === 0 || h[h.length - 1].t < t) h.push({ t: t, v: f.value });
        while (h.length > 2 && h[1].t < now - HISTORY_MS) h.shift();
      }
    }
    c.fields = fields;
    updateChartChoices(c, fields);
    renderRows(c);
    drawChart(c);
  }

  function capitalise(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  function summary(obj) {
    if (typeof obj !== "object" || obj === null) return String(obj);
    const parts = [];
    for (const k of ["command", "name", "ok", "result", "reason", "error", "changed", "ignored", "pending", "at"]) {
      if (obj[k] !== undefined && obj[k] !== null && !(Array.isArray(obj[k]) && obj[k].length === 0)) {
        parts.push(k + " " + (typeof obj[k] === "object" ? JSON.stringify(obj[k]) : String(obj[k])));
      }
    }
    return parts.length ? parts.join(" · ") : JSON.stringify(obj);
  }

  function renderRows(c) {
    const fields = (c.fields || []).filter((f) => !c.filter || f.name.toLowerCase().includes(c.filter));
    const key = c.sortKey, dir = c.sortDir;
    const val = (f) => {
      switch (key) {
        case "value": return typeof f.value === "number" ? f.value : formatValue(f.value).text.toLowerCase();
        case "unit": return f.unit || "";
        case "age": return -(ms(f.updated_at) || 0);
        default: return f.name.toLowerCase();
      }
    };
    fields.sort((a, b) => {
      const x = val(a), y = val(b);
      if (typeof x === "number" && typeof y !== "number") return -dir;
      if (typeof y === "number" && typeof x !== "number") return dir;
      return (x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : 1) * dir;
    });
    for (const [k, th] of c.heads) {
      th.setAttribute("aria-sort", k === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
    const rows = fields.map((f) => {
      const v = formatValue(f.value);
      return el("tr", { "data-field": f.name, class: c.changed && c.changed.has(f.name) ? "changed" : "" },
        el("td", { class: "mono", text: f.name }),
        el("td", { class: "value" + (v.null ? " null" : ""), text: v.text }),
        el("td", { class: "unit", text: f.unit || "" }),
        el("td", { class: "age", "data-ago": f.updated_at, text: age(f.updated_at) }));
    });
    c.tbody.replaceChildren(...rows);
    const total = (c.fields || []).length;
    c.count.textContent = c.filter ? fields.length + " of " + total + " fields" : total + " fields";
  }

  function updateChartChoices(c, fields) {
    const numeric = fields.filter((f) => typeof f.value === "number").map((f) => f.name);
    if (!c.chartField || !numeric.includes(c.chartField)) {
      c.chartField = PREFERRED_CHART.find((n) => numeric.includes(n)) || numeric[0] || "";
    }
    const have = Array.from(c.chartSelect.options).map((o) => o.value);
    if (have.join() !== numeric.join()) {
      c.chartSelect.replaceChildren(...numeric.map((n) => el("option", { value: n, text: n })));
    }
    c.chartSelect.value = c.chartField;
    c.chartBox.hidden = numeric.length === 0;
  }

  function drawChart(c) {
    const name = c.chartField;
    const h = (name && c.history.get(name)) || [];
    const field = (c.fields || []).find((f) => f.name === name);
    c.svg.replaceChildren();
    if (!field || h.length === 0) return;
    // The chart covers what this page has seen, up to the last 10 minutes.
    const now = serverNow();
    const span = Math.min(HISTORY_MS, Math.max(60 * 1000, now - h[0].t));
    const from = now - span;
    let lo = Infinity, hi = -Infinity;
    for (const p of h) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
    const W = 600, H = 110;
    const x = (t) => ((Math.max(t, from) - from) / span) * W;
    const y = (v) => H - ((v - lo) / (hi - lo)) * H;
    // Values hold until the next one: a step line, drawn up to now.
    let d = "";
    h.forEach((p, i) => {
      d += (i === 0 ? "M" : "H") + x(p.t).toFixed(1) + (i === 0 ? "," + y(p.v).toFixed(1) : "") + "V" + y(p.v).toFixed(1);
    });
    d += "H" + W;
    const x0 = x(h[0].t).toFixed(1);
    for (const gy of [0.25, 0.5, 0.75]) c.svg.append(svgEl("line", { class: "grid", x1: 0, x2: W, y1: H * gy, y2: H * gy }));
    c.svg.append(svgEl("path", { class: "area", d: d + "V" + H + "H" + x0 + "Z" }));
    c.svg.append(svgEl("path", { class: "line", d: d }));
    const unit = field.unit ? " " + field.unit : "";
    c.chartNow.textContent = formatValue(field.value).text + unit;
    c.scaleMin.textContent = "min " + round(lo + pad) + unit;
    c.scaleMax.textContent = "max " + round(hi - pad) + unit;
    c.chartSpan.textContent = "last " + duration(span / 1000);
    c.svg.setAttribute("aria-label", name + " over the last " + duration(span / 1000) + ", now " + formatValue(field.value).text + unit);
  }
  const round = (v) => String(Math.round(v * 1000) / 1000);

  // ---- data in --------------------------------------------------------------

  function apply(s) {
    snapshot = s;
    clockOffset = ms(s.now) - Date.now();
    renderBridge(s.bridge);
    renderCards($("vehicles"), s.vehicles, "v", "No vehicle yet: they appear with their first event.");
    $("sites-section").hidden = s.sites.length === 0;
    renderCards($("sites"), s.sites, "s", "");
    tick();
  }

  // Ages and uptime move on between updates.
  function tick() {
    if (!snapshot) return;
    const b = snapshot.bridge;
    $("uptime").textContent = b.started_at ? duration((serverNow() - ms(b.started_at)) / 1000) : "–";
    for (const node of document.querySelectorAll("[data-ago]")) {
      const t = node.getAttribute("data-ago");
      node.textContent = node.tagName === "TD" ? age(t) : ago(t);
    }
    for (const node of document.querySelectorAll("[data-since]")) {
      const s = b.streams.find((x) => (x.since || "") === node.getAttribute("data-since") && (x.last_event_at || "") === node.getAttribute("data-last"));
      if (s) node.textContent = streamDetail(s);
    }
    for (const c of cards.values()) drawChart(c);
  }

  function setLive(state, text) {
    $("live").className = "live " + state;
    $("live-text").textContent = text;
  }

  let polling = null;
  function poll() {
    if (polling) return;
    const once = () => fetch("api/status", { cache: "no-store" })
      .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then((s) => { apply(s); setLive("on", "Live (polling)"); })
      .catch(() => setLive("off", "No connection to the bridge"));
    once();
    polling = setInterval(once, 2000);
  }

  function listen() {
    if (typeof EventSource === "undefined") return poll();
    const es = new EventSource("api/events");
    let got = false, failures = 0;
    es.addEventListener("status", (e) => {
      got = true;
      setLive("on", "Live");
      try { apply(JSON.parse(e.data)); } catch (err) { setLive("off", "Bad data from the bridge"); }
    });
    es.onerror = () => {
      setLive("off", "Reconnecting…");
      // The browser gave up (an answer that is not an event stream), or a
      // proxy that does not pass event streams through: poll instead.
      if (es.readyState === EventSource.CLOSED || (!got && ++failures >= 2)) { es.close(); poll(); }
    };
  }

  setInterval(tick, 1000);
  listen();
})();
