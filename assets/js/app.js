// Small enhancements for every page; every page works without this file.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.classList.contains("danger") && !button.dataset.confirmed) {
    if (!window.confirm(button.textContent.trim() + "?")) {
      event.preventDefault();
    }
  }
});

// Colours the staff chose (stages, markers) arrive as data attributes: the
// Content-Security-Policy refuses style="" attributes, but the CSSOM may set styles (see
// crm-appliance/src/web/colors.rs). `data-bg` is a background, `data-accent` a top border;
// `.painted` turns on the text colour the server picked for that background. Fragments that
// live updates swap in later are painted as they arrive.
(() => {
  const COLOUR = /^#[0-9a-fA-F]{6}$/;
  const paintOne = (node) => {
    const { bg, accent } = node.dataset;
    if (bg && COLOUR.test(bg)) {
      node.style.backgroundColor = bg;
      node.classList.add("painted");
    }
    if (accent && COLOUR.test(accent)) {
      node.style.borderTopColor = accent;
    }
  };
  const paint = (root) => {
    if (root.dataset) paintOne(root);
    root.querySelectorAll("[data-bg], [data-accent]").forEach(paintOne);
  };
  paint(document);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) paint(node);
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();

// A button with data-copy="ID" copies the value of the field with that id (the webhook
// secret); without this file the field can still be selected and copied by hand.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(field.value).catch(() => document.execCommand("copy"));
  } else {
    document.execCommand("copy");
  }
});
