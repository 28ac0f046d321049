// The broadcast form's character counter (/broadcasts/new, /broadcasts/{id}/edit): the
// textarea with data-max-chars names its counter (data-counter), whose data-template reads
// "%{count} of %{max} characters". It counts characters as the server does (Unicode code
// points of the trimmed text), so the figure is the one the server checks; the form works
// and is checked without this file.
"use strict";
(() => {
  const text = document.querySelector("textarea[data-max-chars]");
  if (!text) return;
  const counter = document.getElementById(text.dataset.counter || "");
  if (!counter) return;
  const max = Number(text.dataset.maxChars);
  const template = counter.dataset.template || "%{count} / %{max}";
  const update = () => {
    // Browsers post line breaks as CR LF; the server counts them as one (it reads them so).
    const count = Array.from(text.value.trim()).length;
    counter.textContent = template.replace("%{count}", String(count)).replace("%{max}", String(max));
    counter.classList.toggle("over", count > max);
    text.setAttribute("aria-invalid", count > max ? "true" : "false");
  };
  text.addEventListener("input", update);
  update();
})();
