// The local stack prints a sign-in link with the generated token in the
// fragment (never sent to a server). Move it into the form, drop it from
// the address bar and history, and sign in; nothing keeps it.
(function () {
  "use strict";
  function fromLink() {
    var m = /^#token=([^&]+)/.exec(location.hash);
    if (!m) return;
    history.replaceState(null, "", location.pathname);
    var tok;
    try { tok = decodeURIComponent(m[1]); } catch (e) { return; }
    document.getElementById("token").value = tok;
    document.getElementById("login-form").submit();
  }
  window.addEventListener("hashchange", fromLink);
  if (!document.getElementById("login-error")) fromLink(); // a refused link: let the operator type
})();
