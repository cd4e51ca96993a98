// gitfleet's dashboard: loads /api/state, then follows /api/events (server-sent events fed by
// etcd watches); it asks the server for nothing on a timer. Every value from the server is set
// as text, never as HTML.
"use strict";

const page = { me: null, st: null, offset: 0, diffKey: "", closed: new Set() };

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// fill replaces el's children with kids, skipping the absent ones (replaceChildren would
// print them as "null").
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== undefined && k !== null && k !== false));
}

const short = (c) => (c ? c.slice(0, 12) : "-");
const badge = (text, id) => h("span", { class: "badge b-" + (text || "none").toLowerCase(), id }, text || "-");
const isAdmin = () => page.me && page.me.role === "admin";

function fmtAge(sec) {
  if (sec < 60) return Math.floor(sec) + "s";
  if (sec < 3600) return Math.floor(sec / 60) + "m" + (Math.floor(sec) % 60) + "s";
  if (sec < 86400) return Math.floor(sec / 3600) + "h" + Math.floor((sec % 3600) / 60) + "m";
  return Math.floor(sec / 86400) + "d" + Math.floor((sec % 86400) / 3600) + "h";
}
function fmtBytes(n) {
  const units = ["B", "Ki", "Mi", "Gi", "Ti"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + units[i];
}
const fmtCPU = (m) => (m % 1000 === 0 ? m / 1000 : m + "m");

function fieldError(e) {
  let s = e.file + ":" + e.line + ": ";
  if (e.field) s += e.field + ": ";
  return s + e.message;
}

function commitLine(id, label, c, hash) {
  if (!hash) return h("div", { class: "row" }, h("span", { class: "label" }, label), "-");
  return h("div", { class: "row", id, "data-hash": hash },
    h("span", { class: "label" }, label),
    h("code", { class: "hash" }, short(hash)),
    c && c.message ? h("span", { class: "msg" }, c.message) : null,
    c && c.author ? h("span", { class: "dim" }, c.author) : null,
    c && c.time ? h("span", { class: "dim" }, c.time) : null);
}

function renderSource() {
  const s = page.st.source;
  const el = document.getElementById("source");
  const sync = h("button", { id: "sync-button", disabled: !isAdmin(), onclick: () => act("/api/sync", {}, "sync requested") }, "Sync now");
  const pin = s.pin || (s.pinnedCommit ? { commit: s.pinnedCommit } : null);
  fill(el,
    h("div", { class: "row" }, h("span", { class: "label" }, "repository"), h("code", { id: "repo" }, s.repo || "-"),
      h("span", { class: "dim" }, "branch " + (s.branch || "-") + (s.path ? ", path " + s.path : ""))),
    h("div", { class: "row" }, h("span", { class: "label" }, "sync"), badge(s.sync, "sync-result"),
      h("span", { class: "label" }, "health"), badge(s.health, "source-health"),
      h("span", { class: "dim" }, s.pods.ready + "/" + s.pods.total + " pods ready"), sync),
    commitLine("applied-commit", "applied", s.commit, s.appliedCommit),
    commitLine("seen-commit", "seen", s.seen, s.seenCommit),
    pin ? h("div", { class: "row pin", id: "pin", "data-hash": pin.commit },
      h("span", { class: "label" }, "pinned"), h("code", {}, short(pin.commit)),
      h("span", {}, "by a rollback" + (pin.time ? " at " + pin.time : "") + ": pushes are seen, not applied"),
      h("button", { id: "resume-button", disabled: !isAdmin(), onclick: () => act("/api/sync", { resume: true }, "resumed: following the branch again") }, "Resume")) : null,
    h("div", { class: "row" }, h("span", { class: "label" }, "last sync"), h("span", {}, s.time || "-"),
      s.message ? h("span", { class: "msg", id: "sync-message" }, s.message) : null),
    s.errors.length ? h("ul", { id: "errors", class: "errors" }, s.errors.map((e) => h("li", {}, fieldError(e)))) : null);
}

function podRow(p) {
  const sinceMs = Date.parse(p.since);
  return h("tr", { class: "pod", "data-pod": p.namespace + "/" + p.name },
    h("td", { class: "indent" }, "Pod/" + p.name),
    h("td", {}, badge(p.phase)),
    h("td", {}, p.ready ? "ready" : "not ready"),
    h("td", {}, "restarts " + p.restarts),
    h("td", {}, p.node || "-"),
    h("td", {}, h("code", {}, p.ip || "-")),
    h("td", { class: "age", "data-since": isNaN(sinceMs) ? "" : sinceMs, "data-atleast": p.sinceStart ? "1" : "" }, ""),
    h("td", { class: "msg" }, warningBadge(p.warning), [p.reason, p.message].filter(Boolean).join(": ")));
}

// warningBadge marks an object or Pod whose newest event is a Warning, with its reason.
const warningBadge = (reason) => (reason ? [h("span", { class: "badge b-warning", title: "newest event" }, reason), " "] : null);

function objectRows(o) {
  const k = o.key;
  let extra = "";
  if (o.clusterIP) extra = " " + o.clusterIP + (o.nodePorts ? " nodePort " + o.nodePorts.join(",") : "");
  const row = h("tr", { class: "object", "data-key": k.kind + "/" + k.namespace + "/" + k.name },
    h("td", {}, k.kind + "/" + k.name, h("span", { class: "dim" }, extra)),
    h("td", {}, badge(o.health)),
    h("td", {}, o.want ? o.ready + "/" + o.want + " ready" : ""),
    h("td", { colspan: 5, class: "msg" }, warningBadge(o.warning), o.message === o.ready + "/" + o.want + " ready" ? "" : o.message || ""));
  return [row, (o.pods || []).map(podRow)];
}

function renderObjects() {
  const el = document.getElementById("objects");
  if (!page.st.namespaces.length) {
    fill(el, h("p", { class: "dim" }, "No objects recorded yet."));
    return;
  }
  fill(el, ...page.st.namespaces.map((ns) => {
    const d = h("details", { open: !page.closed.has(ns.name), "data-namespace": ns.name },
      h("summary", {}, "Namespace " + ns.name + " ", badge(ns.health)),
      h("table", {}, h("tbody", {}, ns.objects.map(objectRows), (ns.pods || []).map(podRow))));
    d.addEventListener("toggle", () => (d.open ? page.closed.delete(ns.name) : page.closed.add(ns.name)));
    return d;
  }));
  renderAges();
}

function renderAges() {
  const now = Date.now() - page.offset;
  for (const td of document.querySelectorAll("td.age")) {
    const since = Number(td.dataset.since);
    if (!since) continue;
    td.textContent = (td.dataset.atleast ? "≥" : "") + fmtAge(Math.max(0, (now - since) / 1000));
  }
}

// renderEvents shows the newest events, newest first, as `gitfleet events` lists them (which
// shows the whole hour); Warning rows are marked.
function renderEvents() {
  const el = document.getElementById("events");
  const evs = page.st.events || [];
  const rows = evs.map((e) => {
    const o = e.involvedObject;
    const seen = Date.parse(e.lastTimestamp);
    return h("tr", { class: e.type === "Warning" ? "event warning" : "event", "data-object": o.kind + "/" + o.namespace + "/" + o.name },
      h("td", { class: "age", "data-since": isNaN(seen) ? "" : seen }, ""),
      h("td", {}, badge(e.type)),
      h("td", {}, e.reason),
      h("td", {}, o.namespace ? o.kind + "/" + o.namespace + "/" + o.name : o.kind + "/" + o.name),
      h("td", { class: "msg" }, e.message),
      h("td", { class: "dim" }, e.count > 1 ? "×" + e.count : ""),
      h("td", { class: "dim" }, e.source));
  });
  fill(el, rows.length ? h("table", {},
    h("thead", {}, h("tr", {}, ["last seen", "type", "reason", "object", "message", "count", "source"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)) : h("p", { class: "dim" }, "No event in the last hour."));
  renderAges();
}

function renderHistory() {
  const el = document.getElementById("history");
  const rows = page.st.history.map((e) => h("tr", { id: "history-" + e.id, "data-hash": e.commit.hash },
    h("td", {}, e.id), h("td", {}, e.time),
    h("td", {}, h("code", {}, short(e.commit.hash))),
    h("td", {}, badge(e.result), e.rollback ? " rollback" : ""),
    h("td", {}, "+" + e.summary.created + " ~" + e.summary.updated + " -" + e.summary.deleted),
    h("td", {}, e.commit.author || "-"),
    h("td", { class: "msg" }, [e.commit.message, e.message].filter(Boolean).join(": "),
      (e.errors || []).length ? h("ul", { class: "errors" }, e.errors.map((x) => h("li", {}, fieldError(x)))) : null),
    h("td", {}, e.result === "Synced" && e.commit.hash ? h("button", {
      class: "rollback", disabled: !isAdmin(), "data-hash": e.commit.hash,
      onclick: () => {
        if (confirm("Roll back to " + short(e.commit.hash) + "? The source stays pinned there until you resume.")) {
          act("/api/rollback", { commit: e.commit.hash }, "rollback to " + short(e.commit.hash) + " requested");
        }
      },
    }, "Roll back") : null)));
  fill(el, rows.length ? h("table", {},
    h("thead", {}, h("tr", {}, ["ID", "time", "commit", "result", "changes", "author", "message", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)) : h("p", { class: "dim" }, "No sync yet."));
}

function usage(used, total, fmt) {
  const pct = total ? Math.min(100, Math.round((100 * used) / total)) : 0;
  const fill = h("div", { class: "fill" });
  fill.style.width = pct + "%"; // through the CSSOM: the page's CSP allows no style attribute
  return h("div", { class: "usage", title: pct + "%" }, h("div", { class: "bar" }, fill),
    fmt(used) + " / " + (total ? fmt(total) : "-"));
}

function renderNodes() {
  const el = document.getElementById("nodes");
  const ns = page.st.nodesStatus;
  const head = ns ? h("p", { class: "dim" }, ns.ready + "/" + ns.total + " nodes Ready" + (ns.evictionsPaused ? "; " + ns.evictionsPaused : "")) : null;
  const rows = page.st.nodes.map((n) => h("tr", { "data-node": n.name },
    h("td", {}, n.name),
    h("td", {}, badge(n.ready ? "Ready" : "NotReady"), n.unschedulable ? " cordoned" : ""),
    h("td", {}, h("code", {}, n.ip || "-"), " ", h("span", { class: "dim" }, n.podCIDR || "")),
    h("td", {}, usage(n.requestedCPUMilli, n.allocatableCPUMilli, fmtCPU)),
    h("td", {}, usage(n.requestedMemory, n.allocatableMemory, fmtBytes)),
    h("td", {}, n.pods.length + (n.maxPods ? " / " + n.maxPods : "")),
    h("td", { class: "msg" }, n.pods.join(" "))));
  fill(el, ...[head, rows.length ? h("table", {},
    h("thead", {}, h("tr", {}, ["node", "status", "address", "cpu requested", "memory requested", "pods", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)) : h("p", { class: "dim" }, "No node registered.")].filter(Boolean));
}

function diffBlock(id, title, d) {
  if (!d) return null;
  const body = [];
  if (d.errors && d.errors.length) body.push(h("ul", { class: "errors" }, d.errors.map((e) => h("li", {}, fieldError(e)))));
  if (d.note) body.push(h("p", { class: "dim" }, d.note));
  if (d.text) {
    body.push(h("pre", { class: "diff" }, d.text.split("\n").map((line) => {
      let cls = "";
      if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) cls = "d-head";
      else if (line.startsWith("+")) cls = "d-add";
      else if (line.startsWith("-")) cls = "d-del";
      else if (line.startsWith("@@")) cls = "d-hunk";
      return h("span", { class: cls }, line + "\n");
    })));
  }
  return h("div", { id, class: "diffblock" }, h("h3", {}, title + " ", h("code", {}, (d.from ? short(d.from) : "nothing") + " → " + short(d.to))), body);
}

async function loadDiffs() {
  const s = page.st.source;
  const key = s.appliedCommit + " " + s.seenCommit + " " + s.time;
  if (key === page.diffKey) return;
  page.diffKey = key;
  const r = await fetch("/api/diff", { credentials: "same-origin" });
  if (!r.ok) return;
  const d = await r.json();
  fill(document.getElementById("diffs"), ...[
    diffBlock("diff-last", "Last sync", d.last),
    diffBlock("diff-pending", "Pending commit", d.pending),
  ].filter(Boolean));
}

function render() {
  const who = document.getElementById("who");
  who.textContent = page.me.open ? "admin (loopback, no login)" : page.me.role;
  document.getElementById("logout").hidden = page.me.open;
  page.offset = Date.now() - Date.parse(page.st.time);
  renderSource();
  renderObjects();
  renderEvents();
  renderHistory();
  renderNodes();
  loadDiffs();
}

function flash(text, bad) {
  const el = document.getElementById("flash");
  el.textContent = text;
  el.className = bad ? "error" : "ok";
  el.hidden = false;
}

async function act(path, body, done) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": page.me.csrf || "" },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  if (r.ok) flash(done + (answer.id ? " (request " + answer.id + ")" : ""), false);
  else flash(answer.error || r.status + " " + r.statusText, true);
}

function follow() {
  const live = document.getElementById("live");
  const es = new EventSource("/api/events");
  es.onopen = () => { live.textContent = "live"; live.className = "badge b-live"; };
  es.onerror = () => { live.textContent = "reconnecting"; live.className = "badge b-reconnecting"; };
  es.addEventListener("state", (ev) => {
    page.st = JSON.parse(ev.data);
    render();
  });
}

async function start() {
  const r = await fetch("/api/state", { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login"; return; }
  const d = await r.json();
  page.me = d.me;
  page.st = d.state;
  render();
  follow();
  setInterval(renderAges, 1000); // ages tick on the page's clock; nothing is fetched
  document.getElementById("logout").addEventListener("click", async () => {
    await act("/logout", {}, "logged out");
    location.href = "/login";
  });
}

start();
