// Kanban drag and drop: dragging a card onto another column POSTs the move (with the CSRF
// token in a header) and keeps the card there only when the server accepts; otherwise the
// server's message is shown. Without JavaScript each card has a stage select and Move button.
//
// The board is a live region (live.js swaps its children when an order changes, here or in
// another session), so every listener sits on the `.board` element itself, which stays, and
// finds cards and columns from the event target: drag and drop keeps working after a swap.
"use strict";
(() => {
  const board = document.querySelector(".board");
  if (!board) return;
  const token = board.dataset.csrf;
  const error = document.querySelector(".board-error");
  let dragged = null;

  const showError = (text) => {
    if (!error) return;
    error.textContent = text;
    error.hidden = !text;
    error.classList.toggle("error", Boolean(text));
  };

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest("li.card[draggable]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.order);
  });
  board.addEventListener("dragend", () => {
    dragged = null;
    board.querySelectorAll(".drop-ok").forEach((column) => column.classList.remove("drop-ok"));
  });
  const allowed = (column) =>
    dragged && column && (dragged.dataset.moves || "").split(",").includes(column.dataset.stage);
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".column");
    if (allowed(column)) {
      event.preventDefault();
      column.classList.add("drop-ok");
    }
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest(".column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-ok");
  });
  // The hint under the title shows while the columns do not fit and the board scrolls.
  const hint = document.querySelector(".board-hint");
  const updateHint = () => {
    if (hint) hint.hidden = board.scrollWidth <= board.clientWidth + 1;
  };
  updateHint();
  if (window.ResizeObserver) new ResizeObserver(updateHint).observe(board);
  window.addEventListener("resize", updateHint);
  document.addEventListener("crm:live-refreshed", updateHint);
  board.addEventListener("toggle", updateHint, true);

  board.addEventListener("drop", async (event) => {
    const column = event.target.closest(".column");
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("drop-ok");
    const card = dragged;
    const stage = column.dataset.stage;
    showError("");
    try {
      const response = await fetch(`/orders/${card.dataset.order}/move`, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": token,
        },
        body: new URLSearchParams({ stage }),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        showError(answer.error || `HTTP ${response.status}`);
        return;
      }
      const list = column.querySelector("ol.cards");
      if (list) list.prepend(card);
      // The allowed moves changed with the stage: take the server's view of the board, in
      // place when the live script is here, else by reloading.
      if (window.crmLive && typeof window.crmLive.refresh === "function") {
        window.crmLive.refresh();
      } else {
        window.location.reload();
      }
    } catch (failure) {
      showError(String(failure));
    }
  });
})();
