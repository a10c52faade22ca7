//! Polling a step: try until a try holds, the time is up or the server has gone, then say how
//! long it was tried. HTTP and tool-call steps poll alike.

use super::results::Failure;
use std::time::{Duration, Instant};

/// One try of a step, as polling sees it: whatever failed.
pub(super) trait Tried {
    fn failures(&mut self) -> &mut Vec<Failure>;
}

/// A poll's timing: every `interval_ms`, for at most `timeout_ms` since the step `started`.
pub(super) struct Polling {
    pub(super) interval_ms: u32,
    pub(super) timeout_ms: u32,
    pub(super) started: Instant,
}

/// Try until a try holds, the time is up or `gone()` says the server has gone (counting tries
/// in `attempts`); the last try's failures then become one, saying how long it was tried.
pub(super) async fn poll<T: Tried, F: std::future::Future<Output = T>>(
    timing: Polling,
    attempts: &mut u32,
    gone: impl Fn() -> bool,
    mut attempt: impl FnMut(u32) -> F,
) -> T {
    let interval = Duration::from_millis(u64::from(timing.interval_ms));
    let deadline = timing.started + Duration::from_millis(u64::from(timing.timeout_ms));
    loop {
        *attempts += 1;
        let mut a = attempt(*attempts).await;
        let out_of_time = Instant::now() + interval >= deadline;
        if a.failures().is_empty() || out_of_time || gone() {
            let failures = a.failures();
            if let Some(first) = failures.first() {
                let kind = first.kind;
                let last: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
                let summary = format!(
                    "did not hold within {} ms ({} attempt(s)); the last attempt: {}",
                    timing.timeout_ms,
                    attempts,
                    last.join("; ")
                );
                *failures = vec![Failure::new(kind, summary)];
            }
            return a;
        }
        tokio::time::sleep(interval).await;
    }
}

/// When a poll step must be over: `timeout_ms` after it started (none for other steps).
pub(super) fn poll_deadline(mode: &crate::plan::model::StepMode, started: Instant) -> Option<Instant> {
    match mode {
        crate::plan::model::StepMode::Poll { timeout_ms, .. } => {
            Some(started + Duration::from_millis(u64::from(*timeout_ms)))
        }
        _ => None,
    }
}

/// A try's time: its own limit, cut to what is left of the poll (at least a millisecond), so no
/// try runs past the poll's end.
pub(super) fn within(limit: Duration, deadline: Option<Instant>) -> Duration {
    match deadline {
        Some(end) => limit.min(end.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))),
        None => limit,
    }
}
