//! Runs the `crm` binary against a data directory inside a temporary directory.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of `crm` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "crm failed: {self:#?}");
        self.stdout
    }

    /// Asserts the exit code and returns stderr.
    pub fn fails_with(self, code: i32) -> String {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        assert!(self.stderr.starts_with("error: "), "{self:#?}");
        self.stderr
    }
}

/// A temporary directory with a data directory `data` inside (not created until `crm init`).
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        TestDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh directory after `crm init`.
    pub fn initialised() -> Self {
        let dir = Self::new();
        dir.crm(&["init", "--org-name", "Acme Studio"]).ok();
        dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn data_file(&self) -> PathBuf {
        self.data_dir().join("crm.redb")
    }

    /// Runs `crm --data-dir DIR/data ARGS` in the temporary directory.
    pub fn crm(&self, args: &[&str]) -> Run {
        self.crm_in(&self.data_dir(), args, None)
    }

    /// Runs `crm` with `stdin` as its standard input.
    pub fn crm_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.crm_in(&self.data_dir(), args, Some(stdin))
    }

    /// Runs `crm --data-dir DATA_DIR ARGS`.
    pub fn crm_in(&self, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crm"));
        command
            .current_dir(self.dir.path())
            .env_remove("CRM_DATA_DIR")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// `crm stats --json`, parsed.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.crm(&["stats", "--json"]).ok()).unwrap()
    }
}

/// A file of `fixtures/csv`.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/csv")
        .join(name)
        .display()
        .to_string()
}

/// The value after `label: ` on a line of `text`.
pub fn value_after(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in {text}"))
        .trim()
        .to_string()
}
