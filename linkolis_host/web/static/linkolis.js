// Linkolis: the little JavaScript the web app has. Without it every page still works (reload to see progress).
"use strict";
(function () {
  // The consent page is elsewhere: follow the link on our "continue" page at once.
  var follow = document.querySelector("a[data-follow]");
  if (follow) { window.location.assign(follow.href); return; }

  // Imports and pushes started here: poll /jobs while one runs, then reload once to show what it changed.
  var section = document.querySelector("section.jobs");
  if (!section || !section.querySelector(".job-running")) { return; }
  function poll() {
    fetch("/jobs", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var running = false;
        data.jobs.forEach(function (job) {
          var el = section.querySelector('[data-job="' + CSS.escape(job.app + "/" + job.what) + '"]');
          if (el) { el.textContent = job.text; el.className = "job job-" + job.state; }
          if (job.state === "running") { running = true; }
        });
        if (running) { setTimeout(poll, 700); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
