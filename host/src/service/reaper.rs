//! Nothing a run started outlives it: smoke becomes the subreaper of what it starts (Linux), so a
//! service that daemonizes (`setsid`, a double fork) is adopted by smoke rather than by init, and
//! at teardown every descendant still alive is stopped and reaped.

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Make smoke the subreaper of everything it starts (Linux): a process that leaves its group
/// (`setsid`, a double fork) is then adopted by smoke rather than by init, so it can be found
/// and stopped. Called once, before anything is started.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(
            "target: cannot become the subreaper of started processes ({e}); a service that daemonizes may outlive the run"
        );
    }
}

/// One process as /proc shows it: pid, parent pid, and whether it is a zombie (exited, not reaped).
struct Process {
    pid: i32,
    ppid: i32,
    zombie: bool,
}

/// Every process on the machine, from /proc (Linux).
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        if let Some(ppid) = fields.next().and_then(|p| p.parse::<i32>().ok()) {
            out.push(Process { pid, ppid, zombie: matches!(state, "Z" | "X") });
        }
    }
    out
}

/// Whether this process has a child at all, living or exited and not yet reaped (the exited one
/// is left for whoever waits for it). Without a child there is no descendant either: an orphaned
/// grandchild is adopted by smoke, the nearest subreaper, and so becomes a child.
fn has_children() -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(nix::errno::Errno::ECHILD))
}

/// The pids of every living descendant of this process.
fn descendants() -> Vec<i32> {
    // A run against a service it did not start has no child: no need to read every process.
    if !has_children() {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let living: Vec<Process> = processes().into_iter().filter(|p| !p.zombie).collect();
    let mut found = vec![me];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(living.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    found.retain(|&p| p != me);
    found
}

/// Stop every process descended from smoke (adopted daemons included): SIGTERM, up to `grace`
/// for them to go, then SIGKILL; reap what was adopted. Warns naming any that survive.
pub async fn reap_descendants(grace: Duration) {
    let first = descendants();
    if first.is_empty() {
        return;
    }
    for &pid in &first {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !descendants().is_empty() {
        reap_adopted();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..50 {
        let left = descendants();
        if left.is_empty() {
            break;
        }
        for &pid in &left {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        reap_adopted();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reap_adopted();
    let left = descendants();
    if !left.is_empty() {
        let pids: Vec<String> = left.iter().map(i32::to_string).collect();
        tracing::warn!(
            "target: process(es) {} started by the run are still alive; stop them by hand",
            pids.join(", ")
        );
    } else {
        tracing::info!(
            "target: stopped {} process(es) that had left the service's process group",
            first.len()
        );
    }
}

/// Collect the exit status of adopted children that have exited (tokio reaps its own).
pub fn reap_adopted() {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    // Only pids that are zombies and children of smoke: never a child tokio still waits for
    // (those are reaped by tokio, and are not zombies for long).
    let me = std::process::id() as i32;
    for p in processes().into_iter().filter(|p| p.zombie && p.ppid == me) {
        let _ = waitpid(Pid::from_raw(p.pid), Some(WaitPidFlag::WNOHANG));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_living_child_and_an_unreaped_one_both_count_and_the_exited_one_stays_waitable() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        assert!(has_children());
        assert!(descendants().contains(&(child.id() as i32)));
        child.kill().unwrap();
        // Exited but not reaped: still a child, and its status is still there for its owner.
        std::thread::sleep(Duration::from_millis(50));
        assert!(has_children());
        let status = child.wait().unwrap();
        assert!(!status.success());
    }
}
