//! The admin channel between `crm` and a running appliance: its wire format and its client.
//!
//! redb lets one process open the data file. While the appliance runs, `crm` cannot open it
//! (crm-lib answers Busy), so it connects to the appliance's Unix socket `DIR/admin.sock`
//! (mode 0600, in the 0700 data directory: only the owner gets in) and sends the command; the
//! appliance runs it with the same code on its open store ([`crate::serve`]) and streams the
//! output back. Same output, same exit code.
//!
//! Wire format: line-delimited JSON. The client sends one [`Request`] line; the server
//! answers with [`Frame`] lines, `{"out": "..."}` and `{"err": "..."}` in order, then
//! `{"exit": N}` last.

use std::ffi::OsString;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::Io;
use crate::cli::{CallsCommand, Cli, Command, OrgCommand, UserCommand};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "admin.sock";

/// The version of the wire format; the appliance refuses others.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest request line the appliance reads, in bytes.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The most output bytes one frame carries.
const FRAME_BYTES: usize = 32 * 1024;

/// The socket of the appliance serving `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// A command for the appliance to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The command line after the program name (`["user", "list"]`).
    pub args: Vec<String>,
    /// The data directory as the caller named it (messages show it so).
    pub data_dir: PathBuf,
    /// The caller's working directory: relative paths in `args` are resolved against it.
    pub cwd: PathBuf,
    /// The first line of the caller's stdin, for `--password-stdin`.
    #[serde(default)]
    pub stdin: Option<String>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Output may hold a password shown once; keep it out of debug logs.
        match self {
            Frame::Out(text) => write!(f, "Out({} bytes)", text.len()),
            Frame::Err(text) => write!(f, "Err({} bytes)", text.len()),
            Frame::Exit(code) => write!(f, "Exit({code})"),
        }
    }
}

/// One line of the appliance's answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Text for stdout.
    Out(String),
    /// Text for stderr.
    Err(String),
    /// The command finished with this exit code; the last frame.
    Exit(u8),
}

/// A writer that cuts what is written into [`Frame`]s of at most 32 KiB, split at character
/// boundaries, and hands each to `send` (the appliance's side of the channel).
pub struct FrameWriter<F: FnMut(Frame) -> io::Result<()>> {
    stderr: bool,
    buffer: Vec<u8>,
    send: F,
}

impl<F: FnMut(Frame) -> io::Result<()>> FrameWriter<F> {
    /// Frames for stdout (`stderr` false) or stderr.
    pub fn new(stderr: bool, send: F) -> Self {
        FrameWriter {
            stderr,
            buffer: Vec::new(),
            send,
        }
    }

    fn emit(&mut self, all: bool) -> io::Result<()> {
        while !self.buffer.is_empty() {
            let take = self.buffer.len().min(FRAME_BYTES);
            let valid = match std::str::from_utf8(&self.buffer[..take]) {
                Ok(text) => text.len(),
                Err(error) => error.valid_up_to(),
            };
            let cut = if valid > 0 {
                valid
            } else if all || take == FRAME_BYTES {
                // Not UTF-8 at all (never from crm's own output): pass it on, replaced.
                take
            } else {
                return Ok(()); // the rest of a character is still to come
            };
            let chunk: Vec<u8> = self.buffer.drain(..cut).collect();
            let text = String::from_utf8_lossy(&chunk).into_owned();
            let frame = if self.stderr {
                Frame::Err(text)
            } else {
                Frame::Out(text)
            };
            (self.send)(frame)?;
            if !all && self.buffer.len() < FRAME_BYTES {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<F: FnMut(Frame) -> io::Result<()>> Write for FrameWriter<F> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= FRAME_BYTES {
            self.emit(false)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(true)
    }
}

/// Whether the appliance serving `data_dir` has an admin channel to try.
pub(crate) fn available(data_dir: &Path) -> bool {
    cfg!(unix) && socket_path(data_dir).exists()
}

/// Whether the command reads a line of stdin (`--password-stdin`), which the client then
/// reads and sends along.
fn reads_stdin(cli: &Cli) -> bool {
    matches!(
        cli.command,
        Command::User(
            UserCommand::Add {
                password_stdin: true,
                ..
            } | UserCommand::Passwd {
                password_stdin: true,
                ..
            }
        ) | Command::Calls(CallsCommand::Secret)
            | Command::Org(OrgCommand::SetToken {
                token_file: None,
                remove: false,
                ..
            })
    )
}

/// Sends the command to the appliance serving `cli.data_dir`, copies its output to `io` and
/// returns its exit code.
///
/// # Errors
/// The socket does not answer, or the appliance hung up before the command finished.
pub(crate) fn forward(cli: &Cli, args: &[OsString], io: &mut Io<'_>) -> Result<u8> {
    let args = args
        .iter()
        .skip(1)
        .map(|arg| {
            arg.to_str().map(str::to_string).with_context(|| {
                format!("{arg:?} is not UTF-8; the admin channel carries text arguments only")
            })
        })
        .collect::<Result<Vec<String>>>()?;
    let stdin = if reads_stdin(cli) {
        let mut line = String::new();
        io.input
            .read_line(&mut line)
            .context("reading the first line of stdin")?;
        Some(line)
    } else {
        None
    };
    let request = Request {
        version: PROTOCOL_VERSION,
        args,
        data_dir: cli.data_dir.clone(),
        cwd: std::env::current_dir().context("reading the working directory")?,
        stdin,
    };
    call(&socket_path(&cli.data_dir), &request, io)
}

/// Sends `request` to the socket at `socket`, copies the answer's output to `io` and returns
/// the exit code.
///
/// # Errors
/// The socket does not answer, or the appliance hung up before the command finished.
#[cfg(unix)]
pub fn call(socket: &Path, request: &Request, io: &mut Io<'_>) -> Result<u8> {
    let stream = std::os::unix::net::UnixStream::connect(socket).map_err(|error| {
        anyhow::Error::new(crate::exit::Exit {
            code: crate::exit::IN_USE,
            message: format!(
                "the data file is in use by a running appliance, and its admin channel {} does not answer ({error})",
                socket.display()
            ),
        })
    })?;
    let mut writer = &stream;
    let mut line = serde_json::to_string(request).context("encoding the request")?;
    line.push('\n');
    writer
        .write_all(line.as_bytes())
        .context("sending the command to the appliance")?;
    for line in io::BufReader::new(&stream).lines() {
        let line = line.context("reading the appliance's answer")?;
        if line.is_empty() {
            continue;
        }
        let frame: Frame = serde_json::from_str(&line)
            .with_context(|| format!("the appliance sent a malformed answer line: {line:?}"))?;
        match frame {
            Frame::Out(text) => io.out.write_all(text.as_bytes())?,
            Frame::Err(text) => io.err.write_all(text.as_bytes())?,
            Frame::Exit(code) => {
                io.out.flush()?;
                return Ok(code);
            }
        }
    }
    anyhow::bail!("the appliance closed the admin channel before the command finished")
}

/// The admin channel is a Unix socket; elsewhere there is none.
///
/// # Errors
/// Always.
#[cfg(not(unix))]
pub fn call(socket: &Path, _request: &Request, _io: &mut Io<'_>) -> Result<u8> {
    anyhow::bail!(
        "the data file is in use by a running appliance; this platform has no admin channel ({})",
        socket.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_one_json_object_per_line() {
        assert_eq!(
            serde_json::to_string(&Frame::Out("a\nb".into())).unwrap(),
            r#"{"out":"a\nb"}"#
        );
        assert_eq!(
            serde_json::to_string(&Frame::Exit(6)).unwrap(),
            r#"{"exit":6}"#
        );
        assert_eq!(
            serde_json::from_str::<Frame>(r#"{"err":"x"}"#).unwrap(),
            Frame::Err("x".into())
        );
    }

    #[test]
    fn the_frame_writer_splits_at_character_boundaries() {
        let mut frames = Vec::new();
        {
            let mut writer = FrameWriter::new(false, |frame| {
                frames.push(frame);
                Ok(())
            });
            let text = "ж".repeat(FRAME_BYTES); // two bytes each
            writer.write_all(text.as_bytes()).unwrap();
            writer.write_all(b"end").unwrap();
            writer.flush().unwrap();
        }
        let joined: String = frames
            .iter()
            .map(|frame| match frame {
                Frame::Out(text) => text.as_str(),
                _ => panic!("stdout only"),
            })
            .collect();
        assert_eq!(joined, format!("{}end", "ж".repeat(FRAME_BYTES)));
        assert!(frames.len() >= 2);
        assert!(frames.iter().all(|frame| match frame {
            Frame::Out(text) => text.len() <= FRAME_BYTES,
            _ => false,
        }));
    }
}
