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

  // A form shown again with errors: focus goes to the summary at its
  // top, so keyboard and screen-reader users meet the errors first.
  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  }

  // Tables in forms. Without script the page offers blank rows and a
  // "remove" box per row; with it, an "Add a row" button and a "Remove"
  // button per row, both plain buttons that work from the keyboard. Focus
  // moves to the first input of an added row, and to a neighbouring row
  // (or the add button) when a row goes. A removed row is simply not sent:
  // kintone deletes the rows an update leaves out.
  function setUpRows(table) {
    var body = table.tBodies[0];
    var namePrefix = table.getAttribute("data-name-prefix");
    var idPrefix = table.getAttribute("data-id-prefix");
    var fieldset = table.closest("fieldset");
    var add = fieldset && fieldset.querySelector("button.add-row");
    if (!body || !add || !namePrefix || !idPrefix) {
      return;
    }

    function firstInput(row) {
      return row.querySelector("input:not([type=hidden]):not([hidden]), select, textarea");
    }

    function renumber() {
      Array.prototype.forEach.call(body.rows, function (row, i) {
        var th = row.querySelector("th[scope=row]");
        if (th) {
          th.textContent = String(i + 1);
        }
      });
    }

    function addRemoveButton(row) {
      var box = row.querySelector("td.row-tools input[type=checkbox]");
      if (!box) {
        return;
      }
      var label = row.querySelector("td.row-tools label");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "remove-row";
      button.textContent = label ? label.textContent : "";
      button.setAttribute("aria-labelledby", box.getAttribute("aria-labelledby"));
      box.hidden = true;
      box.checked = false;
      if (label) {
        label.hidden = true;
      }
      box.parentNode.appendChild(button);
      button.addEventListener("click", function () {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.parentNode.removeChild(row);
        renumber();
        var target = next && firstInput(next);
        (target || add).focus();
      });
    }

    function nextIndex() {
      var max = -1;
      Array.prototype.forEach.call(body.rows, function (row) {
        var n = parseInt(row.getAttribute("data-index"), 10);
        if (n > max) {
          max = n;
        }
      });
      return max + 1;
    }

    function renamed(value, from, to) {
      return value.split(from).join(to);
    }

    function addRow() {
      var source = body.rows[body.rows.length - 1];
      if (!source) {
        return;
      }
      var from = source.getAttribute("data-index");
      var to = String(nextIndex());
      var row = source.cloneNode(true);
      row.setAttribute("data-index", to);
      row.querySelectorAll("button.remove-row, p.field-error").forEach(function (el) {
        el.parentNode.removeChild(el);
      });
      [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (el) {
        if (el.hasAttribute("name")) {
          el.setAttribute("name", renamed(el.getAttribute("name"), namePrefix + from + ".", namePrefix + to + "."));
        }
        ["id", "for", "aria-labelledby"].forEach(function (attr) {
          if (el.hasAttribute(attr)) {
            el.setAttribute(attr, renamed(el.getAttribute(attr), idPrefix + from + "-", idPrefix + to + "-"));
          }
        });
        el.removeAttribute("aria-describedby");
        el.removeAttribute("aria-invalid");
      });
      row.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (el.type === "hidden") {
          if (/\.\$id$/.test(el.name)) {
            el.parentNode.removeChild(el);
          }
        } else if (el.type === "checkbox" || el.type === "radio") {
          el.checked = false;
        } else if (el.tagName === "SELECT") {
          el.selectedIndex = 0;
        } else {
          el.value = "";
        }
      });
      row.querySelectorAll("td.cell-readonly").forEach(function (el) {
        el.textContent = "";
      });
      row.querySelectorAll("td.row-tools [hidden]").forEach(function (el) {
        el.hidden = false;
      });
      body.appendChild(row);
      addRemoveButton(row);
      renumber();
      var target = firstInput(row);
      if (target) {
        target.focus();
      }
    }

    Array.prototype.forEach.call(body.rows, addRemoveButton);
    add.hidden = false;
    add.addEventListener("click", addRow);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button.copy-link").forEach(setUpCopyLink);
    document.querySelectorAll("a.skip-link").forEach(setUpSkipLink);
    document.querySelectorAll("table[data-rows]").forEach(setUpRows);
    focusErrorSummary();
  });
})();
