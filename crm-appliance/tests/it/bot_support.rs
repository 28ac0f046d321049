//! Helpers of the bot tests: simulated Telegram users talking to the appliance's sandbox
//! emulator over its control API, waiting for the bot's answers, arming faults, injecting
//! fixtures from `fixtures/telegram/`, and starting the appliance on a chosen port (webhook
//! mode needs its public URL before it starts).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestApp, capture_output, sandbox_client, sandbox_key_in};

/// How long a test waits for the bot (replies leave at most one per second per chat).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A simulated Telegram user of the sandbox.
#[derive(Clone)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub language_code: String,
}

impl User {
    pub fn new(id: i64, first_name: &str, language_code: &str) -> Self {
        User {
            id,
            first_name: first_name.into(),
            language_code: language_code.into(),
        }
    }
}

/// The sandbox's control API of one running appliance: the first organization's emulated bot,
/// or the one [`Sandbox::of_org`] names.
pub struct Sandbox {
    pub base: String,
    pub http: reqwest::Client,
    /// The organization whose emulator it drives (`?org=<slug>`); the first one when `None`.
    pub org: Option<String>,
}

impl Sandbox {
    pub fn of(app: &TestApp) -> Self {
        Sandbox::at(app.url(""), &app.sandbox_key)
    }

    /// The sandbox of the appliance at `base` (`http://127.0.0.1:PORT`) whose control API
    /// takes `key` (printed at its start).
    pub fn at(base: String, key: &str) -> Self {
        Sandbox {
            base,
            http: sandbox_client(key),
            org: None,
        }
    }

    /// The emulated bot of the organization with slug `org`.
    pub fn of_org(app: &TestApp, org: &str) -> Self {
        Sandbox {
            org: Some(org.to_string()),
            ..Sandbox::of(app)
        }
    }

    pub fn url(&self, path: &str) -> String {
        match &self.org {
            None => format!("{}{path}", self.base),
            Some(org) => {
                let separator = if path.contains('?') { '&' } else { '?' };
                format!("{}{path}{separator}org={org}", self.base)
            }
        }
    }

    /// The user writes `text`; returns the message id.
    pub async fn send(&self, user: &User, text: &str) -> i64 {
        let answer = ok(self
            .http
            .post(self.url(&format!("/sandbox/chats/{}/send", user.id)))
            .json(&json!({
                "text": text,
                "from": {"first_name": user.first_name, "language_code": user.language_code},
            })))
        .await;
        answer["message_id"].as_i64().unwrap()
    }

    /// The user sends a file (`photo`, `document`, `voice`) with a caption.
    pub async fn send_file(
        &self,
        user: &User,
        kind: &str,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> i64 {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("caption", caption.to_string())
            .text("first_name", user.first_name.clone())
            .text("language_code", user.language_code.clone())
            .part(kind.to_string(), part);
        let answer = ok(self
            .http
            .post(self.url(&format!("/sandbox/chats/{}/send", user.id)))
            .multipart(form))
        .await;
        answer["message_id"].as_i64().unwrap()
    }

    /// The user presses a button with `data` on message `message_id`.
    pub async fn press(&self, user: &User, message_id: i64, data: &str) -> String {
        let answer = ok(self
            .http
            .post(self.url(&format!("/sandbox/chats/{}/press", user.id)))
            .json(&json!({"message_id": message_id, "data": data})))
        .await;
        answer["callback_query_id"].as_str().unwrap().to_string()
    }

    /// The chat as the emulator keeps it (`null` when the chat does not exist yet).
    pub async fn chat(&self, user_id: i64) -> Value {
        let response = self
            .http
            .get(self.url(&format!("/sandbox/chats/{user_id}")))
            .send()
            .await
            .unwrap();
        if response.status() == 404 {
            return Value::Null;
        }
        response.json().await.unwrap()
    }

    /// The bot's messages in the chat, oldest first.
    pub async fn bot_messages(&self, user_id: i64) -> Vec<Value> {
        let chat = self.chat(user_id).await;
        chat["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|message| message["from"] == "bot")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for the bot's `count`-th message (1-based, counting from the chat's start) and
    /// returns it.
    pub async fn nth_bot_message(&self, user_id: i64, count: usize) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let messages = self.bot_messages(user_id).await;
            if messages.len() >= count {
                return messages[count - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "the bot sent {} messages to {user_id}, expected {count}: {messages:#?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a bot message after the first `after` ones whose text contains `needle`.
    pub async fn wait_for(&self, user_id: i64, after: usize, needle: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let messages = self.bot_messages(user_id).await;
            if let Some(found) = messages.iter().skip(after).find(|message| {
                message["text"]
                    .as_str()
                    .or_else(|| message["caption"].as_str())
                    .is_some_and(|text| text.contains(needle))
            }) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no bot message containing {needle:?} for {user_id}: {messages:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The user says something and waits for the next bot message, which is returned.
    pub async fn say(&self, user: &User, text: &str) -> Value {
        let before = self.bot_messages(user.id).await.len();
        self.send(user, text).await;
        self.nth_bot_message(user.id, before + 1).await
    }

    /// The user presses a button and waits for the next bot message.
    pub async fn tap(&self, user: &User, message: &Value, data: &str) -> Value {
        let before = self.bot_messages(user.id).await.len();
        self.press(user, message["message_id"].as_i64().unwrap(), data)
            .await;
        self.nth_bot_message(user.id, before + 1).await
    }

    /// Waits until the callback query has its answer, and returns it.
    pub async fn answer_of(&self, user_id: i64, query_id: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let chat = self.chat(user_id).await;
            if let Some(query) = chat["callback_queries"].as_array().and_then(|queries| {
                queries
                    .iter()
                    .find(|query| query["callback_query_id"] == query_id)
            }) && query["answered"] == true
            {
                return query.clone();
            }
            assert!(
                Instant::now() < deadline,
                "query {query_id} was never answered: {chat:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Injects a raw update (`times` copies with one update id); returns the ids.
    pub async fn inject(&self, update: &Value, times: u32, keep_update_id: bool) -> Vec<u64> {
        let answer = ok(self
            .http
            .post(self.url("/sandbox/updates"))
            .json(&json!({"update": update, "times": times, "keep_update_id": keep_update_id})))
        .await;
        answer["update_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap())
            .collect()
    }

    /// Arms a fault.
    pub async fn fault(&self, fault: Value) {
        let response = self
            .http
            .post(self.url("/sandbox/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }

    /// The emulator's call counts and sends.
    pub async fn stats(&self) -> Value {
        self.http
            .get(self.url("/sandbox/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until no update is waiting in the emulator (the bot took and confirmed them).
    pub async fn drained(&self) {
        let deadline = Instant::now() + PATIENCE;
        while self.stats().await["pending_updates"] != 0 {
            assert!(
                Instant::now() < deadline,
                "the bot did not take its updates"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends a request to the control API and returns its answer, asserting `"ok": true`.
async fn ok(request: reqwest::RequestBuilder) -> Value {
    let answer: Value = request.send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

/// The text of a bot message.
pub fn text(message: &Value) -> &str {
    message["text"]
        .as_str()
        .or_else(|| message["caption"].as_str())
        .unwrap_or("")
}

/// The callback data of every button of a bot message.
pub fn buttons(message: &Value) -> Vec<String> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .filter_map(|button| button["callback_data"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The callback data of the button whose data starts with `prefix` (panics when absent).
pub fn button(message: &Value, prefix: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|data| data.starts_with(prefix))
        .unwrap_or_else(|| panic!("no button {prefix}* on {message:#}"))
}

/// A fixture from `fixtures/telegram/`.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/telegram")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The number in `#42` of a text.
pub fn order_number(text: &str) -> u64 {
    let start = text.find('#').or_else(|| text.find('№')).unwrap();
    text[start..]
        .trim_start_matches(['#', '№'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A new customer says /start, picks `language` and is at the main menu; returns the menu.
pub async fn start_customer(sandbox: &Sandbox, user: &User, language: &str) -> Value {
    let greeting = sandbox.say(user, "/start").await;
    assert!(
        buttons(&greeting).contains(&format!("lang:{language}")),
        "{greeting:#}"
    );
    let menu = sandbox
        .tap(user, &greeting, &format!("lang:{language}"))
        .await;
    assert!(buttons(&menu).contains(&"m:new".to_string()), "{menu:#}");
    menu
}

/// A file a customer attaches in the new-order form: (kind, file name, MIME type, bytes).
pub type FormFile<'a> = (&'a str, &'a str, &'a str, &'a [u8]);

/// Goes through the whole new-order form from the main menu and confirms; returns the order
/// number.
pub async fn place_order(
    sandbox: &Sandbox,
    user: &User,
    menu: &Value,
    title: &str,
    budget: Option<&str>,
) -> u64 {
    place_order_with(sandbox, user, menu, title, budget, None, &[]).await
}

/// [`place_order`] with a deadline (`YYYY-MM-DD`) and files attached at the files step.
pub async fn place_order_with(
    sandbox: &Sandbox,
    user: &User,
    menu: &Value,
    title: &str,
    budget: Option<&str>,
    deadline: Option<&str>,
    files: &[FormFile<'_>],
) -> u64 {
    let prompt = sandbox.tap(user, menu, "m:new").await;
    assert!(text(&prompt).contains("1"), "{prompt:#}");
    sandbox.say(user, title).await;
    let budget_prompt = sandbox.say(user, "A description typed by a test").await;
    let deadline_prompt = match budget {
        Some(budget) => sandbox.say(user, budget).await,
        None => {
            sandbox
                .tap(user, &budget_prompt, &button(&budget_prompt, "w:"))
                .await
        }
    };
    let mut files_prompt = match deadline {
        Some(deadline) => sandbox.say(user, deadline).await,
        None => {
            sandbox
                .tap(user, &deadline_prompt, &button(&deadline_prompt, "w:"))
                .await
        }
    };
    for (kind, name, mime, bytes) in files {
        let before = sandbox.bot_messages(user.id).await.len();
        sandbox
            .send_file(user, kind, name, mime, bytes.to_vec(), "")
            .await;
        files_prompt = sandbox.nth_bot_message(user.id, before + 1).await;
        assert!(
            button(&files_prompt, "w:").ends_with(":a:d"),
            "the file is received and Done is offered: {files_prompt:#}"
        );
    }
    let after_files = sandbox
        .tap(user, &files_prompt, &button(&files_prompt, "w:"))
        .await;
    let summary = skip_choices(sandbox, user, after_files).await;
    assert!(text(&summary).contains(title), "{summary:#}");
    let confirm = buttons(&summary)
        .into_iter()
        .find(|data| data.ends_with(":y"))
        .unwrap();
    let created = sandbox.tap(user, &summary, &confirm).await;
    assert!(
        text(&created).contains('#') || text(&created).contains('№'),
        "{created:#}"
    );
    order_number(text(&created))
}

/// Presses Skip at the form's markers and payment steps, when they are asked (the studio
/// has both); returns the first prompt after them.
pub async fn skip_choices(sandbox: &Sandbox, user: &User, mut prompt: Value) -> Value {
    while let Some(skip) = buttons(&prompt)
        .into_iter()
        .find(|data| data.starts_with("w:") && (data.ends_with(":m:s") || data.ends_with(":p:s")))
    {
        prompt = sandbox.tap(user, &prompt, &skip).await;
    }
    prompt
}

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An appliance started by these helpers on a chosen port (webhook mode needs its public URL
/// before it starts); killed when dropped.
pub struct Proc {
    pub address: String,
    /// The key of the sandbox's control API, printed at start.
    pub sandbox_key: String,
    /// Everything the process printed so far.
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub data_dir: std::path::PathBuf,
    child: Option<std::process::Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Proc {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SIGKILL, keeping the data directory.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the appliance in sandbox mode listening on `127.0.0.1:port`, with extra arguments,
/// on `data_dir` (a fresh temporary one when `None`).
pub fn spawn_on(port: u16, args: &[&str], data_dir: Option<std::path::PathBuf>) -> Proc {
    spawn_logging(port, args, data_dir, "warn")
}

/// [`spawn_on`] with a log filter (`CRM_LOG`), to inspect what the appliance logs.
pub fn spawn_logging(
    port: u16,
    args: &[&str],
    data_dir: Option<std::path::PathBuf>,
    log: &str,
) -> Proc {
    let (dir, data_dir) = match data_dir {
        Some(path) => (None, path),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("data");
            (Some(dir), path)
        }
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crm-appliance"))
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .env_remove("CRM_TELEGRAM_TOKEN")
        .env("CRM_LOG", log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (output, receiver) = capture_output(&mut child);
    let mut seen = Vec::new();
    let mut sandbox_key = String::new();
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the appliance did not start: {seen:?}"));
        if line.starts_with("listening on http://") {
            break;
        }
        if let Some(key) = sandbox_key_in(&line) {
            sandbox_key = key;
        }
        seen.push(line);
    }
    Proc {
        address: format!("127.0.0.1:{port}"),
        sandbox_key,
        output,
        data_dir,
        child: Some(child),
        _dir: dir,
    }
}
