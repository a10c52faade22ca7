//! Sandbox limits for every plugin call: a wall-clock budget enforced by epoch interruption and a
//! memory ceiling enforced by a store limiter. Built once per run, applied to every store.

use std::time::Duration;

/// How often the engine's epoch advances. A call's time limit is rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to each plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget of one call (`info`, `plan` or one `check`).
    pub call_timeout: Duration,
    /// Linear memory ceiling of one plugin instance, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { call_timeout: Duration::from_secs(5), memory_bytes: 64 << 20 }
    }
}

impl Limits {
    /// The call timeout in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.call_timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}

/// Denies memory growth past the limit and remembers that it did, so a resulting trap can be
/// reported as "memory limit exceeded" rather than as an opaque `unreachable`.
pub struct MemoryLimiter {
    limit: usize,
    /// The largest size (bytes) a denied growth asked for.
    pub denied: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(limit: usize) -> Self {
        MemoryLimiter { limit, denied: None }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.denied = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table element is a pointer; hold tables to the same byte budget.
        Ok(desired.saturating_mul(size_of::<usize>()) <= self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn deadline_rounds_up_to_whole_ticks() {
        let limits = Limits { call_timeout: Duration::from_millis(15), memory_bytes: 1 };
        assert_eq!(limits.deadline_ticks(), 2);
        let tiny = Limits { call_timeout: Duration::from_nanos(1), memory_bytes: 1 };
        assert_eq!(tiny.deadline_ticks(), 1);
    }

    #[test]
    fn limiter_denies_growth_past_the_limit_and_remembers() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert_eq!(limiter.denied, None);
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert_eq!(limiter.denied, Some(2 << 20));
    }
}
