// Live updates: the page's one event stream (/events) and a tiny hub other scripts subscribe
// to. The browser's EventSource reconnects by itself and sends Last-Event-ID, so the server
// resumes right after the last event this page saw.
//
// The stream closes when the page is hidden (`pagehide`) and reopens when it is shown again
// (`pageshow` from the back/forward cache), resuming after the last event seen (`?after=`).
// Chromium keeps pages we navigated away from alive in that cache, streams included: over
// HTTP/1.1 a browser opens at most six connections to one server, so after about six live
// pages the next page load waited for a free one and the inbox's Send button stayed disabled.
//
//   window.crmLive.on('order', function (data) { ... });    // data: {id, action, order, stage, ...}
//   window.crmLive.on('message', function (data) { ... });  // data: {id, action, customer, order, message, ...}
//   window.crmLive.on('call', function (data) { ... });     // data: {id, action, customer, ...}
//   window.crmLive.on('broadcast', function (data) { ... }); // data: {id, action, broadcast, ...}
//   window.crmLive.on('project', function (data) { ... });   // data: {id, action, project, customer, ...}
//   window.crmLive.refresh();                                // swap the live regions now (see below)
(function () {
  'use strict';
  if (window.crmLive) {
    return; // Loaded twice on one page (a panel and its page both include it): one stream.
  }
  var handlers = {};
  var source = null;
  var lastId = null; // The id of the last event this page saw, to resume after.

  function dispatch(kind, event) {
    var data = {};
    try {
      data = JSON.parse(event.data || '{}');
    } catch (error) {
      return;
    }
    (handlers[kind] || []).forEach(function (handler) {
      try {
        handler(data, event);
      } catch (error) {
        if (window.console) {
          window.console.error(error);
        }
      }
    });
  }

  function connect() {
    if (source || typeof window.EventSource !== 'function') {
      return;
    }
    source = new window.EventSource(lastId ? '/events?after=' + encodeURIComponent(lastId) : '/events');
    ['order', 'message', 'call', 'broadcast', 'project', 'ready'].forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        if (event.lastEventId) {
          lastId = event.lastEventId;
        }
        document.documentElement.setAttribute('data-live', 'on');
        dispatch(kind, event);
      });
    });
    source.addEventListener('error', function () {
      // CLOSED means the server refused (the session ended): stay quiet; otherwise the
      // browser is already retrying.
      if (source && source.readyState === window.EventSource.CLOSED) {
        document.documentElement.setAttribute('data-live', 'off');
      } else {
        document.documentElement.setAttribute('data-live', 'reconnecting');
      }
    });
  }

  // Declarative refresh: an element with an id and `data-live-refresh="order"` (or
  // "message", or both, space-separated) gets its children swapped for those of a fresh copy
  // of this page when such an event arrives. The element itself stays, so listeners bound to
  // it (board.js's drag and drop) keep working. Nothing is swapped during a drag.
  var dragging = false;
  document.addEventListener('dragstart', function () { dragging = true; }, true);
  document.addEventListener('dragend', function () {
    dragging = false;
    if (pending) {
      window.setTimeout(refreshRegions, 300);
    }
  }, true);
  var pending = false;
  var running = false;

  function refreshRegions() {
    if (running || dragging) {
      pending = true;
      return;
    }
    running = true;
    pending = false;
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        document.querySelectorAll('[data-live-refresh][id]').forEach(function (region) {
          var copy = fresh.getElementById(region.id);
          if (copy) {
            // Folded sections the person opened (the board's terminal columns) stay open.
            var open = Array.prototype.map.call(region.querySelectorAll('details[id][open]'), function (details) {
              return details.id;
            });
            region.replaceChildren.apply(region, Array.prototype.slice.call(copy.childNodes));
            open.forEach(function (id) {
              var details = document.getElementById(id);
              if (details && region.contains(details)) {
                details.open = true;
              }
            });
          }
        });
        document.dispatchEvent(new CustomEvent('crm:live-refreshed'));
      })
      .catch(function () {})
      .then(function () {
        running = false;
        if (pending) {
          window.setTimeout(refreshRegions, 250);
        }
      });
  }

  function wantsRefresh(kind) {
    var regions = document.querySelectorAll('[data-live-refresh][id]');
    for (var i = 0; i < regions.length; i++) {
      if ((' ' + regions[i].getAttribute('data-live-refresh') + ' ').indexOf(' ' + kind + ' ') >= 0) {
        return true;
      }
    }
    return false;
  }

  ['order', 'message', 'call', 'broadcast', 'project'].forEach(function (kind) {
    (handlers[kind] = handlers[kind] || []).push(function () {
      if (wantsRefresh(kind)) {
        refreshRegions();
      }
    });
  });

  window.crmLive = {
    on: function (kind, handler) {
      (handlers[kind] = handlers[kind] || []).push(handler);
      connect();
    },
    connected: function () {
      return !!source && source.readyState === window.EventSource.OPEN;
    },
    // Refreshes the page's live regions now (after this page's own change, for instance).
    refresh: refreshRegions
  };

  // A hidden page holds no connection (see the top of this file); shown again, it catches up.
  window.addEventListener('pagehide', function () {
    if (source) {
      source.close();
      source = null;
    }
    document.documentElement.setAttribute('data-live', 'paused');
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) {
      connect();
    }
  });

  // Pages that only want the stream open (for other scripts loaded later) still get one.
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', connect);
  } else {
    connect();
  }
})();
