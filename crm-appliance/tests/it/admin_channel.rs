//! The admin channel: `crm` commands while the appliance runs go over DATA_DIR/admin.sock
//! (0600, removed at shutdown) and print exactly what they print offline, with the same exit
//! codes. The `crm` client runs in-process here (`crm_cli::run`, the binary's whole logic).

use std::path::Path;

use crate::support::spawn_app;

pub struct Output {
    pub code: u8,
    pub out: String,
    pub err: String,
}

/// Runs `crm --data-dir DIR args...` with `stdin`, as the binary would.
pub fn crm(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let mut io = crm_cli::Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        terminal: false,
    };
    let mut argv: Vec<std::ffi::OsString> =
        vec!["crm".into(), "--data-dir".into(), data_dir.into()];
    argv.extend(args.iter().map(Into::into));
    let code = crm_cli::run(argv, &mut io);
    Output {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

/// [`crm`] on a blocking thread, for async tests.
pub async fn crm_async(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let data_dir = data_dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crm(&data_dir, &args, &stdin)
    })
    .await
    .unwrap()
}

fn ok(output: Output) -> String {
    assert_eq!(
        output.code, 0,
        "stdout: {}\nstderr: {}",
        output.out, output.err
    );
    output.out
}

#[tokio::test]
async fn the_socket_is_private_and_removed_at_shutdown() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let mut app = spawn_app();
    let socket = app.data_dir.join("admin.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(app.terminate());
    assert!(!socket.exists(), "removed at shutdown");
}

#[tokio::test]
async fn commands_against_the_running_appliance_print_what_they_print_offline() {
    let mut app = spawn_app();
    let dir = app.data_dir.clone();
    let added = ok(crm_async(
        &dir,
        &[
            "user",
            "add",
            "worker",
            "--role",
            "worker",
            "--password-stdin",
        ],
        "worker password 1\n",
    )
    .await);
    assert_eq!(added, "created user worker with roles worker\n");
    let token = ok(crm_async(
        &dir,
        &["token", "create", "--user", "worker", "--name", "ci"],
        "",
    )
    .await);
    assert!(
        token.starts_with("created api token 1 \"ci\" for user worker\ntoken: crm_"),
        "{token}"
    );

    let commands: [&[&str]; 6] = [
        &["user", "list"],
        &["user", "list", "--json"],
        &["role", "list"],
        &["token", "list"],
        &["export", "customers"],
        &["export", "audit", "--format", "json"],
    ];
    let mut remote = Vec::new();
    for args in commands {
        remote.push(ok(crm_async(&dir, args, "").await));
    }
    let verify_remote = crm_async(&dir, &["verify"], "").await;
    assert_eq!(verify_remote.code, 0, "{}", verify_remote.err);
    assert!(remote[0].contains("worker"));

    assert!(app.terminate());
    for (args, remote) in commands.iter().zip(&remote) {
        let offline = ok(crm_async(&dir, args, "").await);
        if args[0] == "export" && args[1] == "audit" {
            // Offline the log may have grown by what the shutdown wrote; the start is equal.
            assert!(offline.len() >= remote.len() - 2, "{args:?}");
            continue;
        }
        assert_eq!(
            &offline, remote,
            "crm {args:?} prints the same offline and remotely"
        );
    }
    let verify_offline = crm_async(&dir, &["verify"], "").await;
    assert_eq!(verify_offline.code, 0);
    let shape = |text: &str| text.split(':').next().unwrap_or_default().to_string();
    assert_eq!(shape(&verify_offline.out), shape(&verify_remote.out));
    assert!(
        verify_remote.out.contains("no problems"),
        "{}",
        verify_remote.out
    );
}

#[tokio::test]
async fn errors_keep_their_messages_and_exit_codes() {
    let app = spawn_app();
    let dir = app.data_dir.clone();
    let missing = crm_async(&dir, &["user", "passwd", "nobody"], "").await;
    assert_eq!(missing.code, 4, "{}", missing.err);
    assert!(missing.err.starts_with("error: "), "{}", missing.err);
    assert!(missing.err.contains("nobody"));
    assert!(missing.out.is_empty());

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "telegram_id,username,first_name,last_name,phone,email,language\n,,Anna,,12,,\n",
    )
    .unwrap();
    let bad = crm_async(
        &dir,
        &["import", "customers", file.path().to_str().unwrap()],
        "",
    )
    .await;
    assert_eq!(bad.code, 3, "{}", bad.err);
    assert!(bad.err.contains(":2"), "names the line: {}", bad.err);

    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("b.backup");
    let backup = backup.to_str().unwrap();
    ok(crm_async(&dir, &["backup", backup], "").await);
    for args in [&["init"][..], &["restore", "--force", backup][..]] {
        let refused = crm_async(&dir, args, "").await;
        assert_eq!(refused.code, 6, "{args:?}: {}", refused.err);
        assert!(refused.err.contains("stop it"), "{}", refused.err);
    }
    let usage = crm_async(&dir, &["user", "frobnicate"], "").await;
    assert_eq!(usage.code, 2);
}

#[tokio::test]
async fn relative_paths_are_the_caller_s_and_backups_are_written_while_running() {
    let app = spawn_app();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("people.csv"),
        "telegram_id,username,first_name,last_name,phone,email,language\n5001,anna_k,Ann,,,,en\n",
    )
    .unwrap();
    let request = |args: &[&str]| crm_cli::remote::Request {
        version: crm_cli::remote::PROTOCOL_VERSION,
        args: args.iter().map(|arg| arg.to_string()).collect(),
        data_dir: app.data_dir.clone(),
        cwd: work.path().to_path_buf(),
        stdin: None,
    };
    let socket = crm_cli::remote::socket_path(&app.data_dir);
    let call = |request: crm_cli::remote::Request| {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let mut input = std::io::Cursor::new(Vec::new());
            let mut io = crm_cli::Io {
                out: &mut out,
                err: &mut err,
                input: &mut input,
                terminal: false,
            };
            let code = crm_cli::remote::call(&socket, &request, &mut io).unwrap();
            (
                code,
                String::from_utf8(out).unwrap(),
                String::from_utf8(err).unwrap(),
            )
        })
    };
    let (code, out, err) = call(request(&["import", "customers", "people.csv"]))
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported 1 customers from people.csv in "),
        "{out}"
    );

    let (code, out, err) = call(request(&["backup", "copy.backup"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" to copy.backup in "), "{out}");
    assert!(
        work.path().join("copy.backup").exists(),
        "written in the caller's directory"
    );

    let (code, _, err) = call(request(&["export", "customers", "--output", "out.csv"]))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(err.trim(), "exported 1 customers to out.csv");
    let csv = std::fs::read_to_string(work.path().join("out.csv")).unwrap();
    assert!(csv.contains("Ann"));
}

#[tokio::test]
async fn a_token_from_crm_token_create_works_on_the_api_and_a_user_added_remotely_logs_in() {
    let app = spawn_app();
    let dir = app.data_dir.clone();
    let created = ok(crm_async(&dir, &["token", "create", "--user", "admin"], "").await);
    let token = created
        .lines()
        .find_map(|line| line.strip_prefix("token: "))
        .unwrap()
        .to_string();
    let api = crate::staff::Api::new(&app, &token);
    let (status, me) = api.get("/users/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "admin");

    ok(crm_async(
        &dir,
        &[
            "user",
            "add",
            "maria",
            "--role",
            "manager",
            "--password-stdin",
        ],
        "maria's password\n",
    )
    .await);
    let maria = crate::staff::login(&app, "maria", "maria's password").await;
    assert_eq!(maria.get("/chat").await.status(), 200);
}

#[tokio::test]
async fn a_stranger_s_request_or_garbage_on_the_socket_gets_an_error_not_a_crash() {
    use std::io::{BufRead, Write};
    let app = spawn_app();
    let socket = app.data_dir.join("admin.sock");
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        stream.write_all(b"{not json}\n").unwrap();
        std::io::BufReader::new(stream)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(answer.last().unwrap(), r#"{"exit":2}"#);
    assert!(answer[0].contains("malformed"), "{answer:?}");
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200,
        "still serving"
    );
}
