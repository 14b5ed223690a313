// status.js - status.html's poller: GET /v1/videos/{id} every two seconds
// (the browser sends the Basic credentials it used for the upload) until the
// video is processed or failed. A file of its own, not inline: the page is
// served with a Content-Security-Policy that allows this site's own scripts
// only.
"use strict";
(function () {
  var id = new URLSearchParams(location.search).get("id") || "";
  var el = function (k) { return document.getElementById(k); };
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) { el("status").textContent = "no such video"; return; }
  el("id").textContent = id;
  el("json").href = "/v1/videos/" + id;
  function poll() {
    fetch("/v1/videos/" + id, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (v) { return [r.status, v]; }); })
      .then(function (a) {
        var v = a[1];
        if (a[0] !== 200) { el("status").textContent = (v.error && v.error.message) || ("HTTP " + a[0]); return; }
        el("title").textContent = v.title || "(none)";
        el("size").textContent = v.size + " bytes";
        el("status").textContent = v.status;
        el("status").className = v.status;
        if (v.status !== "processed" && v.status !== "failed" && v.status !== "deleted") setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
