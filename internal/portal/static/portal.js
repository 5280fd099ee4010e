// kgate portal: progressive enhancements only; every page works without
// this script. No text lives here: labels come from the page.
(function () {
  "use strict";

  // "Copy link to this view": the list's state is all in its URL.
  function setUpCopyLink(button) {
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    var status = document.getElementById("copy-status");
    var original = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(window.location.href).then(function () {
        button.textContent = button.getAttribute("data-done");
        if (status) {
          status.textContent = button.getAttribute("data-done");
        }
        window.setTimeout(function () {
          button.textContent = original;
        }, 3000);
      });
    });
  }

  // A skip link moves focus to <main>, so keyboard users land in the
  // content rather than only scrolling to it.
  function setUpSkipLink(link) {
    link.addEventListener("click", function () {
      var main = document.getElementById("main");
      if (main) {
        main.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.copy-link").forEach(setUpCopyLink);
    document.querySelectorAll("a.skip-link").forEach(setUpSkipLink);
  });
})();
