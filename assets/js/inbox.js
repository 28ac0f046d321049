// The inbox's keyboard shortcuts (issue 12), as the help line under the list says:
//   j or Alt+ArrowDown   the next unread conversation (after the selected one, wrapping)
//   k or Alt+ArrowUp     the previous unread conversation
//   Ctrl+Enter (or Cmd+Enter) in the message box: send
// Letters are ignored while typing in a field. The list is swapped by live.js when it
// changes, so every key press reads the list as it is now.
(function () {
  'use strict';
  if (window.crmInboxLoaded) {
    return;
  }
  window.crmInboxLoaded = true;

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Goes to the next (step 1) or previous (step -1) unread conversation of the list.
  function goUnread(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll('.inbox-list li.conversation'));
    if (!rows.length) {
      return false;
    }
    var current = rows.findIndex(function (row) { return row.classList.contains('selected'); });
    for (var i = 1; i <= rows.length; i++) {
      var index = ((current < 0 ? (step > 0 ? -1 : 0) : current) + step * i + rows.length * i) % rows.length;
      var row = rows[index];
      if (row.classList.contains('unread') && index !== current) {
        var link = row.querySelector('a');
        if (link) {
          window.location.assign(link.href);
          return true;
        }
      }
    }
    return false;
  }

  document.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      var form = event.target && event.target.closest && event.target.closest('form[data-chat-send]');
      if (form) {
        event.preventDefault();
        if (typeof form.requestSubmit === 'function') {
          form.requestSubmit();
        } else {
          form.submit();
        }
      }
      return;
    }
    if (event.altKey && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      if (goUnread(event.key === 'ArrowDown' ? 1 : -1)) {
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (event.key === 'j' || event.key === 'k') {
      if (goUnread(event.key === 'j' ? 1 : -1)) {
        event.preventDefault();
      }
    }
  });
})();
