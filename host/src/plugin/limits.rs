//! Sandbox limits for every plugin call: a wall-clock budget enforced by epoch interruption and a
//! memory ceiling enforced by a store limiter. Built once per run, applied to every store.

use std::time::Duration;

/// How often the engine's epoch advances. A call's time limit is rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to each plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one call (`info`, `plan` or one `check`).
    pub call_timeout: Duration,
    /// Linear memory ceiling of one plugin instance, in bytes.
    pub memory_bytes: usize,
    /// Set by the user (flag or config): a plugin's declared needs do not change it.
    pub timeout_pinned: bool,
    pub memory_pinned: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout: Duration::from_secs(5),
            memory_bytes: 64 << 20,
            timeout_pinned: false,
            memory_pinned: false,
        }
    }
}

/// The most a plugin may declare it needs: enough for an interpreter carried in the component
/// (Python, JavaScript) and a large document, small enough that a runaway is still stopped soon.
pub const MAX_NEEDED_MEMORY_MIB: u32 = 1024;
pub const MAX_NEEDED_CALL_TIMEOUT_MS: u32 = 30_000;

/// Memory a `plan` call gets per byte of the documents handed to it, beyond the plugin's limit
/// (a 13 MB OpenAPI document parsed into a tree, and the plan made from it, fit in 16 times;
/// Stripe's 2.5 MB one needs about 16 times too, on top of the 64 MiB default).
pub const DOCUMENT_MEMORY_FACTOR: usize = 32;

/// Time a `plan` call gets per MiB of the documents handed to it, beyond the plugin's limit (a
/// 20 MB document of a real API takes about 10 s to plan).
pub const DOCUMENT_MS_PER_MIB: u64 = 500;

impl Limits {
    /// These limits raised to what a plugin declared it needs, within the caps; a limit the user
    /// set stays as set, and a need below the default never lowers it.
    pub fn with_needs(self, needs: crate::plugin::contract::Needs) -> Limits {
        let mut out = self;
        if let Some(mib) = needs.memory_mib.filter(|_| !self.memory_pinned) {
            let bytes = (mib.min(MAX_NEEDED_MEMORY_MIB) as usize) << 20;
            out.memory_bytes = out.memory_bytes.max(bytes);
        }
        if let Some(ms) = needs.call_timeout_ms.filter(|_| !self.timeout_pinned) {
            let wanted = Duration::from_millis(u64::from(ms.min(MAX_NEEDED_CALL_TIMEOUT_MS)));
            out.call_timeout = out.call_timeout.max(wanted);
        }
        out
    }

    /// These limits for a `plan` call handed `bytes` of documents: a plugin holds a document
    /// parsed, several times its size, and takes time to read it, so the memory limit grows by
    /// `DOCUMENT_MEMORY_FACTOR` times their size and the time limit by `DOCUMENT_MS_PER_MIB` per
    /// MiB, within the caps of a declared need (a runaway is still stopped). A limit the user set
    /// stays as set.
    pub fn with_documents(self, bytes: usize) -> Limits {
        let mut out = self;
        if bytes == 0 {
            return out;
        }
        if !self.memory_pinned {
            let wanted = self.memory_bytes.saturating_add(bytes.saturating_mul(DOCUMENT_MEMORY_FACTOR));
            let cap = (MAX_NEEDED_MEMORY_MIB as usize) << 20;
            out.memory_bytes = wanted.min(cap).max(self.memory_bytes);
        }
        if !self.timeout_pinned {
            let extra = Duration::from_millis((bytes as u64).saturating_mul(DOCUMENT_MS_PER_MIB) >> 20);
            let cap = Duration::from_millis(u64::from(MAX_NEEDED_CALL_TIMEOUT_MS));
            out.call_timeout = (self.call_timeout + extra).min(cap).max(self.call_timeout);
        }
        out
    }

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
        let limits = Limits { call_timeout: Duration::from_millis(15), memory_bytes: 1, ..Limits::default() };
        assert_eq!(limits.deadline_ticks(), 2);
        let tiny = Limits { call_timeout: Duration::from_nanos(1), memory_bytes: 1, ..Limits::default() };
        assert_eq!(tiny.deadline_ticks(), 1);
    }

    #[test]
    fn declared_needs_raise_limits_within_the_caps_unless_the_user_pinned_them() {
        use crate::plugin::contract::Needs;
        let defaults = Limits::default();
        let python = Needs { memory_mib: Some(256), call_timeout_ms: Some(10_000) };
        let raised = defaults.with_needs(python);
        assert_eq!(raised.memory_bytes, 256 << 20);
        assert_eq!(raised.call_timeout, Duration::from_secs(10));
        let greedy = Needs { memory_mib: Some(u32::MAX), call_timeout_ms: Some(u32::MAX) };
        let capped = defaults.with_needs(greedy);
        assert_eq!(capped.memory_bytes, (MAX_NEEDED_MEMORY_MIB as usize) << 20);
        assert_eq!(capped.call_timeout, Duration::from_millis(MAX_NEEDED_CALL_TIMEOUT_MS.into()));
        let modest = Needs { memory_mib: Some(1), call_timeout_ms: Some(1) };
        assert_eq!(defaults.with_needs(modest), defaults, "a need below the default never lowers it");
        let pinned = Limits { memory_bytes: 32 << 20, memory_pinned: true, timeout_pinned: true, ..defaults };
        assert_eq!(pinned.with_needs(python), pinned, "what the user set stays as set");
        assert_eq!(defaults.with_needs(Needs::default()), defaults);
    }

    #[test]
    fn plan_memory_grows_with_the_documents_within_the_cap_unless_pinned() {
        let defaults = Limits::default();
        assert_eq!(defaults.with_documents(0), defaults);
        let big = defaults.with_documents(13 << 20);
        assert_eq!(big.memory_bytes, (64 << 20) + 32 * (13 << 20));
        assert_eq!(big.call_timeout, Duration::from_millis(5_000 + 13 * 500));
        let huge = defaults.with_documents(usize::MAX / 2);
        assert_eq!(huge.memory_bytes, (MAX_NEEDED_MEMORY_MIB as usize) << 20, "a runaway is still stopped");
        assert_eq!(huge.call_timeout, Duration::from_millis(u64::from(MAX_NEEDED_CALL_TIMEOUT_MS)));
        let pinned = Limits { memory_bytes: 32 << 20, memory_pinned: true, timeout_pinned: true, ..defaults };
        assert_eq!(pinned.with_documents(13 << 20), pinned, "what the user set stays as set");
        let roomy = Limits { memory_bytes: 2048 << 20, ..defaults };
        assert_eq!(roomy.with_documents(1 << 20).memory_bytes, roomy.memory_bytes, "never lowered");
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
