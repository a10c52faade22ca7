//! The transcript: every HTTP exchange and tool call of a run, one JSON line each, in send order, redacted
//! like every other output (`--transcript FILE`).

use crate::http::{RequestRecord, ResponseRecord};
use crate::plan::spill::{Slot, Spill};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One exchange.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Send order across the whole run, from 1.
    pub seq: u64,
    /// `seed ID` or the scenario id.
    pub scenario: String,
    /// 1-based step number and its name.
    pub step: usize,
    pub step_name: String,
    /// 1-based attempt (polls) or copy (bursts) within the step.
    pub attempt: u32,
    /// When it was sent, in ms since the run started, and how long it took.
    pub sent_ms: f64,
    pub duration_ms: f64,
    /// The HTTP request, for an HTTP step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRecord>,
    pub response: Option<ResponseRecord>,
    /// The JSON-RPC request and answer, for a tool call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<super::results::ToolCallRecord>,
    /// Why there is no response (timeout, connection refused).
    pub error: Option<String>,
    /// Set when the request was sent twice: why the first try failed (a pooled connection the
    /// server had closed). Only idempotent requests are ever sent twice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried: Option<String>,
}

/// Collects entries from concurrent scenarios, each encoded as it comes into a [`Spill`] (a run
/// of any size keeps its transcript out of memory); written sorted by `seq`.
#[derive(Debug)]
pub struct Transcript {
    next: AtomicU64,
    kept: Mutex<Kept>,
}

#[derive(Debug)]
struct Kept {
    lines: Spill,
    /// (seq, where its line is), in the order entries came.
    index: Vec<(u64, Slot)>,
}

/// Transcript lines kept in memory before the rest go to a temporary file.
const MEMORY_BUDGET: usize = 8 << 20;

impl Default for Transcript {
    fn default() -> Self {
        Transcript {
            next: AtomicU64::new(0),
            kept: Mutex::new(Kept { lines: Spill::new(MEMORY_BUDGET), index: Vec::new() }),
        }
    }
}

impl Transcript {
    /// The sequence number of an exchange about to be sent.
    pub fn ticket(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn record(&self, entry: Entry) {
        let line = match serde_json::to_vec(&entry) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!("transcript: entry {} cannot be encoded: {e}", entry.seq);
                return;
            }
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        match kept.lines.push(&line) {
            Ok(slot) => kept.index.push((entry.seq, slot)),
            Err(e) => tracing::error!("transcript: entry {} cannot be kept: {e}", entry.seq),
        }
    }

    /// Write every entry recorded so far as JSON Lines, in send order, each line passed through
    /// the redactor once more (it may have learned sensitive values since the entry was made).
    pub fn write(
        &self,
        out: &mut dyn std::io::Write,
        redactor: &crate::http::Redactor,
    ) -> std::io::Result<usize> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.index.sort_by_key(|(seq, _)| *seq);
        for (_, slot) in &kept.index {
            let line = kept.lines.get(*slot).map_err(std::io::Error::other)?;
            out.write_all(redactor.text(&String::from_utf8_lossy(&line)).as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(kept.index.len())
    }
}

/// Which step an exchange belongs to, for the transcript.
#[derive(Debug, Clone)]
pub struct Label {
    pub scenario: String,
    pub step: usize,
    pub step_name: String,
}

impl Label {
    /// Record one exchange in the transcript, if there is one: the response or why there was
    /// none, redacted, and whether the request had to be sent twice.
    pub fn record(
        &self,
        ctx: &super::Context,
        seq: u64,
        attempt: u32,
        sent: Instant,
        request: crate::http::RequestRecord,
        result: &Result<crate::http::Incoming, crate::http::SendError>,
    ) {
        let Some(t) = &ctx.transcript else { return };
        let (response, error, retried) = match result {
            Ok(r) => (Some(ctx.redactor.response(r)), None, r.retried.clone()),
            Err(e) => (None, Some(ctx.redactor.text(&e.to_string())), None),
        };
        t.record(Entry {
            request: Some(request),
            response,
            error,
            retried,
            ..self.entry(ctx, seq, attempt, sent)
        });
    }

    /// A transcript entry for this step's exchange sent at `sent`, with nothing recorded yet.
    fn entry(&self, ctx: &super::Context, seq: u64, attempt: u32, sent: Instant) -> Entry {
        Entry {
            seq,
            scenario: self.scenario.clone(),
            step: self.step,
            step_name: self.step_name.clone(),
            attempt,
            sent_ms: sent.duration_since(ctx.epoch).as_secs_f64() * 1000.0,
            duration_ms: sent.elapsed().as_secs_f64() * 1000.0,
            request: None,
            response: None,
            tool_call: None,
            error: None,
            retried: None,
        }
    }

    /// Record one tool call in the transcript, if there is one.
    pub fn record_tool_call(
        &self,
        ctx: &super::Context,
        seq: u64,
        attempt: u32,
        sent: Instant,
        record: super::results::ToolCallRecord,
        error: Option<String>,
    ) {
        let Some(t) = &ctx.transcript else { return };
        t.record(Entry {
            tool_call: Some(record),
            error: error.map(|e| ctx.redactor.text(&e)),
            ..self.entry(ctx, seq, attempt, sent)
        });
    }
}
