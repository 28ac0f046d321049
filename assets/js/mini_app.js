// The client Mini App's script (served from the appliance's embedded assets; no CDN).
//
// It reads Telegram's initData (from Telegram.WebApp when Telegram's own script is there,
// else from the URL's fragment, `#tgWebAppData=...`, where Telegram puts it), and asks the
// server for HTML fragments with `Authorization: tma <initData>` on every request: the
// client's projects, one project, older pages of its feed, decisions. Files are fetched the
// same way and shown through blob URLs once they scroll into view. Every few seconds it asks
// for the shown project's stamp and reloads the project when it changed (live updates).
(function () {
  "use strict";

  var root = document.getElementById("mini-app");
  if (!root) {
    return;
  }
  var base = root.getAttribute("data-base") || "/app";
  var main = document.getElementById("app-main");
  var notice = document.getElementById("app-notice");
  var POLL_MS = 4000;

  function readInitData() {
    var telegram = window.Telegram && window.Telegram.WebApp;
    if (telegram && telegram.initData) {
      return telegram.initData;
    }
    var fragment = window.location.hash.replace(/^#/, "");
    if (!fragment) {
      return "";
    }
    var params = new URLSearchParams(fragment);
    return params.get("tgWebAppData") || "";
  }

  var initData = readInitData();
  var several = false;
  var shownProject = null;
  var shownStamp = null;
  var pollTimer = null;
  var blobs = [];

  // Tells Telegram the app is ready (its webviews and Telegram Web), when inside it.
  try {
    if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
      window.TelegramWebviewProxy.postEvent("web_app_ready", "{}");
    }
  } catch (ignored) {
    // Outside Telegram there is nobody to tell.
  }

  function call(path, options) {
    options = options || {};
    var headers = {};
    if (initData) {
      headers.Authorization = "tma " + initData;
    }
    return fetch(base + "/api" + path, {
      method: options.method || "GET",
      headers: headers,
      credentials: "omit",
      cache: "no-store",
    });
  }

  function setLanguage(container) {
    var tagged = container.querySelector("[data-lang]");
    if (tagged) {
      document.documentElement.lang = tagged.getAttribute("data-lang");
    }
  }

  function releaseBlobs() {
    blobs.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    blobs = [];
  }

  var observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver(function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              loadMedia(entry.target);
            }
          });
        }, { rootMargin: "200px" })
      : null;

  function loadMedia(element) {
    var hash = element.getAttribute("data-media");
    if (!hash || element.getAttribute("data-loaded")) {
      return;
    }
    element.setAttribute("data-loaded", "loading");
    call("/media/" + hash)
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.blob();
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        blobs.push(url);
        element.src = url;
        element.setAttribute("data-loaded", "yes");
      })
      .catch(function () {
        element.setAttribute("data-loaded", "failed");
      });
  }

  function watchMedia(container) {
    container.querySelectorAll("[data-media]").forEach(function (element) {
      if (observer) {
        observer.observe(element);
      } else {
        loadMedia(element);
      }
    });
  }

  function show(html) {
    releaseBlobs();
    main.innerHTML = html;
    main.removeAttribute("aria-busy");
    setLanguage(main);
    watchMedia(main);
  }

  function say(html) {
    notice.innerHTML = html;
  }

  function stopPolling() {
    if (pollTimer) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function loadHome() {
    stopPolling();
    shownProject = null;
    return call("/home").then(function (response) {
      return response.text().then(function (html) {
        show(html);
        var home = document.getElementById("app-home");
        if (!response.ok || !home) {
          return;
        }
        var links = home.querySelectorAll("[data-project]");
        several = links.length > 1;
        if (links.length === 1) {
          loadProject(links[0].getAttribute("data-project"));
        }
      });
    });
  }

  function loadProject(id) {
    return call("/projects/" + id + "?back=" + (several ? 1 : 0)).then(function (response) {
      return response.text().then(function (html) {
        show(html);
        var project = document.getElementById("app-project");
        if (response.ok && project) {
          shownProject = id;
          shownStamp = project.getAttribute("data-stamp");
          startPolling();
        } else {
          stopPolling();
        }
      });
    });
  }

  function startPolling() {
    stopPolling();
    pollTimer = window.setInterval(function () {
      if (!shownProject || document.hidden) {
        return;
      }
      var id = shownProject;
      call("/projects/" + id + "/stamp")
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (stamp) {
          if (stamp && id === shownProject && stamp !== shownStamp) {
            loadProject(id);
          }
        })
        .catch(function () {
          // The next poll tries again.
        });
    }, POLL_MS);
  }

  function loadMore(button) {
    var project = button.getAttribute("data-project");
    var before = button.getAttribute("data-more");
    button.disabled = true;
    call("/projects/" + project + "/feed?before=" + encodeURIComponent(before)).then(function (response) {
      return response.text().then(function (html) {
        var holder = button.closest(".more");
        var box = document.createElement("div");
        box.innerHTML = html;
        if (holder) {
          holder.remove();
        }
        var feed = main.querySelector(".feed-items");
        while (feed && box.firstChild) {
          feed.appendChild(box.firstChild);
        }
        if (feed) {
          watchMedia(feed);
        }
      });
    });
  }

  function download(button) {
    var hash = button.getAttribute("data-download");
    call("/media/" + hash)
      .then(function (response) {
        return response.ok ? response.blob() : null;
      })
      .then(function (blob) {
        if (!blob) {
          return;
        }
        var url = URL.createObjectURL(blob);
        blobs.push(url);
        // A link with the file's name saves it as that name; the webview opens what it
        // cannot save.
        var link = document.createElement("a");
        link.href = url;
        link.download = button.getAttribute("data-file-name") || "";
        link.rel = "noopener";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
  }

  function confirmFor(requestBox, which) {
    requestBox.querySelectorAll("[data-confirm-for]").forEach(function (box) {
      box.hidden = box.getAttribute("data-confirm-for") !== which;
    });
    var first = requestBox.querySelector('[data-confirm-for="' + which + '"] [data-decide]');
    if (first) {
      first.focus();
    }
  }

  function decide(button) {
    var request = button.getAttribute("data-request");
    var decision = button.getAttribute("data-decide");
    var project = shownProject;
    button.disabled = true;
    call("/projects/" + project + "/requests/" + request + "/" + decision, { method: "POST" })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        say(html);
        return loadProject(project);
      })
      .catch(function () {
        button.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target || !root.contains(target)) {
      return;
    }
    if (target.hasAttribute("data-home")) {
      say("");
      loadHome();
    } else if (target.hasAttribute("data-more")) {
      loadMore(target);
    } else if (target.hasAttribute("data-download")) {
      download(target);
    } else if (target.hasAttribute("data-ask")) {
      confirmFor(target.closest(".change-request"), target.getAttribute("data-ask"));
    } else if (target.hasAttribute("data-cancel")) {
      confirmFor(target.closest(".change-request"), "");
    } else if (target.hasAttribute("data-decide")) {
      decide(target);
    } else if (target.hasAttribute("data-project")) {
      say("");
      loadProject(target.getAttribute("data-project"));
    }
  });

  loadHome().catch(function () {
    main.removeAttribute("aria-busy");
  });
})();
