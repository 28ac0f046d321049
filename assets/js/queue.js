// The token service's queue (/queue): dragging a row onto another places it right before
// that row (or, dropped below the last row, at the end) by submitting the same form the row's
// buttons use, so the server decides and the page shows its answer. Without JavaScript the
// buttons (to the top, up, down, to the end) do the same.
"use strict";
(() => {
  const list = document.querySelector("ol.token-queue[data-movable]");
  if (!list) return;
  const token = list.dataset.csrf;
  let dragged = null;

  const submit = (order, before) => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = `/queue/${order}/move`;
    const field = (name, value) => {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    };
    field("csrf", token);
    if (before) field("before", before);
    document.body.append(form);
    form.submit();
  };

  list.addEventListener("dragstart", (event) => {
    const row = event.target.closest("li.queue-row[draggable]");
    if (!row) return;
    dragged = row;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.order);
  });
  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    list.querySelectorAll(".drop-before").forEach((row) => row.classList.remove("drop-before"));
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    list.querySelectorAll(".drop-before").forEach((row) => row.classList.remove("drop-before"));
    const row = event.target.closest("li.queue-row");
    if (row && row !== dragged) row.classList.add("drop-before");
  });
  list.addEventListener("drop", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const row = event.target.closest("li.queue-row");
    if (row === dragged) return;
    submit(dragged.dataset.order, row ? row.dataset.order : "");
  });
})();
