//! The overview's chart, drawn as SVG on the server: it shows without JavaScript, prints, and
//! costs the browser nothing to load.
//!
//! Clicks usually outnumber leads by tens, so one shared scale would flatten the leads: the
//! chart is three panels (clicks, leads, qualified) over the same days, each with its own scale
//! and its largest value written at its top.

use std::fmt::Write as _;

use crate::types::{Period, TallyPoint};

/// Drawing width in SVG units (it scales to its box).
const WIDTH: f64 = 720.0;
/// Left margin, for the panel names and scales.
const LEFT: f64 = 92.0;
/// One panel's bar height.
const PANEL: f64 = 64.0;
/// Space above each panel (its largest value) and below the last (the dates).
const GAP: f64 = 22.0;

/// One panel: its title, its colour, and the number each bar shows.
type Panel = (&'static str, &'static str, fn(&TallyPoint) -> i64);

/// The three panels.
const PANELS: [Panel; 3] = [
    ("Clicks", "#475569", |p| p.tally.clicks),
    ("Leads", "#4338ca", |p| p.tally.leads),
    ("Qualified", "#15803d", |p| p.tally.qualified),
];

/// The chart of `points` (oldest first) as an `<svg>` element, with a title and a description
/// for screen readers.
pub fn tally_chart(points: &[TallyPoint], period: Period) -> String {
    let height = GAP + PANELS.len() as f64 * (PANEL + GAP) + 8.0;
    let unit = match period {
        Period::Day => "day",
        Period::Week => "week",
    };
    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r#"<svg class="tally-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="tally-chart-title tally-chart-desc"><title id="tally-chart-title">Clicks, leads and qualified leads per {unit}</title><desc id="tally-chart-desc">{}</desc>"#,
        escape(&describe(points, unit)),
    );
    let slot = if points.is_empty() {
        0.0
    } else {
        (WIDTH - LEFT) / points.len() as f64
    };
    let bar = (slot * 0.78).max(1.0);
    for (index, (title, colour, value)) in PANELS.iter().enumerate() {
        let top = GAP + index as f64 * (PANEL + GAP);
        let bottom = top + PANEL;
        let max = points.iter().map(value).max().unwrap_or(0);
        let _ = write!(
            svg,
            r#"<text x="0" y="{y}" class="panel" font-size="13" fill="currentColor">{title}</text><text x="{LEFT}" y="{max_y}" font-size="11" fill="currentColor">max {max}</text><line x1="{LEFT}" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" stroke="currentColor" stroke-opacity="0.35"/>"#,
            y = top + PANEL / 2.0 + 4.0,
            max_y = top - 6.0,
        );
        for (i, point) in points.iter().enumerate() {
            let n = value(point);
            if n <= 0 || max <= 0 {
                continue;
            }
            let h = (n as f64 / max as f64 * PANEL).max(1.0);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{colour}"><title>{start}: {n}</title></rect>"#,
                x = LEFT + i as f64 * slot + (slot - bar) / 2.0,
                y = bottom - h,
                start = escape(&point.start),
            );
        }
    }
    // The first and last dates under the last panel.
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let y = height - 4.0;
        let _ = write!(
            svg,
            r#"<text x="{LEFT}" y="{y}" font-size="11" fill="currentColor">{}</text><text x="{WIDTH}" y="{y}" font-size="11" fill="currentColor" text-anchor="end">{}</text>"#,
            escape(&first.start),
            escape(&last.start),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The chart in words: its span and its sums.
fn describe(points: &[TallyPoint], unit: &str) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return "No data.".to_owned();
    };
    let sum = |f: fn(&TallyPoint) -> i64| points.iter().map(f).sum::<i64>();
    format!(
        "{} {unit}s from {} to {}: {} clicks, {} leads, {} qualified.",
        points.len(),
        first.start,
        last.start,
        sum(PANELS[0].2),
        sum(PANELS[1].2),
        sum(PANELS[2].2),
    )
}

/// Escapes text for SVG (XML) content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Tally;

    fn point(start: &str, clicks: i64, leads: i64, qualified: i64) -> TallyPoint {
        TallyPoint {
            start: start.into(),
            tally: Tally {
                clicks,
                leads,
                qualified,
            },
        }
    }

    #[test]
    fn each_panel_scales_to_its_own_largest_value() {
        let svg = tally_chart(
            &[
                point("2026-12-01", 400, 2, 0),
                point("2026-12-02", 200, 4, 1),
            ],
            Period::Day,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("max 400") && svg.contains("max 4") && svg.contains("max 1"));
        // The 4 leads of the second day fill the leads panel: the full height.
        assert!(svg.contains(r##"height="64.0" fill="#4338ca"><title>2026-12-02: 4</title>"##));
        // No bar for a zero.
        assert!(!svg.contains("2026-12-01: 0"));
        assert!(
            svg.contains("2 days from 2026-12-01 to 2026-12-02: 600 clicks, 6 leads, 1 qualified.")
        );
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = tally_chart(&[], Period::Week);
        assert!(svg.contains("<desc id=\"tally-chart-desc\">No data.</desc>"));
        assert!(!svg.contains("<rect"));
    }
}
