// The chat inbox and the order chat panel, live: when a `message` event concerns what this
// page shows, fetch the same page again and swap in the fresh fragment (the server renders
// HTML in one place). Sending goes through fetch so the page does not jump; without
// JavaScript the form posts normally.
(function () {
  'use strict';
  if (window.crmChatLoaded) {
    return;
  }
  window.crmChatLoaded = true;

  var refreshing = {};
  var again = {};

  // Fetches `url` and replaces each element matching `selector` with its fresh copy.
  function refresh(selector, url) {
    if (refreshing[selector]) {
      again[selector] = true; // Coalesce a burst of events into one more refresh.
      return;
    }
    refreshing[selector] = true;
    fetch(url || window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        var current = document.querySelectorAll(selector);
        var replacements = fresh.querySelectorAll(selector);
        for (var i = 0; i < current.length && i < replacements.length; i++) {
          var box = current[i].querySelector('.messages');
          var atBottom = !box || box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
          current[i].replaceWith(replacements[i]);
          var newBox = replacements[i].querySelector('.messages');
          if (newBox && atBottom) {
            newBox.scrollTop = newBox.scrollHeight;
          }
        }
        document.dispatchEvent(new CustomEvent('crm:chat-refreshed', { detail: { selector: selector } }));
      })
      .catch(function () {})
      .then(function () {
        refreshing[selector] = false;
        if (again[selector]) {
          again[selector] = false;
          refresh(selector, url);
        }
      });
  }

  function scrollToBottom() {
    document.querySelectorAll('.messages').forEach(function (box) {
      box.scrollTop = box.scrollHeight;
    });
  }

  // Marks the open conversation read (GET never writes): POST /chat/{id}/read with the
  // page's CSRF token. The server writes nothing when nothing is unread.
  function markRead() {
    var conversation = document.querySelector('#chat-messages[data-chat-customer]');
    var token = document.querySelector('form[data-chat-send] input[name=csrf], form.mark-read input[name=csrf]');
    if (!conversation || !token || !window.fetch || document.visibilityState === 'hidden') {
      return;
    }
    var body = new URLSearchParams();
    body.set('csrf', token.value);
    fetch('/chat/' + conversation.getAttribute('data-chat-customer') + '/read', {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { 'X-Requested-With': 'fetch' }
    }).then(function (response) {
      if (response.ok) {
        document.querySelectorAll('form.mark-read').forEach(function (form) { form.remove(); });
      }
    }).catch(function () {});
  }

  function onMessage(data) {
    if (document.querySelector('[data-chat-list]')) {
      refresh('[data-chat-list]');
    }
    var conversation = document.querySelector('#chat-messages[data-chat-customer]');
    if (conversation && String(data.customer) === conversation.getAttribute('data-chat-customer')) {
      refresh('#chat-messages');
      if (data.action === 'message.created') {
        markRead();
      }
    }
    var panel = document.querySelector('[data-order-chat]');
    if (panel && data.order !== undefined && String(data.order) === panel.getAttribute('data-order-chat')) {
      refresh('[data-order-chat] [data-chat-messages]');
    }
  }

  function bindSend(form) {
    form.addEventListener('submit', function (event) {
      if (!window.fetch || !window.FormData) {
        return;
      }
      event.preventDefault();
      var button = form.querySelector('button[type=submit]');
      if (button) {
        button.disabled = true;
      }
      fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin' })
        .then(function (response) {
          return response.text().then(function (html) {
            return { ok: response.ok, html: html };
          });
        })
        .then(function (result) {
          var fresh = new DOMParser().parseFromString(result.html, 'text/html');
          var freshForm = fresh.querySelector('form[data-chat-send]');
          if (result.ok) {
            form.reset();
          } else if (freshForm) {
            // The server's answer shows the error beside the form; take its form.
            form.replaceWith(freshForm);
            bindSend(freshForm);
            return;
          }
          var list = fresh.querySelector('#chat-messages') || fresh.querySelector('[data-order-chat] [data-chat-messages]');
          var target = document.querySelector('#chat-messages') || document.querySelector('[data-order-chat] [data-chat-messages]');
          if (list && target) {
            target.replaceWith(list);
            scrollToBottom();
          }
        })
        .catch(function () {
          form.submit();
        })
        .then(function () {
          if (button) {
            button.disabled = false;
          }
        });
    });
  }

  function start() {
    scrollToBottom();
    if (document.querySelector('form.mark-read')) {
      markRead();
    }
    document.querySelectorAll('form[data-chat-send]').forEach(bindSend);
    if (window.crmLive) {
      window.crmLive.on('message', onMessage);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
