//! What the HTML report shows rather than tells: the run's timeline (scenarios in flight over
//! time), the latency distribution per endpoint, and coverage (endpoints by scenario kind). Plain
//! inline SVG and tables, computed once from the results; nothing runs in the page to draw them.

use super::esc_line;
use crate::plan::model::ScenarioKind;
use crate::run::results::{Outcome, RunReport};
use crate::run::spool::{Brief, Spool};
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 120.0;
/// Points along the timeline: enough to show a run's shape, few enough to stay small.
const BUCKETS: usize = 400;

/// Counts over the run's time in [`BUCKETS`] points: each span adds one from its start to its end.
struct Series {
    end: u64,
    delta: Vec<i64>,
}

impl Series {
    fn new(end: u64) -> Series {
        Series { end: end.max(1), delta: vec![0; BUCKETS + 1] }
    }

    fn bucket(&self, ms: u64) -> usize {
        (((ms.min(self.end)) as f64 / self.end as f64) * (BUCKETS - 1) as f64) as usize
    }

    /// One more between `from` and `to` (ms since the run started).
    fn add(&mut self, from: u64, to: u64) {
        let (from, to) = (from.min(to), from.max(to));
        let (a, b) = (self.bucket(from), self.bucket(to));
        self.delta[a] += 1;
        self.delta[(b + 1).min(BUCKETS)] -= 1;
    }

    fn values(&self) -> Vec<u64> {
        let mut now = 0i64;
        self.delta[..BUCKETS]
            .iter()
            .map(|d| {
                now += d;
                now.max(0) as u64
            })
            .collect()
    }
}

/// An SVG area polygon of `values` scaled to `peak`, `height` tall.
fn area(values: &[u64], peak: u64, height: f64, class: &str) -> String {
    let mut points = format!("0,{height}");
    for (i, n) in values.iter().enumerate() {
        let x = i as f64 * WIDTH / (BUCKETS - 1) as f64;
        let y = height - (*n as f64 / peak.max(1) as f64) * (height - 4.0);
        let _ = write!(points, " {x:.1},{y:.1}");
    }
    let _ = write!(points, " {WIDTH},{height}");
    format!("<polygon class={class} points=\"{points}\"/>")
}

/// The run over time: scenarios in flight, as an SVG area chart with its peak and length
/// named, failures marked under it; then what was waiting: scenarios whose dependencies had
/// not yet passed, and scenarios ready but waiting for a free job (`--jobs`).
pub fn timeline(report: &RunReport<Spool>) -> String {
    let spool = &report.scenarios;
    let ran: Vec<&Brief> = spool.briefs().iter().filter(|b| b.finished_ms > 0).collect();
    if ran.is_empty() {
        return String::new();
    }
    let end = ran.iter().map(|b| u64::from(b.finished_ms.max(b.started_ms))).max().unwrap_or(0).max(1);
    let (mut flight, mut blocked, mut queued) = (Series::new(end), Series::new(end), Series::new(end));
    for b in &ran {
        let (ready, started, finished) =
            (u64::from(b.ready_ms), u64::from(b.started_ms), u64::from(b.finished_ms));
        flight.add(started, finished);
        if ready > 0 {
            blocked.add(0, ready);
        }
        if started > ready {
            queued.add(ready, started);
        }
    }
    let in_flight = flight.values();
    let peak = in_flight.iter().copied().max().unwrap_or(1).max(1);
    // Where failures happened, as ticks under the chart.
    let mut ticks = String::new();
    for b in ran.iter().filter(|b| b.outcome == Outcome::Failed).take(2_000) {
        let x = f64::from(b.started_ms) / end as f64 * WIDTH;
        let _ = write!(
            ticks,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\"/>",
            HEIGHT + 2.0,
            HEIGHT + 10.0
        );
    }
    let mut out = format!(
        "<h2>Timeline</h2><div class=muted>scenarios in flight over {} ms (at most {peak} at once); red ticks: \
         where failing scenarios started</div><svg class=chart viewBox=\"0 0 {WIDTH} {}\" role=img \
         aria-label=\"scenarios in flight over time\">{}<g class=ticks>{ticks}</g></svg>",
        end,
        HEIGHT + 12.0,
        area(&in_flight, peak, HEIGHT, "area")
    );
    let (blocked, queued) = (blocked.values(), queued.values());
    let most_blocked = blocked.iter().copied().max().unwrap_or(0);
    let most_queued = queued.iter().copied().max().unwrap_or(0);
    if most_blocked + most_queued > 0 {
        // Stacked: waiting on dependencies at the bottom, ready for a job above it.
        let stacked: Vec<u64> = blocked.iter().zip(&queued).map(|(b, q)| b + q).collect();
        let top = stacked.iter().copied().max().unwrap_or(1).max(1);
        let _ = write!(
            out,
            "<div class=muted>waiting: <span class=dep>at most {most_blocked} on dependencies that had not yet \
             passed</span>, <span class=queue>at most {most_queued} ready but waiting for a free job (--jobs)</span></div>\
             <svg class=chart viewBox=\"0 0 {WIDTH} {WAIT_HEIGHT}\" role=img aria-label=\"scenarios waiting over time\">{}{}</svg>",
            area(&stacked, top, WAIT_HEIGHT, "queued"),
            area(&blocked, top, WAIT_HEIGHT, "blocked"),
        );
    }
    out
}

/// The height of the chart of what was waiting.
const WAIT_HEIGHT: f64 = 60.0;

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
pub fn latency(report: &RunReport<Spool>) -> String {
    let by_endpoint = report.scenarios.latencies();
    if by_endpoint.is_empty() {
        return String::new();
    }
    const BINS: usize = 14;
    let mut out = String::from(
        "<h2>Latency by endpoint</h2><div class=muted>every response of the endpoint's scenarios, in ms; \
         the bars count responses under 1 ms, 1-2, 2-4, 4-8 ms and so on, doubling</div><table class=latency>\
         <tr><th>endpoint</th><th>responses</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>distribution</th></tr>",
    );
    for (endpoint, ms) in by_endpoint {
        let mut ms: Vec<u64> = ms.iter().map(|&m| u64::from(m)).collect();
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
            esc_line(endpoint),
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
pub fn coverage(report: &RunReport<Spool>) -> String {
    let spool = &report.scenarios;
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut table: BTreeMap<&str, BTreeMap<&'static str, (usize, usize)>> = BTreeMap::new();
    for (i, b) in spool.briefs().iter().enumerate() {
        let Some(kind) = b.kind.map(ScenarioKind::as_str) else { continue };
        if spool.plugin(i) == "smoke" {
            continue;
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        let cell = table.entry(spool.endpoint(i)).or_default().entry(kind).or_default();
        cell.0 += 1;
        if b.outcome == Outcome::Failed {
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
        let _ = write!(out, "<tr><td>{}</td>", esc_line(endpoint));
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
    use crate::plan::model::Scenario;
    use crate::run::results::ScenarioResult;

    fn report(times: &[(u64, u64, u64)]) -> RunReport<Spool> {
        let results: Vec<ScenarioResult> = times
            .iter()
            .enumerate()
            .map(|(i, &(ready, started, finished))| {
                let mut r = ScenarioResult::new(&Scenario::bare(
                    &format!("s{i}"),
                    "p",
                    "GET /",
                    ScenarioKind::HappyPath,
                ));
                (r.ready_ms, r.started_ms, r.finished_ms) = (ready, started, finished);
                r
            })
            .collect();
        RunReport::of_scenarios(results).into_spooled()
    }

    #[test]
    fn the_timeline_shows_what_waited_on_dependencies_and_for_a_job() {
        // Two at once from the start; a third ready at 100 ms but started at 150 (no free job).
        let page = timeline(&report(&[(0, 0, 200), (0, 0, 100), (100, 150, 300)]));
        assert!(page.contains("at most 2 at once"), "{page}");
        assert!(page.contains("at most 1 on dependencies"), "{page}");
        assert!(page.contains("at most 1 ready but waiting for a free job"), "{page}");
        // Nothing waited: no chart of waits.
        let page = timeline(&report(&[(0, 0, 10), (0, 0, 10)]));
        assert!(!page.contains("waiting:"), "{page}");
    }

    #[test]
    fn times_out_of_order_in_a_report_read_back_draw_without_a_panic() {
        let page = timeline(&report(&[(0, 5, 1), (900, 0, 3), (u64::MAX, u64::MAX, 2)]));
        assert!(page.contains("Timeline"), "{page}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50.0), percentile(&v, 95.0), percentile(&v, 99.0)), (50, 95, 99));
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
