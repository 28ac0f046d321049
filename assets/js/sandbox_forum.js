// The /sandbox page's staff forum (issue 12): create a simulated supergroup with topics, read
// its topics and messages, and write in a topic as a member, through the emulator's control
// API (/sandbox/forums/...). A simulation: nothing here reaches Telegram.
"use strict";
(() => {
  const root = document.getElementById("sandbox-forum");
  if (!root) return;
  const view = document.getElementById("sandbox-forum-view");
  const create = document.getElementById("sandbox-forum-new");
  const send = document.getElementById("sandbox-forum-send");
  let forum = null;

  const json = async (response) => {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  };

  const line = (text) => {
    const node = document.createElement("p");
    node.textContent = text;
    return node;
  };

  async function refresh() {
    if (forum === null) return;
    const data = await json(await fetch("/sandbox/forums/" + forum));
    const topics = new Map(data.topics.map((topic) => [topic.message_thread_id, topic]));
    const nodes = [line(data.chat.title + " (" + data.chat.id + ")")];
    for (const message of data.messages) {
      const topic = topics.get(message.message_thread_id);
      const where = topic ? "#" + topic.name + (topic.closed ? " (closed)" : "") : "#General";
      const who = message.from === "bot" ? "Bot" : message.from_name || "Member";
      const text = (["photo", "document", "voice", "video", "video_note", "audio", "sticker"].some((kind) => message[kind]) ? "📎 " : "") +
        (message.text || message.caption || (message.forum_topic_created ? "[topic created]" : "[file]"));
      nodes.push(line(where + " · " + who + ": " + text));
    }
    view.replaceChildren(...nodes);
    const select = send.elements.thread;
    const chosen = select.value;
    const options = [new Option("General", "")];
    for (const topic of data.topics) {
      options.push(new Option(topic.name, String(topic.message_thread_id)));
    }
    select.replaceChildren(...options);
    select.value = chosen;
    send.hidden = false;
  }

  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = Number(create.elements.id.value);
    await json(await fetch("/sandbox/forums", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, title: create.elements.title.value }),
    }));
    forum = id;
    await refresh();
  });

  send.addEventListener("submit", async (event) => {
    event.preventDefault();
    const thread = send.elements.thread.value;
    const member = Number(send.elements.member.value);
    const text = send.elements.text.value;
    const file = send.elements.file.files[0];
    const from = { id: member, first_name: "Member " + member };
    try {
      if (file) {
        // A file with the text as its caption, typed by its MIME type as the chat's form does.
        const form = new FormData();
        const type = file.type.startsWith("image/") ? "photo"
          : file.type.startsWith("audio/") ? "voice"
          : file.type.startsWith("video/") ? "video" : "document";
        form.append(type, file, file.name);
        form.append("caption", text);
        if (thread !== "") form.append("message_thread_id", thread);
        form.append("from", JSON.stringify(from));
        await json(await fetch("/sandbox/forums/" + forum + "/send", { method: "POST", body: form }));
      } else if (text.trim()) {
        await json(await fetch("/sandbox/forums/" + forum + "/send", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            text,
            message_thread_id: thread === "" ? null : Number(thread),
            from,
          }),
        }));
      }
      send.elements.text.value = "";
      send.elements.file.value = "";
      await refresh();
    } catch (error) {
      window.alert(error.message);
    }
  });

  setInterval(() => refresh().catch(() => {}), 2000);
})();
