//! Renders an insight's time series as a self-contained SVG line chart (no
//! scripts, no external resources).

use super::insight::Series;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
const COLOURS: &[&str] = &["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"];

/// Escapes text for SVG content and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A readable number for an axis label.
fn tick_label(v: f64) -> String {
    if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Renders `series` (sharing one time axis) with `title`.
pub fn render(title: &str, series: &[Series]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12"><title>{t}</title><rect width="100%" height="100%" fill="#ffffff"/><text x="{LEFT}" y="22" font-size="15" font-weight="bold">{t}</text>"##,
        t = esc(title)
    );
    let points: Vec<(i64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| (p.at_ms, p.value)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    if points.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#6b7280">No data</text></svg>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return svg;
    }
    let (x_min, x_max) = points
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), (x, _)| {
            (lo.min(*x), hi.max(*x))
        });
    let (mut y_min, mut y_max) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
            (lo.min(*y), hi.max(*y))
        });
    if y_max - y_min < 1e-9 {
        y_min -= 1.0;
        y_max += 1.0;
    }
    let pad = (y_max - y_min) * 0.08;
    let (y_min, y_max) = (y_min - pad, y_max + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let sx = |x: i64| {
        if x_max == x_min {
            LEFT + plot_w / 2.0
        } else {
            LEFT + (x - x_min) as f64 / (x_max - x_min) as f64 * plot_w
        }
    };
    let sy = |y: f64| TOP + (y_max - y) / (y_max - y_min) * plot_h;

    // Axes and horizontal grid lines with value labels.
    for i in 0..=4 {
        let v = y_min + (y_max - y_min) * f64::from(i) / 4.0;
        let y = sy(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            tick_label(v)
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b:.1}" stroke="#374151"/><line x1="{LEFT}" y1="{b:.1}" x2="{:.1}" y2="{b:.1}" stroke="#374151"/>"##,
        WIDTH - RIGHT,
        b = TOP + plot_h
    );
    // Time labels: first, last and up to four between, from the first series' labels.
    if let Some(first) = series.iter().find(|s| !s.points.is_empty()) {
        let n = first.points.len();
        let step = n.div_ceil(6).max(1);
        for (i, p) in first.points.iter().enumerate() {
            if i % step == 0 || i == n - 1 {
                let _ = write!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#374151">{}</text>"##,
                    sx(p.at_ms),
                    TOP + plot_h + 18.0,
                    esc(&p.label)
                );
            }
        }
    }
    // One polyline with dots per series, and a legend.
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let coords: Vec<String> = s
            .points
            .iter()
            .filter(|p| p.value.is_finite())
            .map(|p| format!("{:.1},{:.1}", sx(p.at_ms), sy(p.value)))
            .collect();
        let _ = write!(
            svg,
            r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
            coords.join(" ")
        );
        for c in &coords {
            let (x, y) = c.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                svg,
                r##"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"##
            );
        }
        let lx = LEFT + 160.0 * i as f64;
        let ly = HEIGHT - 12.0;
        let unit = s
            .unit
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        let _ = write!(
            svg,
            r##"<rect x="{lx:.1}" y="{:.1}" width="12" height="4" fill="{colour}"/><text x="{:.1}" y="{ly:.1}">{}</text>"##,
            ly - 6.0,
            lx + 16.0,
            esc(&format!("{}{unit}", s.name))
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::insight::Point;

    fn series(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.into(),
            unit: Some("kg".into()),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    at: String::new(),
                    at_ms: i as i64 * 604_800_000,
                    label: format!("w{i}"),
                    value: *v,
                })
                .collect(),
        }
    }

    #[test]
    fn draws_one_polyline_per_series_and_escapes_text() {
        let svg = render(
            "Bench <Press> & co",
            &[
                series("best-e1rm", &[100.0, 102.5, 105.0]),
                series("top", &[90.0, 95.0, 97.5]),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("Bench &lt;Press&gt; &amp; co"));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn empty_and_flat_series_render() {
        assert!(render("x", &[]).contains("No data"));
        let flat = render("x", &[series("s", &[5.0])]);
        assert_eq!(flat.matches("<circle").count(), 1);
        assert!(!flat.contains("NaN"));
    }
}
