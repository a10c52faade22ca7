//! What the HTML report shows rather than tells: the run's timeline (scenarios in flight over
//! time), the latency distribution per endpoint, and coverage (endpoints by scenario kind). Plain
//! inline SVG and tables, computed once from the results; nothing runs in the page to draw them.

use super::html::esc;
use crate::run::results::{Outcome, RunReport, ScenarioResult};
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 120.0;
/// Points along the timeline: enough to show a run's shape, few enough to stay small.
const BUCKETS: usize = 400;

/// Scenarios in flight over the run, as an SVG area chart with its peak and length named.
pub fn timeline(report: &RunReport) -> String {
    let ran: Vec<&ScenarioResult> = report.scenarios.iter().filter(|s| s.finished_ms > 0).collect();
    let end = ran.iter().map(|s| s.finished_ms).max().unwrap_or(0).max(1);
    if ran.is_empty() {
        return String::new();
    }
    // +1 where a scenario starts, -1 after it ends; the running sum is what is in flight.
    let bucket = |ms: u64| ((ms as f64 / end as f64) * (BUCKETS - 1) as f64) as usize;
    let mut delta = vec![0i64; BUCKETS + 1];
    for s in &ran {
        delta[bucket(s.started_ms)] += 1;
        delta[bucket(s.finished_ms) + 1] -= 1;
    }
    let mut in_flight = Vec::with_capacity(BUCKETS);
    let mut now = 0i64;
    for d in &delta[..BUCKETS] {
        now += d;
        in_flight.push(now.max(0) as u64);
    }
    let peak = in_flight.iter().copied().max().unwrap_or(1).max(1);
    let mut points = format!("0,{HEIGHT}");
    for (i, n) in in_flight.iter().enumerate() {
        let x = i as f64 * WIDTH / (BUCKETS - 1) as f64;
        let y = HEIGHT - (*n as f64 / peak as f64) * (HEIGHT - 4.0);
        let _ = write!(points, " {x:.1},{y:.1}");
    }
    let _ = write!(points, " {WIDTH},{HEIGHT}");
    // Where failures happened, as ticks under the chart.
    let mut ticks = String::new();
    for s in ran.iter().filter(|s| s.outcome == Outcome::Failed).take(2_000) {
        let x = s.started_ms as f64 / end as f64 * WIDTH;
        let _ = write!(
            ticks,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\"/>",
            HEIGHT + 2.0,
            HEIGHT + 10.0
        );
    }
    format!(
        "<h2>Timeline</h2><div class=muted>scenarios in flight over {} ms (at most {peak} at once); red ticks: \
         where failing scenarios started</div><svg class=chart viewBox=\"0 0 {WIDTH} {}\" role=img \
         aria-label=\"scenarios in flight over time\"><polygon class=area points=\"{points}\"/>\
         <g class=ticks>{ticks}</g></svg>",
        end,
        HEIGHT + 12.0
    )
}

/// The `p`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latency per endpoint: count, p50, p95, p99 and max of its responses, with a histogram on a
/// doubling scale (under 1 ms, 1-2, 2-4, ... ms).
pub fn latency(report: &RunReport) -> String {
    let mut by_endpoint: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for s in &report.scenarios {
        for step in &s.steps {
            if let Some(r) = &step.response {
                by_endpoint.entry(s.endpoint.as_str()).or_default().push(r.latency_ms);
            }
        }
    }
    if by_endpoint.is_empty() {
        return String::new();
    }
    const BINS: usize = 14;
    let mut out = String::from(
        "<h2>Latency by endpoint</h2><div class=muted>every response of the endpoint's scenarios, in ms; \
         the bars count responses under 1 ms, 1-2, 2-4, 4-8 ms and so on, doubling</div><table class=latency>\
         <tr><th>endpoint</th><th>responses</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>distribution</th></tr>",
    );
    for (endpoint, mut ms) in by_endpoint {
        ms.sort_unstable();
        let mut bins = [0u64; BINS];
        for m in &ms {
            let bin = if *m == 0 { 0 } else { (64 - m.leading_zeros()) as usize };
            bins[bin.min(BINS - 1)] += 1;
        }
        let most = bins.iter().copied().max().unwrap_or(1).max(1);
        let mut bars = String::new();
        for (i, n) in bins.iter().enumerate() {
            let h = (*n as f64 / most as f64 * 20.0).max(if *n > 0 { 1.0 } else { 0.0 });
            let _ = write!(
                bars,
                "<rect x=\"{}\" y=\"{:.1}\" width=\"7\" height=\"{h:.1}\"><title>{n}</title></rect>",
                i * 8,
                20.0 - h
            );
        }
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><svg class=bars \
             viewBox=\"0 0 {} 20\" width=\"{}\" height=\"20\">{bars}</svg></td></tr>",
            esc(endpoint),
            ms.len(),
            percentile(&ms, 50.0),
            percentile(&ms, 95.0),
            percentile(&ms, 99.0),
            ms.last().copied().unwrap_or(0),
            BINS * 8,
            BINS * 8
        );
    }
    out.push_str("</table>");
    out
}

/// Endpoints by scenario kind: how many scenarios of each kind, and how many of those failed.
pub fn coverage(report: &RunReport) -> String {
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut table: BTreeMap<&str, BTreeMap<&'static str, (usize, usize)>> = BTreeMap::new();
    for s in report.scenarios.iter().filter(|s| s.plugin != "smoke") {
        let kind = s.kind.as_str();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        let cell = table.entry(s.endpoint.as_str()).or_default().entry(kind).or_default();
        cell.0 += 1;
        if s.outcome == Outcome::Failed {
            cell.1 += 1;
        }
    }
    if table.is_empty() {
        return String::new();
    }
    kinds.sort_unstable();
    let mut out = String::from(
        "<h2>Coverage</h2><div class=muted>scenarios per endpoint and kind (failed in red); an empty cell is \
         a kind of check the endpoint did not get</div><table class=coverage><tr><th>endpoint</th>",
    );
    for k in &kinds {
        let _ = write!(out, "<th>{k}</th>");
    }
    out.push_str("</tr>");
    for (endpoint, cells) in table {
        let _ = write!(out, "<tr><td>{}</td>", esc(endpoint));
        for k in &kinds {
            match cells.get(k) {
                Some((n, 0)) => {
                    let _ = write!(out, "<td class=pass>{n}</td>");
                }
                Some((n, failed)) => {
                    let _ = write!(out, "<td class=fail>{n} ({failed} failed)</td>");
                }
                None => out.push_str("<td class=gap></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50.0), percentile(&v, 95.0), percentile(&v, 99.0)), (50, 95, 99));
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
