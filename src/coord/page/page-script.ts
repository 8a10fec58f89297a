/**
 * The status page's script: plain browser JavaScript, no framework and no build step.
 * It follows GET /v1/events (server-sent events) and redraws from each message. Every
 * server-provided string goes into the page through textContent, never as markup.
 * EventSource reconnects by itself after a dropped stream; after a refusal (503, the
 * subscriber limit) it gives up, so the script opens a new one after a pause.
 */
export const STATUS_PAGE_SCRIPT = String.raw`"use strict";
(function () {
  var HISTORY_SHOWN_MAX = 200;
  var REOPEN_AFTER_MS = 5000;
  var state = { clusters: [], history: [], atMs: 0 };
  var body = document.body;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function shown(value) { return value === null || value === undefined ? "\u2013" : String(value); }
  function age(ms) { return ms === null || ms === undefined ? "never" : (ms / 1000).toFixed(1) + " s ago"; }

  function setConnection(live, why) {
    body.setAttribute("data-connection", live ? "live" : "disconnected");
    document.getElementById("connection").textContent = live ? "live" : "disconnected: " + why;
  }

  function memberRow(view, member) {
    var isLeader = view.leader !== null && view.leader.id === member.id;
    var row = el("tr", (isLeader ? "leader " : "") + member.liveness);
    row.setAttribute("data-member-id", String(member.id));
    row.setAttribute("data-role", shown(member.role));
    var name = el("td", "", "m" + member.id);
    if (isLeader) name.appendChild(el("span", "badge", "leader"));
    row.appendChild(name);
    // A leader of an older term (cut off, or just killed) still says "leader" until it is heard from again.
    row.appendChild(member.role === "leader" && !isLeader ? el("td", "superseded", "leader (older term)") : el("td", "", shown(member.role)));
    [member.membership, member.term, member.commitIndex, member.appliedIndex, member.lag, member.liveness]
      .forEach(function (value) { row.appendChild(el("td", "", shown(value))); });
    row.appendChild(el("td", "", age(member.lastHeartbeatMsAgo)));
    row.appendChild(el("td", "", shown(member.addresses && member.addresses.http)));
    return row;
  }

  function clusterSection(view) {
    var section = el("section", "cluster");
    section.setAttribute("data-cluster-id", view.clusterId);
    section.setAttribute("data-leader-id", view.leader === null ? "" : String(view.leader.id));
    section.setAttribute("data-leader-term", view.leader === null ? "" : String(view.leader.term));
    section.appendChild(el("h2", "", "cluster " + view.clusterId));
    section.appendChild(view.leader === null
      ? el("p", "leader-line none", "no leader known")
      : el("p", "leader-line", "leader m" + view.leader.id + " in term " + view.leader.term));
    var table = el("table");
    var head = el("tr");
    ["member", "role", "membership", "term", "commit", "applied", "lag", "liveness", "last heard", "http"]
      .forEach(function (title) { head.appendChild(el("th", "", title)); });
    table.appendChild(el("thead")).appendChild(head);
    var rows = table.appendChild(el("tbody"));
    view.members.forEach(function (member) { rows.appendChild(memberRow(view, member)); });
    section.appendChild(table);
    return section;
  }

  function renderClusters() {
    var main = document.getElementById("clusters");
    var sections = state.clusters.map(clusterSection);
    if (sections.length === 0) sections = [el("p", "empty", "No member has reported to this coordinator yet.")];
    main.replaceChildren.apply(main, sections);
  }

  function historyItem(entry) {
    var item = el("li", entry.event.type === "leader-changed" ? "election" : "");
    var time = el("time", "", new Date(entry.atMs).toLocaleTimeString());
    time.setAttribute("datetime", new Date(entry.atMs).toISOString());
    item.appendChild(time);
    item.appendChild(document.createTextNode(entry.text + (state.clusters.length > 1 ? " (" + entry.event.clusterId + ")" : "")));
    return item;
  }

  function renderHistory() {
    var list = document.getElementById("history");
    list.replaceChildren.apply(list, state.history.slice().reverse().map(historyItem));
  }

  function receive(handler) {
    return function (message) {
      try { handler(JSON.parse(message.data)); } catch (error) { setConnection(false, "a message did not parse (" + error + ")"); }
    };
  }

  function open() {
    var source = new EventSource("v1/events");
    source.addEventListener("open", function () { setConnection(true); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        setConnection(false, "refused; trying again in " + REOPEN_AFTER_MS / 1000 + " s");
        setTimeout(open, REOPEN_AFTER_MS);
      } else {
        setConnection(false, "reconnecting\u2026");
      }
    });
    source.addEventListener("snapshot", receive(function (data) {
      state.clusters = data.clusters;
      state.history = data.history.slice(-HISTORY_SHOWN_MAX);
      setConnection(true);
      renderClusters();
      renderHistory();
    }));
    source.addEventListener("view", receive(function (data) {
      state.clusters = data.clusters;
      renderClusters();
    }));
    source.addEventListener("change", receive(function (entry) {
      state.history.push(entry);
      if (state.history.length > HISTORY_SHOWN_MAX) state.history.shift();
      renderHistory();
    }));
  }
  open();
})();
`;
