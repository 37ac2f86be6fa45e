// The last page of a reader's log-in, in the popup the widget opened: hands the one-time code (or the
// provider's error) to the page that opened the popup, on that page's origin only, then closes.
// Loaded as a file, never inline: Rejoinder's pages allow no inline script.
(function () {
  "use strict";
  var found = document.getElementById("rejoinder-login");
  if (!found) {
    return;
  }
  var origin = found.getAttribute("data-origin");
  var message = { type: "rejoinder:login", state: found.getAttribute("data-state") };
  var error = found.getAttribute("data-error");
  if (error) {
    message.error = error;
  } else {
    message.code = found.getAttribute("data-code");
  }
  if (window.opener && origin) {
    // The target origin keeps the code from any page but the one the log-in started on.
    window.opener.postMessage(message, origin);
    window.close();
    return;
  }
  // No opener: a provider's page with Cross-Origin-Opener-Policy cut this window off from the page, which
  // claims the code from the server by its state. The page's words say the window can be closed.
  document.getElementById("rejoinder-login-orphan").hidden = false;
})();
