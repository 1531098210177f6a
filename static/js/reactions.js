// Sends a reaction without leaving the page, and turns the button in place. The
// buttons belong to the page's one plain form ("pa", templates/boards/topic.html)
// and work without this script; if anything goes wrong here, the form is sent the
// ordinary way. Buttons with a formaction of their own (Block, Unblock) are left alone.
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
    // The form's data is taken at submit(): take the input out again, or a page brought
    // back by the browser's Back button would send this button with the next one.
    form.removeChild(input);
  }

  function noteFor(button) {
    // The "You sent: …" line under the post's buttons, made when the first one is sent.
    var group = button.closest("fieldset");
    var note = group.nextElementSibling;
    if (!note || !note.classList.contains("reactions-sent")) {
      note = document.createElement("p");
      note.className = "reactions-sent";
      group.parentNode.insertBefore(note, group.nextSibling);
    }
    return note;
  }

  function update(button, answer) {
    button.name = answer.sent ? "remove" : "add";
    button.setAttribute("aria-pressed", answer.sent ? "true" : "false");
    var message = answer.sent_labels.length
      ? "You sent: " + answer.sent_labels.join(", ") + ". Press one again to take it back."
      : "You took back \u201c" + answer.label + "\u201d.";
    noteFor(button).textContent = message;
    var status = document.getElementById("reaction-status");
    if (status) {
      // Emptied first, so the same words said twice (two posts) are announced twice.
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = message;
      }, 50);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (form.id !== "pa" || !button || button.hasAttribute("formaction")) {
      return;
    }
    if (button.name !== "add" && button.name !== "remove") {
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
      update(button, answer);
    }).catch(function () {
      button.removeAttribute("aria-busy");
      sendPlainly(form, button);
    });
  });
})();
