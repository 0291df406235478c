// mailwarden console behaviour: menus, selection, dialogs, and the actions that
// change state (fetch with the session's CSRF token in X-CSRF-Token). No
// framework, no build; loaded with script-src 'self' only.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // --- notices -------------------------------------------------------------
  var noticeTimer;
  function notice(text, bad) {
    var n = $("#notice");
    if (!n) return;
    n.textContent = text;
    n.className = "notice" + (bad ? " bad" : "");
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.hidden = true; }, bad ? 12000 : 7000);
  }

  // --- requests ------------------------------------------------------------
  function send(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return { ok: false, error: "The server answered " + r.status + "." }; })
        .then(function (j) { j.httpStatus = r.status; return j; });
    }, function () { return { ok: false, error: "The server could not be reached." }; });
  }

  // --- menus ---------------------------------------------------------------
  function closeMenus(except) {
    $$(".menu").forEach(function (m) {
      if (m !== except) {
        m.hidden = true;
        var b = $('[data-menu="' + m.id + '"]');
        if (b) b.setAttribute("aria-expanded", "false");
      }
    });
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-menu]");
    if (btn) {
      var menu = document.getElementById(btn.getAttribute("data-menu"));
      closeMenus(menu);
      if (menu) {
        menu.hidden = !menu.hidden;
        btn.setAttribute("aria-expanded", String(!menu.hidden));
      }
      e.stopPropagation();
      return;
    }
    if (!e.target.closest(".menu")) closeMenus();
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeMenus(); });

  // --- selection -----------------------------------------------------------
  // "Select all messages" selects every message the search matches. When they
  // fill more than this page, the selection is the search itself (matchAll) and
  // Release / Request reclassification run as a bulk job over it.
  var bulk = $("#bulk");
  var matchAll = false, matchTotal = null;
  function selected() { return $$(".row-check:checked").map(function (c) { return c.value; }); }
  function fmtCount(n, capped) { return (capped ? "more than " : "") + n.toLocaleString("en-US"); }
  function showBanner() {
    var banner = $("#select-banner");
    if (!banner) return;
    var all = $$(".row-check"), ids = selected();
    var more = bulk && bulk.getAttribute("data-more") === "1";
    var text = $("#select-banner-text"), only = $("#select-page-only"), matches = $("#select-matches");
    if (matchAll) {
      text.textContent = matchTotal === null ? "Counting the messages that match this search…" :
        "All " + fmtCount(matchTotal.total, matchTotal.capped) + " messages that match this search are selected.";
      only.hidden = false; matches.hidden = true; banner.hidden = false;
    } else if (more && all.length > 0 && ids.length === all.length) {
      text.textContent = "All " + all.length + " messages on this page are selected.";
      only.hidden = true; matches.hidden = false; banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }
  function updateSelection() {
    var ids = selected(), all = $$(".row-check");
    var count = $("#selected-count");
    if (count) {
      if (matchAll) count.textContent = matchTotal === null ? "all matching selected" : fmtCount(matchTotal.total, matchTotal.capped) + " selected (all matching)";
      else count.textContent = ids.length + " selected";
    }
    var action = $("#action-button");
    if (action) action.disabled = ids.length === 0 && !matchAll;
    var sa = $("#select-all");
    if (sa) {
      sa.checked = matchAll || (all.length > 0 && ids.length === all.length);
      sa.indeterminate = !matchAll && ids.length > 0 && ids.length < all.length;
    }
    all.forEach(function (c) { c.closest("tr").classList.toggle("selected", c.checked); });
    showBanner();
  }
  function selectMatches() {
    matchAll = true; matchTotal = null;
    $$(".row-check").forEach(function (c) { c.checked = true; });
    updateSelection();
    send("GET", "/console/count?" + bulk.getAttribute("data-search")).then(function (res) {
      if (!matchAll) return;
      if (!res.ok) { notice(res.error || "Counting the matches failed.", true); return; }
      matchTotal = res;
      updateSelection();
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      if (e.target.checked && bulk && bulk.getAttribute("data-more") === "1") { selectMatches(); return; }
      matchAll = false;
      $$(".row-check").forEach(function (c) { c.checked = e.target.checked; });
      updateSelection();
    } else if (e.target.classList.contains("row-check")) {
      matchAll = false;
      updateSelection();
    }
  });
  document.addEventListener("click", function (e) {
    if (e.target.id === "select-page-only") {
      matchAll = false;
      $$(".row-check").forEach(function (c) { c.checked = true; });
      updateSelection();
    } else if (e.target.id === "select-matches") {
      selectMatches();
    }
  });

  // --- bulk jobs -------------------------------------------------------------
  function pageIDs() { return $$(".row-check").map(function (c) { return c.value; }); }
  function watchJob(job) {
    var box = $("#job-status"), txt = $("#job-text"), bar = $("#job-progress");
    if (!box) return;
    box.hidden = false;
    box.className = "job-status" + (job.finished ? (job.status === "COMPLETED" && !job.failed ? " done" : " bad") : "");
    box.setAttribute("data-job", job.id);
    box.setAttribute("data-status", job.status);
    txt.textContent = job.text;
    bar.max = Math.max(job.discovered, 1);
    bar.value = job.successful + job.failed;
    if (job.finished) {
      notice(job.text, job.status !== "COMPLETED" || job.failed > 0);
      matchAll = false;
      $$(".row-check").forEach(function (c) { c.checked = false; });
      updateSelection();
      refresh(pageIDs(), 1);
      return;
    }
    setTimeout(function () {
      send("GET", "/console/jobs/" + encodeURIComponent(job.id)).then(function (res) {
        if (res.ok) watchJob(res.job);
        else notice(res.error || "The job's progress could not be read.", true);
      });
    }, 700);
  }
  function startJob(action, disposition, dlg, btn) {
    btn.disabled = true;
    send("POST", "/console/bulk", { action: action, disposition: disposition || "", search: bulk.getAttribute("data-search") }).then(function (res) {
      btn.disabled = false;
      if (!res.ok) { dialogError(dlg, res.error); return; }
      dlg.close();
      notice(res.message);
      watchJob(res.job);
    });
  }

  // --- row state -----------------------------------------------------------
  function applyRow(st) {
    $$('[data-id="' + CSS.escape(st.id) + '"]').forEach(function (row) {
      if (row.tagName === "BUTTON") return;
      var badge = $("[data-badge]", row);
      if (badge) { badge.className = st["class"]; badge.textContent = st.label; }
      var state = $("[data-state]", row);
      if (state) { state.textContent = st.state; state.className = st.quarantined ? "state-held" : ""; }
      var note = $("[data-note]", row);
      if (note) note.textContent = st.error ? "Error: " + st.error : (st.note || "");
    });
  }
  function refresh(ids, tries) {
    if (!ids.length || tries <= 0) return;
    setTimeout(function () {
      var q = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
      send("GET", "/console/rows?" + q).then(function (res) {
        if (!res.ok) return;
        var pending = [];
        res.rows.forEach(function (st) { applyRow(st); if (st.pending) pending.push(st.id); });
        refresh(pending, tries - 1);
      });
    }, 800);
  }
  function afterAction(res) {
    if (!res.ok && !res.rows) { notice(res.error || "The request failed.", true); return false; }
    (res.rows || []).forEach(applyRow);
    notice(res.message || res.error, !res.ok);
    refresh((res.rows || []).filter(function (r) { return r.pending; }).map(function (r) { return r.id; }), 10);
    return true;
  }

  // --- dialogs -------------------------------------------------------------
  var pendingIDs = [];
  function dialogError(dlg, text) {
    var p = $(".dialog-error", dlg);
    if (!p) return;
    p.textContent = text || "";
    p.hidden = !text;
  }
  function open(id) {
    var dlg = document.getElementById(id);
    if (!dlg) return null;
    dialogError(dlg, "");
    closeMenus();
    dlg.showModal();
    return dlg;
  }
  function describe(ids) {
    if (ids === "all") return "all " + (matchTotal ? fmtCount(matchTotal.total, matchTotal.capped) + " " : "") + "messages that match this search";
    return ids.length === 1 ? "1 message" : ids.length + " messages";
  }
  function askReclassify(ids) {
    pendingIDs = ids;
    var dlg = open("reclassify-dialog");
    if (!dlg) return;
    $$('input[name="disposition"]', dlg).forEach(function (r) { r.checked = false; });
    $("#reclassify-what").textContent = "Ask that " + describe(ids) + " get a new disposition. The request is tracked under Reclassifications." +
      (ids === "all" ? " It runs as a bulk job; its progress shows above the results." : "");
  }
  function askRelease(ids) {
    pendingIDs = ids;
    var dlg = open("release-dialog");
    if (!dlg) return;
    $("#release-what").textContent = "Deliver " + describe(ids) + " to the original recipients? Recipients already delivered to are not sent it again." +
      (ids === "all" ? " It runs as a bulk job; its progress shows above the results." : "");
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-action],[data-bulk],[data-open],[data-close],[data-triage]");
    if (!t) return;
    if (t.hasAttribute("data-close")) { t.closest("dialog").close(); return; }
    if (t.hasAttribute("data-open")) { open(t.getAttribute("data-open")); return; }
    if (t.hasAttribute("data-triage")) { triage(t); return; }
    var what = t.getAttribute("data-action") || t.getAttribute("data-bulk");
    var ids = t.hasAttribute("data-bulk") ? (matchAll ? "all" : selected()) : [t.getAttribute("data-id")];
    if (!ids.length) { notice("Select messages first.", true); return; }
    if (what === "reclassify") askReclassify(ids);
    if (what === "release") askRelease(ids);
  });

  var rf = $("#reclassify-form");
  if (rf) rf.addEventListener("submit", function (e) {
    e.preventDefault();
    var dlg = $("#reclassify-dialog");
    var choice = $('input[name="disposition"]:checked', rf);
    if (!choice) { dialogError(dlg, "Choose the new disposition."); return; }
    var save = $("#reclassify-save");
    if (pendingIDs === "all") { startJob("reclassify", choice.value, dlg, save); return; }
    save.disabled = true;
    send("POST", "/console/reclassify", { ids: pendingIDs, disposition: choice.value }).then(function (res) {
      save.disabled = false;
      if (!res.ok && !res.rows) { dialogError(dlg, res.error); return; }
      dlg.close();
      afterAction(res);
    });
  });

  var relf = $("#release-form");
  if (relf) relf.addEventListener("submit", function (e) {
    e.preventDefault();
    var dlg = $("#release-dialog"), btn = $("#release-confirm");
    if (pendingIDs === "all") { startJob("release", "", dlg, btn); return; }
    btn.disabled = true;
    send("POST", "/console/release", { ids: pendingIDs }).then(function (res) {
      btn.disabled = false;
      if (!res.ok && !res.rows) { dialogError(dlg, res.error); return; }
      dlg.close();
      afterAction(res);
    });
  });

  var uf = $("#upload-form");
  if (uf) uf.addEventListener("submit", function (e) {
    e.preventDefault();
    var dlg = $("#upload-dialog"), btn = $("#upload-submit");
    var file = $("#upload-file").files[0];
    if (!file) { dialogError(dlg, "Choose an .eml file."); return; }
    if (!$("#upload-disposition").value) { dialogError(dlg, "Choose the requested disposition."); return; }
    var fd = new FormData();
    fd.append("file", file);
    fd.append("disposition", $("#upload-disposition").value);
    btn.disabled = true;
    send("POST", "/console/upload", fd).then(function (res) {
      btn.disabled = false;
      if (!res.ok) { dialogError(dlg, res.error || "The upload failed."); return; }
      dlg.close();
      uf.reset();
      notice(res.message);
    });
  });

  function triage(btn) {
    var id = btn.getAttribute("data-id"), status = btn.getAttribute("data-triage");
    var body = { status: status };
    if (status === "escalated") {
      var sel = $('[data-escalate-as="' + CSS.escape(id) + '"]');
      body.disposition = sel ? sel.value : "";
    }
    btn.disabled = true;
    send("POST", "/console/submissions/" + encodeURIComponent(id) + "/triage", body).then(function (res) {
      btn.disabled = false;
      notice(res.message || res.error, !res.ok);
      if (res.ok) {
        var row = $('[data-submission="' + CSS.escape(id) + '"]');
        var st = row && $("[data-customer]", row);
        if (st) st.textContent = res.status;
        var acts = row && $(".triage-actions", row);
        if (acts && res.status === "escalated") acts.remove();
      }
    });
  }

  updateSelection();
})();
