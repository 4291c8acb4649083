/* marsad report page: filters, a feed rendered a page at a time, Chart.js plots, live updates. */
(function () {
  "use strict";
  const PAGE = 25;
  const EVENTS_SHOWN = 5;
  const POLL_MS = 1000;
  const PALETTE = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#e67700", "#5c940d", "#364fc7", "#a61e4d"];
  const SEVERITIES = ["critical", "high", "medium", "low"];
  const config = JSON.parse(document.getElementById("marsad-config").textContent);
  const state = {
    alerts: new Map(), stories: new Map(), summary: null, deadLetters: [], problems: [], places: [], actors: [],
    version: 0, filtered: [], shown: 0, ruleColors: new Map(), filtersBuilt: { rules: new Set(), outlets: new Set() },
    open: new Set(), lastUpdate: null,
  };
  const charts = {};
  window.marsad = { state: state, charts: charts };

  // Ids, names and texts in the data come from outside (articles, rules files, a served folder):
  // they are only ever Map keys, attribute values or text, never object properties or markup.
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") {
        node.textContent = v;
        // A direction override (U+202E) or an RTL name must not reorder the text around it.
        if (!("dir" in attrs)) node.dir = "auto";
      } else if (k === "cls") node.className = v;
      else if (k === "style") for (const [p, x] of Object.entries(v)) node.style.setProperty(p, x); // CSSOM: allowed by the CSP
      else node.setAttribute(k, v);
    }
    for (const child of children || []) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  // An outside string inside a sentence of ours: isolated, so its bidi controls end with it.
  const bdi = (text) => el("bdi", { text: String(text === null || text === undefined ? "" : text), dir: "auto" });
  const isArabic = (lang, text) => lang === "ar" || /[\u0600-\u06FF]/.test(text || "");
  const textDir = (lang, text) => (isArabic(lang, text) ? "rtl" : "auto");
  function fmtTime(iso) {
    if (!iso) return "no time";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }
  const timeMs = (a) => { const t = Date.parse(a.time || ""); return isNaN(t) ? 0 : t; };

  function apply(snapshot) {
    for (const alert of snapshot.alerts) state.alerts.set(alert.alert_id, alert);
    for (const [id, story] of Object.entries(snapshot.stories)) state.stories.set(id, story);
    state.summary = snapshot.summary;
    state.deadLetters = snapshot.dead_letters;
    state.problems = snapshot.problems || [];
    state.places = snapshot.places;
    state.actors = snapshot.actors;
    state.version = snapshot.version;
    state.lastUpdate = new Date();
  }

  // ---- filters ---------------------------------------------------------------------------
  function ruleColor(rule) {
    if (!state.ruleColors.has(rule)) state.ruleColors.set(rule, PALETTE[state.ruleColors.size % PALETTE.length]);
    return state.ruleColors.get(rule);
  }
  function buildFilters() {
    const rules = [...new Set([...state.alerts.values()].map((a) => a.rule_id))].sort();
    for (const rule of rules) {
      if (state.filtersBuilt.rules.has(rule)) continue;
      state.filtersBuilt.rules.add(rule);
      const input = el("input", { type: "checkbox", value: rule, checked: "checked", "data-filter": "rule" });
      input.addEventListener("change", refresh);
      $("rule-filter").append(el("label", { "data-rule": rule }, [input, el("span", { cls: "swatch", style: { background: ruleColor(rule) } }), bdi(rule)]));
    }
    if (!$("severity-filter").childElementCount) {
      for (const sev of SEVERITIES) {
        const input = el("input", { type: "checkbox", value: sev, checked: "checked", "data-filter": "severity" });
        input.addEventListener("change", refresh);
        $("severity-filter").append(el("label", null, [input, bdi(sev)]));
      }
    }
    const outlets = new Set();
    for (const a of state.alerts.values()) for (const o of a.outlets) outlets.add(o);
    for (const outlet of [...outlets].sort()) {
      if (state.filtersBuilt.outlets.has(outlet)) continue;
      state.filtersBuilt.outlets.add(outlet);
      $("outlet-filter").append(el("option", { value: outlet, text: outlet }));
    }
  }
  function checked(container) {
    return new Set([...$(container).querySelectorAll("input:checked")].map((i) => i.value));
  }
  function currentFilter() {
    const from = $("time-from").value ? Date.parse($("time-from").value + "Z") : null;
    // The inputs hold minutes: "to 12:59" means through 12:59:59.999, or the range's last minute is lost.
    const to = $("time-to").value ? Date.parse($("time-to").value + "Z") + 60e3 - 1 : null;
    return { rules: checked("rule-filter"), severities: checked("severity-filter"), outlet: $("outlet-filter").value, from: from, to: to };
  }
  function passes(alert, f) {
    if (!f.rules.has(alert.rule_id) || !f.severities.has(alert.severity)) return false;
    if (f.outlet && !alert.outlets.includes(f.outlet)) return false;
    if (f.from !== null || f.to !== null) {
      const t = timeMs(alert);
      if (!t || (f.from !== null && t < f.from) || (f.to !== null && t > f.to)) return false;
    }
    return true;
  }

  // ---- feed ------------------------------------------------------------------------------
  function segmentsNode(tag, segments, lang, cls, field) {
    const text = segments.map((s) => s[0]).join("");
    const node = el(tag, { cls: cls, dir: textDir(lang, text), lang: isArabic(lang, text) ? "ar" : null });
    for (const [piece, marked] of segments) node.append(marked ? el("mark", { "data-field": field, text: piece }) : piece);
    return node;
  }
  function eventLine(ev) {
    const listed = (items) => items.flatMap((item, i) => (i ? [", ", ...item] : item));
    const actors = listed(ev.actors.map((a) => [bdi(a.name || a.id), ...(a.role ? [" (", bdi(a.role), ")"] : [])]));
    const places = listed(ev.places.map((p) => [bdi(p.name || p.id)]));
    const summaryParts = [
      el("span", { cls: "etype", text: ev.type }),
      ev.modality ? el("span", { cls: "emod" }, [" · ", bdi(ev.modality), ...(ev.phase ? [", ", bdi(ev.phase)] : [])]) : null,
      ...(actors.length ? [" · ", ...actors] : []),
      ...(places.length ? [" · @ ", ...places] : []),
      ...(ev.time ? [" · ", bdi(ev.time)] : []),
    ];
    // The sentence is drawn when its line is opened: a page of alerts can carry hundreds of events.
    const details = el("details", { "data-key": "ev:" + ev.event_id }, [el("summary", null, summaryParts)]);
    details.addEventListener("toggle", () => {
      if (details.open && !details.querySelector("blockquote")) details.append(sentenceNode(ev));
    });
    return el("li", { cls: "event-line", "data-event-id": ev.event_id }, [details]);
  }
  function sentenceNode(ev) {
    const sentence = ev.sentence || "";
    const t = ev.trigger;
    const segments = t && t[0] >= 0 && t[1] <= sentence.length
      ? [[sentence.slice(0, t[0]), false], [sentence.slice(t[0], t[1]), true], [sentence.slice(t[1]), false]]
      : [[sentence, false]];
    const quote = segmentsNode("blockquote", segments, null, "sentence", ev.sentence_field);
    quote.id = "sentence-" + ev.event_id;
    return quote;
  }
  function eventList(story, alertId) {
    const list = el("ul", { cls: "events-list" }, story.events.slice(0, EVENTS_SHOWN).map(eventLine));
    const hidden = story.events.slice(EVENTS_SHOWN);
    const untold = story.event_count - story.events.length;
    if (hidden.length) {
      const more = el("details", { "data-key": "more:" + alertId }, [el("summary", { text: hidden.length + " more events" + (untold ? " (of " + (hidden.length + untold) + ")" : "") })]);
      more.addEventListener("toggle", () => {
        if (more.open && !more.querySelector("ul")) more.append(el("ul", { cls: "events-list" }, hidden.map(eventLine)));
      });
      list.append(el("li", { cls: "more-events" }, [more]));
    } else if (untold) {
      list.append(el("li", { cls: "empty", text: "… and " + untold + " more events" }));
    }
    return list;
  }
  function alertCard(a) {
    const story = (a.story_id && state.stories.get(a.story_id)) || null;
    const head = el("div", { cls: "alert-head" }, [
      el("span", { cls: "rule", style: { color: ruleColor(a.rule_id) }, text: a.title }),
      el("span", { cls: "sev", text: a.severity }),
      el("time", { datetime: a.time || "", text: fmtTime(a.time) }),
      el("span", { cls: "mentions", text: a.mention_count + (a.mention_count === 1 ? " mention" : " mentions") }),
      el("span", { cls: "revision", text: "revision " + a.revision + (a.revisions_seen > 1 ? " (" + a.revisions_seen + " revisions received)" : "") }),
    ]);
    const title = a.segments.title
      ? segmentsNode("h3", a.segments.title, a.lang, "alert-title", "title")
      : a.article_title
        ? el("h3", { cls: "alert-title", dir: textDir(a.lang, a.article_title), lang: isArabic(a.lang, a.article_title) ? "ar" : null, text: a.article_title })
        : el("h3", { cls: "alert-title untitled", dir: "ltr", text: "untitled article " + a.article_id });
    const body = a.segments.body ? segmentsNode("p", a.segments.body, a.lang, "snippet", "body") : null;
    const outlets = el("div", { cls: "story-line" }, [
      story ? story.article_count + " article" + (story.article_count === 1 ? "" : "s") + " in story from " + story.outlets.length + " outlet" + (story.outlets.length === 1 ? "" : "s") + ": " : "outlets: ",
      ...(story ? story.outlets.map((o) => el("span", { cls: "outlet", text: o.name + " " + o.count })) : a.outlets.map((o) => el("span", { cls: "outlet", text: o }))),
    ]);
    const children = [head, title, body, outlets];
    if (story) {
      const list = el("ul", { cls: "articles-list" }, story.articles.map((art) => el("li", null, [
        el("span", { dir: art.title ? textDir(art.lang, art.title) : "ltr", lang: isArabic(art.lang, art.title) ? "ar" : null, text: art.title || art.id }),
        " — ", bdi(art.source), ", ", bdi(fmtTime(art.published)), (art.status !== "unique" ? " (" + art.status.replace("_", "-") + ")" : "") + (a.mention_ids.includes(art.id) ? " · matched" : ""),
      ])));
      if (story.article_count > story.articles.length) list.append(el("li", { cls: "empty", text: "… and " + (story.article_count - story.articles.length) + " more" }));
      children.push(el("details", { cls: "story", "data-key": "st:" + a.alert_id }, [el("summary", { text: "the story's articles" }), list]));
      if (story.events.length) {
        const events = eventList(story, a.alert_id);
        children.push(el("div", { cls: "events" }, [el("div", { cls: "story-line", text: story.event_count + " event" + (story.event_count === 1 ? "" : "s") + " in the story" }), events]));
      }
    }
    return el("article", { cls: "alert sev-" + a.severity, "data-alert-id": a.alert_id, "data-rule": a.rule_id, "data-story-id": a.story_id || "" }, children);
  }
  function rememberOpen() {
    for (const d of document.querySelectorAll("#feed details[data-key]")) {
      if (d.open) state.open.add(d.dataset.key); else state.open.delete(d.dataset.key);
    }
  }
  function renderFeed(keepShown) {
    rememberOpen();
    const feed = $("feed");
    const target = Math.max(PAGE, keepShown ? state.shown : PAGE);
    const visible = state.filtered.slice(0, target);
    const fragment = document.createDocumentFragment();
    for (const alert of visible) fragment.append(alertCard(alert));
    feed.replaceChildren(fragment);
    for (const d of feed.querySelectorAll("details[data-key]")) if (state.open.has(d.dataset.key)) d.open = true;
    state.shown = visible.length;
    updateCount();
  }
  function renderMore() {
    if (state.shown >= state.filtered.length) return;
    const fragment = document.createDocumentFragment();
    for (const alert of state.filtered.slice(state.shown, state.shown + PAGE)) fragment.append(alertCard(alert));
    $("feed").append(fragment);
    state.shown = Math.min(state.filtered.length, state.shown + PAGE);
    updateCount();
  }
  function updateCount() {
    $("feed-count").textContent = state.filtered.length
      ? "Alerts, newest first: showing " + state.shown + " of " + state.filtered.length + " (" + state.alerts.size + " in all)"
      : (state.alerts.size ? "No alert passes these filters (" + state.alerts.size + " in all)" : "No alerts yet");
    $("feed-more").textContent = state.shown < state.filtered.length ? "scroll for more" : "";
  }

  // ---- charts ----------------------------------------------------------------------------
  function bucketing(times) {
    const hours = (Math.max(...times) - Math.min(...times)) / 3600e3;
    if (hours <= 24 * 21) return { unit: "hour", key: (d) => d.toISOString().slice(0, 13) + ":00", step: (d) => d.setUTCHours(d.getUTCHours() + 1) };
    if (hours <= 24 * 730) return { unit: "day", key: (d) => d.toISOString().slice(0, 10), step: (d) => d.setUTCDate(d.getUTCDate() + 1) };
    return { unit: "month", key: (d) => d.toISOString().slice(0, 7), step: (d) => d.setUTCMonth(d.getUTCMonth() + 1) };
  }
  function truncate(d, unit) {
    const c = new Date(d);
    c.setUTCMinutes(0, 0, 0);
    if (unit !== "hour") c.setUTCHours(0);
    if (unit === "month") c.setUTCDate(1);
    return c;
  }
  function timelineData(alerts) {
    const timed = alerts.filter((a) => timeMs(a));
    if (!timed.length) return { unit: "hour", labels: [], datasets: [], older: 0 };
    // A few stray old articles (a 2013 reprint in 2018 news) would stretch the axis over years:
    // the oldest 1% are left out of the plot when they lie far away, and the title says how many.
    const sorted = timed.map(timeMs).sort((x, y) => x - y);
    const end = sorted[sorted.length - 1];
    let start = sorted[Math.floor(sorted.length * 0.01)];
    if (end - start > 4 * (end - sorted[Math.floor(sorted.length * 0.05)]) + 86400e3) start = sorted[Math.floor(sorted.length * 0.05)];
    if (end - sorted[0] <= 2 * (end - start)) start = sorted[0];
    const shown = timed.filter((a) => timeMs(a) >= start);
    const b = bucketing([start, end]);
    const labels = [];
    const index = {};
    for (let d = truncate(start, b.unit); d.getTime() <= end; b.step(d)) { index[b.key(d)] = labels.length; labels.push(b.key(d)); }
    const rules = [...new Set(shown.map((a) => a.rule_id))].sort();
    const datasets = rules.map((rule) => ({ label: rule, data: new Array(labels.length).fill(0), backgroundColor: ruleColor(rule), stack: "alerts" }));
    const byRule = new Map(datasets.map((ds) => [ds.label, ds]));
    for (const a of shown) byRule.get(a.rule_id).data[index[b.key(new Date(timeMs(a)))]] += 1;
    return { unit: b.unit, labels: labels, datasets: datasets, older: timed.length - shown.length };
  }
  function renderTimeline() {
    const data = timelineData(state.filtered);
    $("timeline-title").textContent = "Alerts per rule per " + data.unit + " (stacked, filtered)" +
      (data.older ? " — " + data.older + " older alert" + (data.older === 1 ? "" : "s") + " not drawn" : "");
    if (!charts.timeline) {
      charts.timeline = new Chart($("timeline"), {
        type: "bar",
        data: { labels: data.labels, datasets: data.datasets },
        options: {
          animation: false, maintainAspectRatio: false, responsive: true,
          scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom" } },
          // A click anywhere in a period's column zooms to it: a one-alert bar is too thin to aim at,
          // and a click must not depend on the bar's exact pixels while the chart is being resized.
          onClick: (event) => {
            const hits = charts.timeline.getElementsAtEventForMode(event, "index", { intersect: false }, true);
            if (hits.length) zoomTo(charts.timeline.data.labels[hits[0].index], charts.timeline.$unit);
          },
        },
      });
    } else {
      charts.timeline.data.labels = data.labels;
      charts.timeline.data.datasets = data.datasets;
      charts.timeline.update("none");
    }
    charts.timeline.$unit = data.unit;
  }
  function zoomTo(label, unit) {
    const start = new Date(label.length === 7 ? label + "-01T00:00Z" : label.length === 10 ? label + "T00:00Z" : label + "Z");
    const end = new Date(start);
    if (unit === "hour") end.setUTCHours(end.getUTCHours() + 1); else if (unit === "day") end.setUTCDate(end.getUTCDate() + 1); else end.setUTCMonth(end.getUTCMonth() + 1);
    $("time-from").value = start.toISOString().slice(0, 16);
    $("time-to").value = new Date(end - 60e3).toISOString().slice(0, 16);
    refresh();
  }
  function renderBars(id, items, color) {
    // English names on the axis (a mixed-direction label is measured wrong and clipped); both in the tooltip.
    const short = (t) => (t && t.length > 26 ? t.slice(0, 25) + "…" : t);
    const labels = items.map((i) => short(i.name || i.id));
    const values = items.map((i) => i.count);
    const tooltip = { callbacks: { title: (ctx) => { const i = items[ctx[0].dataIndex]; return [i.name || i.id, i.name_ar || ""]; } } };
    if (!charts[id]) {
      charts[id] = new Chart($(id), {
        type: "bar",
        data: { labels: labels, datasets: [{ label: "events", data: values, backgroundColor: color }] },
        options: { indexAxis: "y", animation: false, maintainAspectRatio: false, plugins: { legend: { display: false }, tooltip: tooltip },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false, font: { size: 11 } } } } },
      });
    } else {
      charts[id].data.labels = labels;
      charts[id].data.datasets[0].data = values;
      charts[id].options.plugins.tooltip = tooltip;
      charts[id].update("none");
    }
    charts[id].$items = items;
  }

  // ---- summary and dead letters ------------------------------------------------------------
  function renderSummary() {
    const s = state.summary;
    if (!s) return;
    const stat = (label, value, cls) => el("div", { cls: "stat " + (cls || ""), "data-stat": label }, [el("b", { text: String(value) }), el("span", { text: label })]);
    $("summary").replaceChildren(
      stat("read", s.read), stat("unique", s.unique), stat("duplicates", s.duplicate), stat("near-duplicates", s.near_duplicate),
      stat("dead letters", s.dead_letters), stat("stories", s.stories), stat("alerts", s.alerts),
      stat("alert revisions", s.alert_revisions), stat("events", s.events),
      stat("reconciled", s.reconciled ? "yes" : "NO", s.reconciled ? "ok" : "bad"),
    );
    const rows = state.deadLetters.map((d) => el("tr", null, [
      el("td", { text: d.stage }), el("td", { text: d.reason }), el("td", { cls: "num", text: String(d.count) }),
      el("td", null, Object.entries(d.example || {}).flatMap(([k, v], i) => [i ? ", " : null, bdi(k), " ", bdi(typeof v === "string" ? v : JSON.stringify(v))])),
    ]));
    // Records of a served folder the page could not use: counted and shown, never a broken page.
    for (const p of state.problems) rows.push(el("tr", { cls: "problem" }, [
      el("td", { text: "report" }), el("td", { text: p.reason }), el("td", { cls: "num", text: String(p.count) }), el("td", { text: p.kind }),
    ]));
    $("dead-letters").replaceChildren(rows.length
      ? el("table", null, [el("thead", null, [el("tr", null, ["stage", "reason", "count", "e.g."].map((h) => el("th", { text: h })))]), el("tbody", null, rows)])
      : el("p", { cls: "empty", text: "none: every article read went through" }));
  }
  function renderStatus() {
    const parts = [];
    if (config.live) parts.push(el("span", { cls: "live", text: "● live" }), " · updated " + (state.lastUpdate ? state.lastUpdate.toLocaleTimeString() : "-"));
    else parts.push("report written " + config.generated_at.replace("T", " "));
    parts.push(" · data from " + (state.summary && state.summary.source === "summary.json" ? "summary.json" : "the records"));
    $("status").replaceChildren(...parts);
  }

  // ---- the page --------------------------------------------------------------------------
  const timings = {};
  function timed(name, fn) {
    const start = performance.now();
    fn();
    timings[name] = performance.now() - start;
  }
  function refresh(keepShown) {
    timed("filter", () => {
      buildFilters();
      const f = currentFilter();
      state.filtered = [...state.alerts.values()].filter((a) => passes(a, f)).sort((x, y) => timeMs(y) - timeMs(x) || (x.alert_id < y.alert_id ? -1 : 1));
    });
    timed("feed", () => renderFeed(keepShown === true));
    timed("timeline", renderTimeline);
  }
  function renderAll(keepShown) {
    refresh(keepShown);
    timed("side", () => {
      renderSummary();
      renderBars("places", state.places, "#2b8a3e");
      renderBars("actors", state.actors, "#862e9c");
      renderStatus();
    });
  }
  async function poll() {
    try {
      const response = await fetch("/api/updates?since=" + state.version, { cache: "no-store" });
      if (response.ok) {
        const snapshot = await response.json();
        if (snapshot.version !== state.version) { apply(snapshot); renderAll(true); } else { state.lastUpdate = new Date(); renderStatus(); }
      }
    } catch (error) {
      $("status").textContent = "connection lost, retrying… (" + error + ")";
    }
    setTimeout(poll, POLL_MS);
  }

  const started = performance.now();
  timed("parse", () => apply(JSON.parse(document.getElementById("marsad-data").textContent)));
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("outlet-filter").addEventListener("change", () => refresh());
  $("time-from").addEventListener("change", () => refresh());
  $("time-to").addEventListener("change", () => refresh());
  $("time-clear").addEventListener("click", () => { $("time-from").value = ""; $("time-to").value = ""; refresh(); });
  renderAll(false);
  new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) renderMore(); }, { rootMargin: "600px" }).observe($("feed-more"));
  window.marsad.renderMs = performance.now() - started;
  window.marsad.readyAt = performance.now();
  window.marsad.timings = timings;
  document.body.dataset.ready = "true";
  if (config.live) setTimeout(poll, POLL_MS);
})();
