//! `hearth serve` survives what kills its process: the supervisor restarts a serving child
//! killed by SIGABRT (the next request is served within seconds), refuses a model that crashed
//! it twice until `--clear-bad-models`, and exits 0 on SIGTERM; `--no-supervisor` serves from
//! one process. The load probe turns a model file that aborts its child into a clear 400, the
//! server stays up and serves the bundled model, and the file's digest is remembered on disk.
//! These drive the real binary with the real bundled model.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

fn bundled_model() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/smollm2-135m.gguf");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-models.sh",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange (`Connection: close`); returns the status and the (de-chunked) body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head:?}")))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn generate(port: u16, model: &str) -> (u16, String) {
    let body = format!(
        r#"{{"model":"{model}","prompt":"Say hi","stream":false,"options":{{"num_predict":2}}}}"#
    );
    http(port, "POST", "/api/generate", body.as_bytes()).expect("generate")
}

/// A `hearth serve` on a free port with the store `models`.
struct Server {
    child: Child,
    port: u16,
    models: PathBuf,
}

impl Server {
    fn start(models: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(args)
            .env("OLLAMA_HOST", format!("127.0.0.1:{port}"))
            .env("OLLAMA_MODELS", models)
            .env_remove("HEARTH_NO_SUPERVISOR")
            .env_remove("HEARTH_NO_MODEL_PROBE")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting hearth serve");
        let server = Server {
            child,
            port,
            models: models.to_owned(),
        };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn wait_ready(&self, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if let Ok((200, body)) = http(self.port, "GET", "/", b"") {
                assert!(body.contains("running"), "{body}");
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "hearth serve not ready within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The serving children of the supervisor.
    fn children(&self) -> Vec<u32> {
        children_of(self.pid())
    }

    fn one_child(&self) -> u32 {
        let started = Instant::now();
        loop {
            let kids = self.children();
            if kids.len() == 1 {
                return kids[0];
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "expected one serving child, found {kids:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        kill(Pid::from_raw(self.pid() as i32), Signal::SIGTERM).unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no exit within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Upload `file` and create `name` from it.
    fn create(&self, name: &str, file: &Path) -> String {
        let bytes = std::fs::read(file).unwrap();
        let hex = sha256_hex(file);
        let (status, body) = http(
            self.port,
            "POST",
            &format!("/api/blobs/sha256:{hex}"),
            &bytes,
        )
        .unwrap();
        assert!(status == 201 || status == 200, "{status} {body}");
        let create =
            format!(r#"{{"model":"{name}","files":{{"m.gguf":"sha256:{hex}"}},"stream":false}}"#);
        let (status, body) = http(self.port, "POST", "/api/create", create.as_bytes()).unwrap();
        assert_eq!(status, 200, "{body}");
        hex
    }

    fn record(&self) -> String {
        std::fs::read_to_string(self.models.join("hearth-state/models.json")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for kid in children_of(self.pid()) {
            let _ = kill(Pid::from_raw(kid as i32), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
        let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let zombie = fields.first() == Some(&"Z");
        if fields.get(1).and_then(|p| p.parse().ok()) == Some(parent) && !zombie {
            kids.push(pid);
        }
    }
    kids
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The bundled model with one byte of its `general.name` value changed: the same valid model
/// under another digest (so neither trusted as bundled nor known to the probe record).
fn renamed_copy(dir: &Path, tag: u8) -> PathBuf {
    let mut bytes = std::fs::read(bundled_model()).unwrap();
    let key = b"general.name";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("general.name in the bundled model");
    // key, then u32 value type (string), u64 length, then the value's first byte.
    let first = at + key.len() + 4 + 8;
    bytes[first] = tag;
    let path = dir.join(format!("copy-{tag}.gguf"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_child_killed_by_sigabrt_is_restarted_and_sigterm_exits_zero() {
    let store = tempfile::tempdir().unwrap();
    let mut server = Server::start(store.path(), &[], &[]);
    let first = server.one_child();
    assert_eq!(generate(server.port, "smollm2:135m").0, 200);
    let killed = Instant::now();
    kill(Pid::from_raw(first as i32), Signal::SIGABRT).unwrap();
    // The signal lands asynchronously: until the child is gone, it may still take a request
    // (and lose it). Once it is gone, the next request waits in the supervisor's socket backlog
    // and is served by the new child.
    while server.children().contains(&first) {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the child survived SIGABRT"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let ready = server.wait_ready(Duration::from_secs(2));
    eprintln!(
        "served again {:?} after the kill",
        killed.elapsed().max(ready)
    );
    let (status, body) = generate(server.port, "smollm2:135m");
    assert_eq!(status, 200, "{body}");
    let second = server.one_child();
    assert_ne!(first, second, "a new serving process");
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM must exit 0: {status:?}");
}

#[test]
fn without_the_supervisor_one_process_serves() {
    let store = tempfile::tempdir().unwrap();
    let mut server = Server::start(store.path(), &["--no-supervisor"], &[]);
    assert!(server.children().is_empty(), "no serving child");
    assert_eq!(generate(server.port, "smollm2:135m").0, 200);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_model_file_that_aborts_its_probe_is_refused_and_the_server_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = renamed_copy(dir.path(), b'X');
    let fine = renamed_copy(dir.path(), b'Y');
    let hostile_hex = sha256_hex(&hostile);
    let store = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        store.path(),
        &["--no-supervisor"],
        &[("HEARTH_PROBE_TEST_ABORT", hostile_hex.as_str())],
    );
    server.create("hostile", &hostile);
    server.create("fine", &fine);

    let (status, body) = generate(server.port, "hostile");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("model file aborts llama.cpp (killed by SIGABRT)"),
        "{body}"
    );
    assert!(body.contains("--clear-bad-models"), "{body}");
    // The server survived and serves the bundled model.
    assert_eq!(generate(server.port, "smollm2:135m").0, 200);
    assert!(
        server.record().contains(&hostile_hex),
        "{}",
        server.record()
    );

    // Remembered: refused at once, without a probe.
    let started = Instant::now();
    let (status, body) = generate(server.port, "hostile");
    assert_eq!(status, 400, "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // A file that passes is probed once, then remembered as good.
    let started = Instant::now();
    let (status, body) = generate(server.port, "fine");
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "first load of a never-seen 135M model, probe included: {:?}",
        started.elapsed()
    );
    let record: serde_json::Value = serde_json::from_str(&server.record()).unwrap();
    let fine_hex = sha256_hex(&fine);
    assert!(record["passed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d == fine_hex.as_str()));
    assert!(record["bad"].get(&hostile_hex).is_some());

    // The record outlives the process.
    assert_eq!(server.terminate().code(), Some(0));
    let again = Server::start(store.path(), &["--no-supervisor"], &[]);
    let (status, body) = generate(again.port, "hostile");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("refused"), "{body}");
}

#[test]
fn a_model_that_crashes_the_child_twice_is_refused_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let crashy = renamed_copy(dir.path(), b'Z');
    let store = tempfile::tempdir().unwrap();
    let mut server = Server::start(store.path(), &[], &[]);
    let hex = server.create("crashy", &crashy);
    for crash in 1..=2 {
        // A long generation keeps the model at work while its process is killed.
        let port = server.port;
        let streaming = std::thread::spawn(move || {
            let body = r#"{"model":"crashy","prompt":"Tell a long story","options":{"num_predict":100000}}"#;
            let _ = http(port, "POST", "/api/generate", body.as_bytes());
        });
        let child = server.one_child();
        let state = server
            .models
            .join(format!("hearth-state/serving-{child}.json"));
        let started = Instant::now();
        while !std::fs::read_to_string(&state).is_ok_and(|s| s.contains(&hex)) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "model never at work"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        kill(Pid::from_raw(child as i32), Signal::SIGABRT).unwrap();
        streaming.join().unwrap();
        server.wait_ready(Duration::from_secs(10));
        assert!(
            server.record().contains("crashes"),
            "crash {crash}: {}",
            server.record()
        );
    }
    let (status, body) = generate(server.port, "crashy");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("crashed the server 2 times (last: SIGABRT)"),
        "{body}"
    );
    assert!(body.contains("hearth serve --clear-bad-models"), "{body}");
    // The bundled model is never blamed.
    assert_eq!(generate(server.port, "smollm2:135m").0, 200);
    assert_eq!(server.terminate().code(), Some(0));

    let cleared = Server::start(store.path(), &["--clear-bad-models"], &[]);
    let (status, body) = generate(cleared.port, "crashy");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_serving_child_stops_when_its_supervisor_is_killed() {
    let store = tempfile::tempdir().unwrap();
    let mut server = Server::start(store.path(), &[], &[]);
    let child = server.one_child();
    server.child.kill().unwrap();
    let _ = server.child.wait();
    let started = Instant::now();
    while Path::new(&format!("/proc/{child}")).exists() && !is_zombie(child) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "orphaned serving process {child} still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, a)| a.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// `hearth run FILE` loads in-process, so a file that aborts llama.cpp would abort the command:
/// it is probed in a child first, refused with a clear error (exit 1, not a signal), and
/// remembered, so the second run is refused without a probe.
#[test]
fn hearth_run_probes_a_never_seen_file_and_refuses_one_that_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = renamed_copy(dir.path(), b'R');
    let marker = hostile.file_name().unwrap().to_str().unwrap().to_owned();
    let store = tempfile::tempdir().unwrap();
    let run = |abort: bool| {
        Command::new(BIN)
            .arg("run")
            .arg(&hostile)
            .arg("hello")
            .env("OLLAMA_MODELS", store.path())
            .env("OLLAMA_HOST", format!("127.0.0.1:{}", free_port()))
            .env(
                "HEARTH_PROBE_TEST_ABORT",
                if abort { marker.as_str() } else { "" },
            )
            .env_remove("HEARTH_NO_MODEL_PROBE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains("model file aborts llama.cpp (killed by SIGABRT)"),
        "{stderr}"
    );
    assert!(stderr.contains("--clear-bad-models"), "{stderr}");
    // Without the seam a new probe would pass (the file is a valid model): refused all the same,
    // from the record.
    let out = run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "probed again? {stderr}");
    assert!(stderr.contains("is refused"), "{stderr}");
}
