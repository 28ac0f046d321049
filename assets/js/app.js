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

// Colours chosen in the settings (stages, markers) arrive as data-color and become the
// element's --color, which the stylesheet uses: a style attribute would be inline style, which
// the Content-Security-Policy forbids. Parts of a page refreshed in place get theirs too.
const paint = (root) => {
  if (root.matches("[data-color]")) root.style.setProperty("--color", root.dataset.color);
  root.querySelectorAll("[data-color]").forEach((node) => {
    node.style.setProperty("--color", node.dataset.color);
  });
};
paint(document.documentElement);
new MutationObserver((changes) => {
  for (const change of changes) {
    change.addedNodes.forEach((node) => {
      if (node.nodeType === Node.ELEMENT_NODE) paint(node);
    });
  }
}).observe(document.documentElement, { childList: true, subtree: true });
