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
