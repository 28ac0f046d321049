// The /sandbox page: chat with the bot as simulated customers through the emulator's control
// API (/sandbox/chats/...). A simulation: nothing here reaches Telegram.
"use strict";
(() => {
  const root = document.getElementById("sandbox");
  if (!root) return;
  const t = (key) => root.dataset["t" + key] || key;
  const list = document.getElementById("sandbox-chats");
  const messages = document.getElementById("sandbox-messages");
  const title = document.getElementById("sandbox-title");
  const compose = document.getElementById("sandbox-compose");
  const create = document.getElementById("sandbox-new");
  let current = null;
  let profiles = {};
  let shown = "";

  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  };

  const json = async (response) => {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  };

  async function loadChats() {
    const chats = await json(await fetch("/sandbox/chats"));
    list.replaceChildren(
      ...chats.map((chat) => {
        profiles[chat.id] = chat.user;
        const name = chat.user.first_name + (chat.user.username ? " @" + chat.user.username : "");
        return el(
          "li",
          { class: chat.id === current ? "active" : "" },
          el("button", { type: "button", class: "link", onclick: () => open(chat.id) }, name),
          chat.last ? el("small", {}, " — " + chat.last) : null
        );
      })
    );
  }

  function bubble(message) {
    const mine = message.from === "user";
    const body = el("div", { class: "sandbox-bubble " + (mine ? "from-user" : "from-bot") });
    body.append(el("small", {}, (mine ? t("You") : t("Bot")) + " #" + message.message_id + (message.edited ? " · " + t("Edited") : "")));
    if (message.reply_to_message_id) {
      body.append(el("blockquote", { class: "sandbox-quote" }, "↩ #" + message.reply_to_message_id));
    }
    if (message.media_group_id) body.append(el("small", { class: "muted" }, " 🖼 " + message.media_group_id));
    if (message.venue) {
      body.append(el("p", {}, "📍 " + message.venue.title + ", " + message.venue.address));
    } else if (message.location) {
      body.append(el("p", {}, "📍 " + message.location.latitude + ", " + message.location.longitude));
    }
    if (message.contact) {
      body.append(el("p", {}, "👤 " + message.contact.first_name + " " + (message.contact.last_name || "") + " " + message.contact.phone_number));
    }
    if (message.dice) body.append(el("p", {}, message.dice.emoji + " " + message.dice.value));
    if (message.poll) {
      body.append(el("p", {}, "📊 " + message.poll.question + ": " + message.poll.options.map((option) => option.text).join(" / ")));
    }
    if (message.media) {
      const media = message.media;
      if ((media.kind === "photo" || media.kind === "sticker") && media.url) {
        body.append(el("img", { src: media.url, alt: media.file_name || "photo", loading: "lazy" }));
      } else if (media.url) {
        body.append(el("a", { href: media.url }, "📎 " + (media.file_name || media.kind)));
      }
    }
    const text = message.text || message.caption;
    if (text) body.append(el("p", {}, text));
    if (mine && (message.text || message.caption !== undefined)) {
      body.append(el("button", { type: "button", class: "link", onclick: () => edit(message) }, t("Edit")));
    }
    body.append(
      el("button", { type: "button", class: "link", onclick: () => { compose.elements.reply_to.value = message.message_id; } }, t("Reply"))
    );
    const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
    for (const row of rows) {
      const line = el("div", { class: "sandbox-buttons" });
      for (const button of row) {
        if (button.callback_data) {
          line.append(
            el(
              "button",
              { type: "button", "data-callback": button.callback_data, onclick: () => press(message.message_id, button.callback_data) },
              button.text
            )
          );
        } else if (button.url) {
          line.append(el("a", { href: button.url, rel: "noopener", target: "_blank" }, button.text));
        } else if (button.web_app && button.web_app.url) {
          line.append(
            el(
              "button",
              { type: "button", "data-web-app": button.web_app.url, onclick: () => openWebApp(button.web_app.url) },
              "▣ " + button.text
            )
          );
        }
      }
      body.append(line);
    }
    return body;
  }

  // A web_app button: the emulator signs initData for the current user with the emulated
  // bot's token, as Telegram would, and the Mini App opens at 390 px in a frame below the
  // chat (same origin: the path of the button's URL), with a link to open it in a tab.
  async function openWebApp(url) {
    if (current === null) return;
    const body = await json(
      await fetch("/sandbox/chats/" + current + "/web_app", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({}),
      })
    );
    const target = new URL(url, window.location.href);
    const address =
      target.pathname + "#tgWebAppData=" + encodeURIComponent(body.init_data) + "&tgWebAppVersion=7.10&tgWebAppPlatform=sandbox";
    let panel = document.getElementById("sandbox-web-app");
    if (!panel) {
      panel = el("section", { id: "sandbox-web-app", class: "sandbox-web-app card", "aria-label": t("WebApp") });
      root.append(panel);
    }
    const frame = el("iframe", { id: "sandbox-web-app-frame", src: address, title: t("WebApp"), width: "390", height: "720" });
    panel.replaceChildren(
      el("h2", {}, t("WebApp")),
      el("p", {}, el("a", { href: address, target: "_blank", rel: "noopener", id: "sandbox-web-app-tab" }, t("WebAppTab"))),
      frame,
      el("p", {}, el("button", { type: "button", class: "secondary", onclick: () => panel.remove() }, t("WebAppClose")))
    );
    panel.scrollIntoView();
  }

  async function refresh() {
    if (current === null) return;
    const response = await fetch("/sandbox/chats/" + current);
    if (response.status === 404) {
      messages.replaceChildren(el("p", { class: "muted" }, t("Empty")));
      return;
    }
    const chat = await json(response);
    const key = JSON.stringify([chat.messages, chat.blocked]);
    if (key === shown) return;
    shown = key;
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    const nodes = chat.messages.map(bubble);
    if (chat.blocked) nodes.push(el("p", { class: "muted" }, t("Blocked")));
    if (nodes.length === 0) nodes.push(el("p", { class: "muted" }, t("Empty")));
    messages.replaceChildren(...nodes);
    if (atBottom) messages.scrollTop = messages.scrollHeight;
  }

  function open(id) {
    current = id;
    shown = "";
    const profile = profiles[id] || {};
    title.textContent = (profile.first_name || "Customer") + " (id " + id + ")";
    compose.hidden = false;
    refresh();
    loadChats();
  }

  async function press(messageId, data) {
    await json(
      await fetch("/sandbox/chats/" + current + "/press", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message_id: messageId, data }),
      })
    );
    setTimeout(refresh, 300);
  }

  async function edit(message) {
    const text = window.prompt(t("Edit"), message.text || message.caption || "");
    if (text === null) return;
    try {
      await json(
        await fetch("/sandbox/chats/" + current + "/edit", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message_id: message.message_id, text }),
        })
      );
      setTimeout(refresh, 300);
    } catch (error) {
      window.alert(error.message);
    }
  }

  // The non-file kinds, typed into the text box: "lat, lon" (location), "lat, lon, title,
  // address" (venue), "phone, first name, last name" (contact), an emoji (dice),
  // "question | option | option" (poll).
  function kindFields(kind, text) {
    const parts = text.split(",").map((part) => part.trim());
    switch (kind) {
      case "location":
        return { location: { latitude: parts[0], longitude: parts[1] } };
      case "venue":
        return { venue: { latitude: parts[0], longitude: parts[1], title: parts[2], address: parts.slice(3).join(", ") } };
      case "contact":
        return { contact: { phone_number: parts[0], first_name: parts[1], last_name: parts[2] } };
      case "dice":
        return { dice: { emoji: text.trim() || "🎲" } };
      case "poll": {
        const [question, ...options] = text.split("|").map((part) => part.trim());
        return { poll: { question, options } };
      }
      default:
        return null;
    }
  }

  compose.addEventListener("submit", async (event) => {
    event.preventDefault();
    const profile = profiles[current] || {};
    const text = compose.elements.text.value;
    const files = Array.from(compose.elements.file.files);
    const kind = compose.elements.kind.value;
    const replyTo = compose.elements.reply_to.value;
    const send = (body) =>
      fetch("/sandbox/chats/" + current + "/send", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(Object.assign({ from: profile }, replyTo ? { reply_to_message_id: Number(replyTo) } : {}, body)),
      }).then(json);
    try {
      const fields = kindFields(kind, text);
      if (fields) {
        await send(fields);
      } else if (files.length > 0) {
        const group = files.length > 1 ? String(Date.now()) : null;
        for (const [index, file] of files.entries()) {
          const form = new FormData();
          const type = kind === "sticker" ? "sticker"
            : file.type.startsWith("image/") ? "photo"
            : file.type.startsWith("audio/") ? "voice"
            : file.type.startsWith("video/") ? "video" : "document";
          form.append(type, file, file.name);
          if (index === 0 && type !== "sticker") form.append("caption", text);
          if (group) form.append("media_group_id", group);
          if (replyTo && index === 0) form.append("reply_to_message_id", replyTo);
          for (const key of ["first_name", "last_name", "username", "language_code"]) {
            if (profile[key]) form.append(key, profile[key]);
          }
          await json(await fetch("/sandbox/chats/" + current + "/send", { method: "POST", body: form }));
        }
      } else if (text.trim()) {
        await send({ text });
      }
      compose.reset();
      setTimeout(refresh, 300);
    } catch (error) {
      window.alert(error.message);
    }
  });

  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = 7000000000 + Math.floor(Math.random() * 1000000000);
    const from = {
      first_name: create.elements.first_name.value.trim() || "Customer",
      username: create.elements.username.value.trim() || undefined,
      language_code: create.elements.language_code.value,
    };
    profiles[id] = from;
    try {
      await json(
        await fetch("/sandbox/chats/" + id + "/send", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text: "/start", from }),
        })
      );
      create.reset();
      open(id);
    } catch (error) {
      window.alert(error.message);
    }
  });

  loadChats();
  setInterval(refresh, 1000);
  setInterval(loadChats, 4000);
})();
