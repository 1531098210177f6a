// Sends a reaction without leaving the page, and turns the button in place. The
// buttons are a plain form (templates/boards/_reactions.html) that works without
// this script; if anything goes wrong here, the form is sent the ordinary way.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) {
    return;
  }

  function sendPlainly(form, button) {
    // form.submit() skips this handler and leaves out the pressed button: add its value.
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = button.name;
    input.value = button.value;
    form.appendChild(input);
    form.submit();
  }

  function update(form, button, answer) {
    button.name = answer.sent ? "remove" : "add";
    button.setAttribute("aria-pressed", answer.sent ? "true" : "false");
    var note = form.querySelector("[data-reactions-sent]");
    if (note) {
      note.textContent = answer.sent_labels.length
        ? "You sent: " + answer.sent_labels.join(", ") + ". Press one again to take it back."
        : "You took back \u201c" + answer.label + "\u201d.";
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.matches || !form.matches("form[data-reactions]") || !button || !button.name) {
      return;
    }
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") {
      return; // a double click: the first one is on its way
    }
    var data = new FormData(form);
    data.append(button.name, button.value);
    button.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("status " + response.status);
      }
      return response.json();
    }).then(function (answer) {
      button.removeAttribute("aria-busy");
      update(form, button, answer);
    }).catch(function () {
      button.removeAttribute("aria-busy");
      sendPlainly(form, button);
    });
  });
})();
