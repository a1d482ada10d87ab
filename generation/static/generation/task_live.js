// The admin task page's live progress: the task's staff-only event stream (session cookie), shown
// in the "live" field. A static file, since the admin's Content-Security-Policy allows no inline script.
// Loaded in <head> (the admin's Media): it starts once the page is parsed.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var box = document.getElementById("task-live");
  if (!box || !window.EventSource || box.dataset.final === "true") {
    return;
  }
  var text = box.querySelector(".task-live-text");
  var bar = box.querySelector(".task-live-bar");
  var source = new EventSource(box.dataset.eventsUrl);
  function data(event) {
    return JSON.parse(event.data);
  }
  source.addEventListener("queued", function (event) {
    var position = data(event).queue_position;
    text.textContent = position ? "queued (position " + position + " in its queue)" : "queued";
  });
  source.addEventListener("running", function () {
    text.textContent = "running";
  });
  source.addEventListener("progress", function (event) {
    var step = data(event);
    text.textContent = "running: step " + step.step + " of " + step.steps;
    bar.hidden = false;
    bar.max = step.steps;
    bar.value = step.step;
  });
  source.addEventListener("done", function (event) {
    source.close(); // the stream ends here; EventSource would otherwise reconnect
    bar.hidden = true;
    text.textContent = data(event).state + " (reload the page for the outcome)";
    box.dataset.final = "true";
    box.dataset.state = data(event).state;
  });
});
