//! `hearth serve` under a supervisor: the parent binds the listening socket and runs the server
//! in a child process (the same binary, same arguments) that gets the socket as its stdin, as
//! inetd hands sockets over, so no `unsafe` is needed on either side. A child that dies by a
//! signal or an error is restarted within a second and the death is logged; connections that
//! arrive meanwhile wait in the socket's backlog, so clients lose only the requests in flight.
//! Quick repeated deaths back off exponentially (capped). A death while a model file was loading
//! or running counts as a crash of that file in the store's model record; at
//! [`record::CRASH_LIMIT`](crate::probe::record::CRASH_LIMIT) crashes it is refused until an
//! operator clears it. SIGTERM or SIGINT stop the child gracefully and the parent exits 0.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, SignalKind};

use crate::probe::record::ModelRecord;
use crate::probe::{serving, signal_name};

/// Set in the serving child: the fd number of the listening socket. Only `0` (stdin) is used.
pub const LISTEN_FD_ENV: &str = "HEARTH_LISTEN_FD";
/// Set in the serving child: the supervisor's pid (the child stops when that process is gone).
const SUPERVISOR_PID_ENV: &str = "HEARTH_SUPERVISOR_PID";

/// First restart delay; doubled after each quick death up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A child that ran this long was not crash-looping: the next restart is quick again.
const STABLE: Duration = Duration::from_secs(30);
/// How long a stopping child may take (the server's own grace period plus a margin).
const STOP_WAIT: Duration = Duration::from_secs(15);

/// Whether this process is a serving child of a supervisor.
pub fn is_child() -> bool {
    std::env::var_os(LISTEN_FD_ENV).is_some()
}

/// The listening socket a supervisor passed to this child, or `None` when not supervised.
pub fn inherited_listener() -> anyhow::Result<Option<TcpListener>> {
    let Some(fd) = std::env::var_os(LISTEN_FD_ENV) else {
        return Ok(None);
    };
    stop_with_the_supervisor();
    anyhow::ensure!(
        fd == "0",
        "{LISTEN_FD_ENV}={fd:?}: only 0 (the socket passed as stdin) is supported"
    );
    let fd: OwnedFd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("taking the listening socket from stdin")?;
    let listener = TcpListener::from(fd);
    listener
        .local_addr()
        .context("stdin is not a listening socket")?;
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Get SIGTERM when the supervisor dies (even by SIGKILL), so no orphan keeps the port.
fn stop_with_the_supervisor() {
    #[cfg(target_os = "linux")]
    {
        let supervisor = std::env::var(SUPERVISOR_PID_ENV)
            .ok()
            .and_then(|p| p.parse::<i32>().ok());
        if nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).is_ok()
            && supervisor.is_some_and(|p| nix::unistd::getppid() != Pid::from_raw(p))
        {
            // The supervisor died before the death signal was armed.
            let _ = kill(nix::unistd::getpid(), Signal::SIGTERM);
        }
    }
}

/// Bind `bind` and serve through children until SIGTERM or SIGINT.
pub fn run(bind: SocketAddr, models_dir: PathBuf) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(supervise(listener, models_dir))
}

async fn supervise(listener: TcpListener, models_dir: PathBuf) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut delay = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        let (pid, mut exited) = spawn(&listener).context("starting the serving process")?;
        tracing::debug!(pid, "serving process started");
        let status = tokio::select! {
            status = &mut exited => status,
            _ = term.recv() => return stop(pid, exited, &models_dir).await,
            _ = int.recv() => return stop(pid, exited, &models_dir).await,
        };
        let status = match status {
            Ok(Ok(s)) => s,
            _ => anyhow::bail!("lost track of the serving process {pid}"),
        };
        if status.success() {
            // Stopped on purpose (SIGTERM to the child itself): stop as well.
            serving::take(&models_dir, pid);
            tracing::info!(pid, "serving process exited");
            return Ok(());
        }
        let lived = started.elapsed();
        if lived >= STABLE {
            delay = MIN_BACKOFF;
        }
        let why = describe(status);
        let blamed = blame(&models_dir, pid, status);
        tracing::error!(
            pid,
            "serving process {why} after {:.1}s{blamed}; restarting in {} ms",
            lived.as_secs_f64(),
            delay.as_millis()
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

type Exited = tokio::sync::oneshot::Receiver<std::io::Result<ExitStatus>>;

/// Start a serving child with the socket as its stdin; its exit status arrives on the receiver.
fn spawn(listener: &TcpListener) -> std::io::Result<(u32, Exited)> {
    let socket: OwnedFd = listener.try_clone()?.into();
    let mut args = std::env::args_os();
    let mut cmd = Command::new(crate::probe::self_exe());
    if let Some(arg0) = args.next() {
        // `ps` shows the name it was started as, not /proc/self/exe.
        cmd.arg0(arg0);
    }
    let mut child: Child = cmd
        .args(args)
        .env(LISTEN_FD_ENV, "0")
        .env(SUPERVISOR_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::from(socket))
        .spawn()?;
    let pid = child.id();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    Ok((pid, rx))
}

/// Forward the stop to the child, wait for it (killing it when it takes too long), exit 0.
async fn stop(pid: u32, exited: Exited, models_dir: &Path) -> anyhow::Result<()> {
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    if tokio::time::timeout(STOP_WAIT, exited).await.is_err() {
        tracing::warn!(pid, "serving process did not stop in time; killing it");
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    serving::take(models_dir, pid);
    Ok(())
}

/// "was killed by SIGABRT", "exited with status 1".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (_, Some(sig)) => format!(
            "was killed by {}{}",
            signal_name(sig),
            if status.core_dumped() {
                " (core dumped)"
            } else {
                ""
            }
        ),
        (Some(code), _) => format!("exited with status {code}"),
        _ => "ended".to_owned(),
    }
}

/// Count a death by signal against the model files the child was loading or running; returns
/// a note for the log.
fn blame(models_dir: &Path, pid: u32, status: ExitStatus) -> String {
    let digests = serving::take(models_dir, pid);
    let Some(sig) = status.signal() else {
        return String::new();
    };
    if digests.is_empty() {
        return String::new();
    }
    let why = signal_name(sig);
    let counts = ModelRecord::update(models_dir, |r| {
        digests
            .iter()
            .map(|d| (d.clone(), r.crashed(d, &why)))
            .collect::<Vec<_>>()
    });
    let notes: Vec<String> = counts
        .iter()
        .map(|(d, n)| {
            if *n >= crate::probe::record::CRASH_LIMIT {
                tracing::warn!(
                    "model sha256:{d} crashed the server {n} times and is refused from now on \
                     (clear with `hearth serve --clear-bad-models`)"
                );
            }
            format!("sha256:{d} (crash {n})")
        })
        .collect();
    format!(" while model {} was at work", notes.join(", "))
}
