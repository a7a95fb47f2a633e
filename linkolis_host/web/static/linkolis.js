// Linkolis: the little JavaScript the web app has. Without it every page still works: reload to see progress, the
// panel's Close is a link back to My applications, the phone's Menu button is a <details>.
"use strict";
(function () {
  // The consent page is elsewhere: follow the link on our "continue" page at once.
  var follow = document.querySelector("a[data-follow]");
  if (follow) { window.location.assign(follow.href); return; }
  menu();
  panel();
  jobs();

  // Escape closes the phone's open menu and gives focus back to its Menu button; a tap outside it closes it too.
  function menu() {
    var details = document.querySelector("details.menu");
    if (!details) { return; }
    document.addEventListener("click", function (event) {
      if (details.open && !details.contains(event.target)) { details.open = false; }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !details.open || event.defaultPrevented) { return; }
      event.preventDefault();
      details.open = false;
      details.querySelector("summary").focus();
    });
  }

  // The panel: focus moves into it when it opens (its heading, or the first field it refused); Close or Escape puts
  // it away here, without a reload, and focus goes back to the wrench of its app (or to + for a new one). Up to 64rem
  // wide it covers the screen (linkolis.css), so what is behind it is inert while it is open.
  function panel() {
    var aside = document.querySelector("aside.panel");
    if (!aside) { return; }
    var layout = aside.closest(".apps-layout");
    var covering = window.matchMedia("(max-width: 64rem)");
    var behind = Array.prototype.slice.call(document.querySelectorAll(".topbar, .apps-list, section.jobs"));
    function cover() {
      behind.forEach(function (el) { el.inert = covering.matches && aside.isConnected; });
    }
    cover();
    covering.addEventListener("change", cover);
    (aside.querySelector("[aria-invalid='true']") || aside.querySelector("h2")).focus();

    function close() {
      var name = aside.getAttribute("data-app");
      aside.remove();
      if (layout) { layout.classList.remove("with-panel"); }
      cover();
      window.history.replaceState(null, "", "/apps");
      var back = null;
      document.querySelectorAll("a.configure").forEach(function (a) {
        if (a.getAttribute("data-app") === name) { back = a; }
      });
      back = back || document.querySelector("a.add");
      if (back) { back.focus(); }
    }
    var link = aside.querySelector("a.close");
    if (link) {
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
        event.preventDefault();
        close();
      });
    }
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !aside.isConnected || event.defaultPrevented) { return; }
      event.preventDefault();
      close();
    });
  }

  // Imports and pushes started here: poll /jobs while one runs, then reload once to show what it changed; unless the
  // seller is already leaving for another page (a reload then would cancel the link they followed).
  function jobs() {
    var section = document.querySelector("section.jobs");
    if (!section || !section.querySelector(".job-running")) { return; }
    var leaving = false;
    document.addEventListener("click", function (event) {  // not beforeunload: its mere presence slows navigation
      var link = event.target.closest && event.target.closest("a[href]");
      if (link && !event.defaultPrevented && !link.target && event.button === 0 &&
          !(event.ctrlKey || event.metaKey || event.shiftKey)) { leaving = true; }
    });
    document.addEventListener("submit", function (event) { leaving = leaving || !event.defaultPrevented; });
    function poll() {
      if (leaving) { return; }
      fetch("/jobs", {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var running = false;
          data.jobs.forEach(function (job) {
            var el = section.querySelector('[data-job="' + CSS.escape(job.app + "/" + job.what) + '"]');
            if (el) { el.textContent = job.text; el.className = "job job-" + job.state; }
            if (job.state === "running") { running = true; }
          });
          if (running) { setTimeout(poll, 700); } else if (!leaving) { window.location.reload(); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    setTimeout(poll, 500);
  }
})();
