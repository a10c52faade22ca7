//! Burst steps: N copies of one request with C in flight, judged by the mix of statuses (e.g.
//! at least one 429 and no 5xx), with the status histogram and latency percentiles recorded.

use super::results::{BurstRecord, Failure, FailureKind};
use super::{Context, Label};
use crate::http::Outgoing;
use crate::plan::model::{HttpCall, StatusCount, StatusMatch};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// One request of the burst: its status (or why there was none) and latency.
type Sample = (Result<u16, FailureKind>, f64);

/// Send the burst and judge it; failures are empty when the mix holds.
pub async fn run(
    ctx: &Context,
    client: &crate::http::Client,
    http: &HttpCall,
    outgoing: &Outgoing,
    (count, concurrency): (u32, u32),
    mix: &[StatusCount],
    label: Label,
) -> (Vec<Failure>, BurstRecord) {
    let next = Arc::new(AtomicU32::new(0));
    let record = ctx.transcript.is_some().then(|| ctx.redactor.request(outgoing));
    let mut samples: Vec<Sample> = Vec::with_capacity(count as usize);
    // Copies are sent from here, `concurrency` at a time, so each can be recorded in the
    // transcript with the context it needs.
    let copies = futures_util::future::join_all((0..concurrency.clamp(1, count.max(1))).map(|_| {
        let (next, record, label) = (next.clone(), record.clone(), label.clone());
        async move {
            let mut out: Vec<Sample> = Vec::new();
            loop {
                let copy = next.fetch_add(1, Ordering::Relaxed);
                if copy >= count {
                    break;
                }
                let seq = ctx.transcript.as_ref().map(|t| t.ticket());
                let started = std::time::Instant::now();
                let sent = client.send(outgoing).await;
                if let (Some(seq), Some(request)) = (seq, &record) {
                    label.record(ctx, seq, copy + 1, started, request.clone(), &sent);
                }
                let status = match &sent {
                    Ok(r) if r.oversize.is_some() => Err(FailureKind::BodyTooLarge),
                    Ok(r) => Ok(r.status),
                    Err(e) => Err(super::send_failure_kind(e)),
                };
                out.push((status, started.elapsed().as_secs_f64() * 1000.0));
            }
            out
        }
    }));
    for part in copies.await {
        samples.extend(part);
    }
    judge(&http.expect.status, mix, count, concurrency, &samples)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let value = sorted[rank.clamp(1, sorted.len()) - 1];
    (value * 100.0).round() / 100.0
}

/// Judge a burst's samples: every response must have an accepted status, every request must get
/// a response, and each bound of the mix must hold.
pub fn judge(
    accepted: &[StatusMatch],
    mix: &[StatusCount],
    count: u32,
    concurrency: u32,
    samples: &[Sample],
) -> (Vec<Failure>, BurstRecord) {
    let mut histogram: BTreeMap<String, u32> = BTreeMap::new();
    for (status, _) in samples {
        *histogram.entry(status.map_or("error".into(), |s| s.to_string())).or_default() += 1;
    }
    let mut failures = Vec::new();
    let mut errors: BTreeMap<FailureKind, u32> = BTreeMap::new();
    for (status, _) in samples {
        if let Err(kind) = status {
            *errors.entry(*kind).or_default() += 1;
        }
    }
    for (kind, n) in errors {
        let why = match kind {
            FailureKind::BodyTooLarge => "a body over the limit",
            FailureKind::Timeout => "no response in time",
            FailureKind::Connect => "no connection",
            _ => "no response",
        };
        failures.push(Failure::new(kind, format!("{n} of {count} request(s) got {why}")));
    }
    let mut outside: BTreeMap<u16, u32> = BTreeMap::new();
    for status in samples.iter().filter_map(|(s, _)| s.ok()) {
        if !accepted.iter().any(|m| m.matches(status)) {
            *outside.entry(status).or_default() += 1;
        }
    }
    for (status, n) in &outside {
        failures.push(Failure::new(
            FailureKind::Status,
            format!("{n} response(s) had status {status}, which is not accepted"),
        ));
    }
    for bound in mix {
        let n = samples.iter().filter(|(s, _)| s.is_ok_and(|s| bound.status.matches(s))).count() as u32;
        let what = bound.status.to_string();
        if let Some(least) = bound.at_least
            && n < least
        {
            failures.push(Failure::new(
                FailureKind::Burst,
                format!("{n} response(s) were {what}, expected at least {least}"),
            ));
        }
        if let Some(most) = bound.at_most
            && n > most
        {
            failures.push(Failure::new(
                FailureKind::Burst,
                format!("{n} response(s) were {what}, expected at most {most}"),
            ));
        }
    }
    let mut latencies: Vec<f64> = samples.iter().map(|(_, ms)| *ms).collect();
    latencies.sort_by(f64::total_cmp);
    let record = BurstRecord {
        count,
        concurrency,
        histogram,
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        p99_ms: percentile(&latencies, 99.0),
    };
    (failures, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(list: &[u16]) -> Vec<StatusMatch> {
        list.iter().copied().map(StatusMatch::Code).collect()
    }

    fn bound(status: StatusMatch, at_least: Option<u32>, at_most: Option<u32>) -> StatusCount {
        StatusCount { status, at_least, at_most }
    }

    fn samples(statuses: &[(u16, u32)]) -> Vec<Sample> {
        let mut out = Vec::new();
        for (status, n) in statuses {
            for i in 0..*n {
                out.push((Ok(*status), f64::from(i + 1)));
            }
        }
        out
    }

    #[test]
    fn a_rate_limited_mix_passes_when_it_has_429s_and_no_5xx() {
        let mix = [bound(StatusMatch::Code(429), Some(1), None), bound(StatusMatch::Class(5), None, Some(0))];
        let (failures, record) = judge(&codes(&[200, 429]), &mix, 120, 8, &samples(&[(200, 100), (429, 20)]));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(record.histogram, BTreeMap::from([("200".into(), 100), ("429".into(), 20)]));
    }

    #[test]
    fn a_missing_rate_limit_and_server_errors_fail_with_counts() {
        let mix = [bound(StatusMatch::Code(429), Some(1), None), bound(StatusMatch::Class(5), None, Some(0))];
        let (failures, _) = judge(&codes(&[200, 429, 503]), &mix, 120, 8, &samples(&[(200, 118), (503, 2)]));
        let failures: Vec<String> = failures.into_iter().map(|f| f.message).collect();
        assert_eq!(
            failures,
            vec![
                "0 response(s) were 429, expected at least 1".to_string(),
                "2 response(s) were 5xx, expected at most 0".to_string(),
            ]
        );
    }

    #[test]
    fn statuses_outside_the_accepted_set_and_lost_requests_fail() {
        let mut s = samples(&[(200, 3), (404, 1)]);
        s.push((Err(FailureKind::Reset), 5.0));
        let (failures, record) = judge(&codes(&[200]), &[], 5, 1, &s);
        assert_eq!(failures[0].kind, FailureKind::Reset);
        let failures: Vec<String> = failures.into_iter().map(|f| f.message).collect();
        assert_eq!(
            failures,
            vec![
                "1 of 5 request(s) got no response".to_string(),
                "1 response(s) had status 404, which is not accepted".to_string(),
            ]
        );
        assert_eq!(record.histogram.get("error"), Some(&1));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 95.0), 95.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
