//! `spawn_app()`: starts the real `crm-appliance` binary on port 0 with a temporary data
//! directory and returns a `TestApp` that knows its address and first administrator password.
//! The process is killed when the `TestApp` is dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub struct TestApp {
    pub address: String,
    pub admin_password: String,
    /// The key of the sandbox's control API, printed at start (a new one at every start).
    pub sandbox_key: String,
    pub data_dir: PathBuf,
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A client that presents the sandbox key to the control API on every request.
    pub fn sandbox_client(&self) -> reqwest::Client {
        sandbox_client(&self.sandbox_key)
    }

    /// A client that keeps cookies (one browser session) and does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Sends, on a raw socket, a POST head to `path` announcing a body of `length` bytes, with
    /// `headers` (whole `Name: value\r\n` lines, the content type among them), and the
    /// first 64 KiB of that body; returns the answer as text (status line, headers, body),
    /// read until its `Content-Length` is complete or the server closes. The server answers
    /// an oversized body before reading it, so a client that insists on writing the whole
    /// body may fail with a broken pipe instead of reading the answer: a raw socket is the
    /// honest client.
    pub async fn answer_to_announced_body(
        &self,
        path: &str,
        headers: &str,
        length: usize,
    ) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {length}\r\n\r\n",
            self.address
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let _ = stream.write_all(&vec![b'a'; (64 * 1024).min(length)]).await;
        let mut answer = Vec::new();
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
                .await
                .expect("the server answers within 10 s")
                .unwrap_or(0);
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let announced = head.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                });
                if announced.is_some_and(|length| body.len() >= length) {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Stops the process (SIGKILL) and keeps the data directory, for restart tests.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits up to 10 s for a clean exit; returns whether it exited with 0.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        false
    }

    /// Starts the binary again on the same data directory (a new port).
    pub fn restart(self) -> TestApp {
        self.restart_with(&[])
    }

    /// Kills the appliance and starts it again on the same data directory with `args`.
    pub fn restart_with(mut self, args: &[&str]) -> TestApp {
        self.kill();
        let dir = self._dir.take();
        let mut app = start(self.data_dir.clone(), args);
        app._dir = dir;
        app.admin_password = self.admin_password.clone();
        app
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the appliance in sandbox mode on a fresh data directory.
pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

/// Starts the appliance with extra command-line arguments.
pub fn spawn_app_with(args: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start(dir.path().join("data"), args);
    app._dir = Some(dir);
    app
}

/// Starts the appliance with `CRM_LOG` at `level` (`warn` for the others), for the tests
/// that read what it logs.
pub fn spawn_app_logging(level: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start_logging(dir.path().join("data"), &[], level);
    app._dir = Some(dir);
    app
}

/// Starts the appliance with `CRM_LOG` at `level` and extra command-line arguments.
pub fn spawn_app_logging_with(level: &str, args: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = start_logging(dir.path().join("data"), args, level);
    app._dir = Some(dir);
    app
}

/// A client that presents `key` in the `X-Sandbox-Key` header on every request.
pub fn sandbox_client(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-sandbox-key", key.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The sandbox key in a line the appliance prints at start, if it is that line.
pub fn sandbox_key_in(line: &str) -> Option<String> {
    line.trim()
        .strip_prefix("sandbox key: ")
        .map(|key| key.trim().to_string())
}

/// Collects every line a child started with piped stdout and stderr prints: into the
/// returned log (kept for the whole run) and, as they arrive, to the returned receiver (to
/// wait for the start-up lines).
pub fn capture_output(child: &mut Child) -> (Arc<Mutex<Vec<String>>>, mpsc::Receiver<String>) {
    let output = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let sender = sender.clone();
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                output.lock().unwrap().push(line.clone());
                let _ = sender.send(line);
            }
        });
    }
    (output, receiver)
}

fn start(data_dir: PathBuf, args: &[&str]) -> TestApp {
    start_logging(data_dir, args, "warn")
}

fn start_logging(data_dir: PathBuf, args: &[&str], level: &str) -> TestApp {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-appliance"))
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(args)
        .env_remove("CRM_TELEGRAM_TOKEN")
        .env("CRM_LOG", level)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (output, receiver) = capture_output(&mut child);
    let mut address = None;
    let mut password = String::new();
    let mut sandbox_key = String::new();
    while address.is_none() {
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!("the appliance did not start: {:?}", output.lock().unwrap())
            });
        if let Some(rest) = line.trim().strip_prefix("password: ") {
            password = rest.trim().to_string();
        }
        if let Some(key) = sandbox_key_in(&line) {
            sandbox_key = key;
        }
        if let Some(rest) = line.strip_prefix("listening on http://") {
            address = Some(rest.trim_end_matches('/').to_string());
        }
    }
    TestApp {
        address: address.unwrap_or_default(),
        admin_password: password,
        sandbox_key,
        data_dir,
        output,
        child: Some(child),
        _dir: None,
    }
}
