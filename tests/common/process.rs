//! Probes of the nginx processes: master and worker pids, and a worker's
//! memory as `/proc` reports it.

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use super::Nginx;

/// The master's pid, from `nginx.pid` in the prefix.
pub fn master_pid(nginx: &Nginx) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(pid) = nginx.read("nginx.pid").trim().parse() {
            return pid;
        }
        assert!(Instant::now() < deadline, "nginx.pid never appeared");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The parent pid of a process, from `/proc/PID/stat`.
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The pids of the master's children (the worker, with
/// `worker_processes 1`).
pub fn worker_pids(nginx: &Nginx) -> Vec<u32> {
    let master = master_pid(nginx);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut pids: Vec<u32> = fs::read_dir("/proc")
            .expect("read /proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&pid| parent_pid(pid) == Some(master))
            .collect();
        pids.sort_unstable();
        if !pids.is_empty() {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "no worker process under master {master}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The single worker's pid.
pub fn worker_pid(nginx: &Nginx) -> u32 {
    let pids = worker_pids(nginx);
    assert_eq!(pids.len(), 1, "expected one worker, found {pids:?}");
    pids[0]
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, ...).
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
