//! The admin channel: `crm` commands while the appliance runs.
//!
//! redb lets one process open the data file, so while the appliance runs, `crm backup`,
//! `crm export`, `crm import`, `crm user ...`, `crm token ...` and `crm verify` cannot open it.
//! Instead `crm` connects to the Unix socket `DATA_DIR/admin.sock` and sends the command
//! line; the appliance runs it with the CLI's own code ([`crm_cli::serve`]) on its open store
//! and streams the output back, so the output and exit code are the same as offline. The
//! wire format lives with the client, in [`crm_cli::remote`].
//!
//! Who may connect: the socket is created with mode 0600 inside the 0700 data directory, and
//! each connection's peer credentials are checked too (the socket's owner or root), because
//! the channel acts as the system: it can create users and read everything.
//!
//! The socket is removed at shutdown; a stale one left by a crash is replaced at start.
//!
//! After each command the appliance runs its [`AfterCommand`] before it sends the exit code:
//! the bots follow the organizations (`crm org create|disable|enable|set-token` take effect
//! at once, issue 14), so a command that returned has started or stopped its bot.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use crm_cli::remote::{Frame, FrameWriter, MAX_REQUEST, PROTOCOL_VERSION, Request, SOCKET_NAME};
use crm_lib::Crm;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the appliance does after each command, before the exit code goes back (the bots
/// follow the organizations).
pub type AfterCommand = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The running admin channel. [`AdminChannel::stop`] closes it and removes the socket.
pub struct AdminChannel {
    path: PathBuf,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for AdminChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminChannel")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens `data_dir/admin.sock` (mode 0600) and serves commands on `crm` until stopped.
///
/// # Errors
/// The socket cannot be created (the message names it).
pub fn start(crm: Crm, data_dir: &Path, after: AfterCommand) -> anyhow::Result<AdminChannel> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let path = data_dir.join(SOCKET_NAME);
    // A socket left by a crash: this process holds the data file, so no other appliance can
    // be serving it.
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("removing the stale {}", path.display()));
        }
    }
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("creating the admin channel {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {} to its owner", path.display()))?;
    let owner = std::fs::metadata(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .uid();
    let accept = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let crm = crm.clone();
                    let after = after.clone();
                    tokio::spawn(async move {
                        if let Err(error) = connection(crm, stream, owner, after).await {
                            tracing::warn!(error = %format!("{error:#}"), "admin channel request failed");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "admin channel: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(AdminChannel { path, accept })
}

impl AdminChannel {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting and removes the socket (as dropping it does). Commands already
    /// running finish.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for AdminChannel {
    fn drop(&mut self) {
        self.accept.abort();
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %self.path.display(), "could not remove the admin channel");
        }
    }
}

async fn send(stream: &mut UnixStream, frame: &Frame) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(frame).context("encoding a frame")?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .await
        .context("answering on the admin channel")
}

/// One request: read the command line, run it on a blocking thread, stream its frames.
async fn connection(
    crm: Crm,
    mut stream: UnixStream,
    owner: u32,
    after: AfterCommand,
) -> anyhow::Result<()> {
    let peer = stream
        .peer_cred()
        .context("reading the peer's credentials")?;
    if peer.uid() != owner && peer.uid() != 0 {
        tracing::warn!(
            uid = peer.uid(),
            "admin channel: refused a connection from another user"
        );
        send(
            &mut stream,
            &Frame::Err("error: the admin channel accepts only its owner\n".into()),
        )
        .await?;
        return send(&mut stream, &Frame::Exit(1)).await;
    }
    let mut line = String::new();
    {
        let mut reader = BufReader::new((&mut stream).take(MAX_REQUEST as u64));
        reader
            .read_line(&mut line)
            .await
            .context("reading the request")?;
    }
    let request: Request = match serde_json::from_str(line.trim_end()) {
        Ok(request) => request,
        Err(error) => {
            send(
                &mut stream,
                &Frame::Err(format!("error: malformed admin channel request: {error}\n")),
            )
            .await?;
            return send(&mut stream, &Frame::Exit(2)).await;
        }
    };
    if request.version != PROTOCOL_VERSION {
        send(
            &mut stream,
            &Frame::Err(format!(
                "error: this appliance speaks admin channel version {PROTOCOL_VERSION}, not {}; use the crm of the same release\n",
                request.version
            )),
        )
        .await?;
        return send(&mut stream, &Frame::Exit(1)).await;
    }
    // Only the command's name is logged: its arguments and output may carry secrets.
    tracing::info!(
        command = request.args.first().map_or("", String::as_str),
        "admin channel command"
    );
    let (sender, mut frames) = mpsc::channel::<Frame>(16);
    let run = tokio::task::spawn_blocking(move || {
        let deliver = |sender: &mpsc::Sender<Frame>| {
            let sender = sender.clone();
            move |frame: Frame| {
                sender.blocking_send(frame).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client hung up")
                })
            }
        };
        let mut out = FrameWriter::new(false, deliver(&sender));
        let mut err = FrameWriter::new(true, deliver(&sender));
        let stdin = request.stdin.clone().unwrap_or_default();
        let mut input = std::io::Cursor::new(stdin.into_bytes());
        let code = {
            let mut io = crm_cli::Io {
                out: &mut out,
                err: &mut err,
                input: &mut input,
                terminal: false,
            };
            crm_cli::serve(&crm, &request, &mut io)
        };
        use std::io::Write as _;
        let _ = out.flush();
        let _ = err.flush();
        code
    });
    let mut gone = false;
    while let Some(frame) = frames.recv().await {
        if send(&mut stream, &frame).await.is_err() {
            // The client left; the command notices at its next write.
            gone = true;
            break;
        }
    }
    drop(frames);
    let code = run.await.context("the admin command's thread failed")?;
    after().await;
    if !gone {
        send(&mut stream, &Frame::Exit(code)).await?;
    }
    Ok(())
}
