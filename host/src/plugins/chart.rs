//! Renders an insight's time series as a self-contained SVG line chart (no
//! scripts, no external resources) with plotters' SVG backend. Text stays
//! `<text>` for the viewer to lay out, so no fonts are needed on the server.

use super::insight::Series;
use chrono::DateTime;
use plotters::prelude::*;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 360;
/// Room left of the plot for y labels and the axis title.
const Y_LABEL_AREA: u32 = 64;
/// Outer margin; the right one also leaves half a date label of room so the
/// last label is not cut off.
const MARGIN: u32 = 12;
const MARGIN_RIGHT: u32 = 32;
const X_LABEL_AREA: u32 = 28;
const FONT: &str = "sans-serif";
/// Rough width of one label character at 12px; sans-serif digits and
/// letters average below this, so labels spaced by it do not touch.
const CHAR_PX: f64 = 7.0;
const COLOURS: &[RGBColor] = &[
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0x93, 0x33, 0xea),
    RGBColor(0xea, 0x58, 0x0c),
];
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
const DAY_MS: i64 = 86_400_000;

/// Escapes text for SVG content.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest 1, 2 or 5 x 10^n that is at least `raw` (> 0).
pub fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A y axis covering `min..=max` with about `target` round ticks: returns the
/// range and the tick values (multiples of a 1/2/5 step). Quantities that
/// are never negative get no negative axis; a flat series gets room around
/// its value.
pub fn y_axis(min: f64, max: f64, target: usize) -> (f64, f64, Vec<f64>) {
    let (mut min, mut max) = (min, max);
    if max - min < 1e-9 {
        let pad = (min.abs() * 0.1).max(1.0);
        let non_negative = min >= 0.0;
        min -= pad;
        max += pad;
        if non_negative {
            min = min.max(0.0);
        }
    }
    let step = nice_step((max - min) / target.max(1) as f64);
    let lo_k = (min / step + 1e-9).floor();
    let hi_k = (max / step - 1e-9).ceil().max(lo_k + 1.0);
    let ticks: Vec<f64> = (0..=(hi_k - lo_k) as i64)
        // Multiplying integer multiples keeps 0.1 + 0.2 noise out of labels.
        .map(|i| (lo_k + i as f64) * step)
        .map(|v| if v == 0.0 { 0.0 } else { v })
        .collect();
    (lo_k * step, hi_k * step, ticks)
}

/// An axis label for `v` with just the decimals that `step` needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Short date labels: day and month over less than about eleven months,
/// month and two-digit year beyond ("Jun 8", "Jan 24").
pub fn date_label(at_ms: i64, span_ms: i64) -> String {
    let Some(t) = DateTime::from_timestamp_millis(at_ms) else {
        return String::new();
    };
    if span_ms < 330 * DAY_MS {
        t.format("%b %-d").to_string()
    } else {
        t.format("%b %y").to_string()
    }
}

/// Which labels to keep so none overlap: `labels` are (x position in px,
/// text) sorted by x; a label is kept when its left edge clears the previous
/// kept label's right edge by a gap, and repeats of the previous text are
/// dropped. The first label is always kept.
pub fn thin_labels(labels: &[(f64, String)], char_px: f64, gap_px: f64) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    let mut right_edge = f64::NEG_INFINITY;
    for (i, (x, text)) in labels.iter().enumerate() {
        let half = text.chars().count() as f64 * char_px / 2.0;
        let repeat = kept.last().is_some_and(|&k| labels[k].1 == *text);
        if !repeat && x - half >= right_edge + gap_px {
            kept.push(i);
            right_edge = x + half;
        }
    }
    kept
}

/// A series name made readable for the legend: "best-e1rm" -> "Best e1rm".
pub fn human_name(name: &str) -> String {
    let spaced = name.replace(['-', '_'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Renders `series` (sharing one time axis) with `title`.
pub fn render(title: &str, series: &[Series]) -> String {
    let mut svg = String::new();
    if draw(&mut svg, title, series).is_err() {
        // Drawing into a String cannot fail today; keep a valid document if it ever does.
        svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"><text x="{}" y="{}" text-anchor="middle">Chart unavailable</text></svg>"#,
            WIDTH / 2,
            HEIGHT / 2
        );
    }
    let svg = svg.trim_end().to_string();
    // An accessible name for the image, right after the root element opens.
    match svg.find(">\n") {
        Some(i) => format!(
            "{}<title>{}</title>{}",
            &svg[..=i],
            esc(title),
            &svg[i + 1..]
        ),
        None => svg,
    }
}

/// A value axis whose grid lines and labels sit exactly on `ticks`.
/// plotters' `with_key_points` on f64 loses the label formatter, hence this.
struct RoundTicks {
    inner: plotters::coord::types::RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for RoundTicks {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(out: &mut String, title: &str, series: &[Series]) -> DrawResult {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let finite = |s: &Series| -> Vec<(i64, f64)> {
        s.points
            .iter()
            .filter(|p| p.value.is_finite())
            .map(|p| (p.at_ms, p.value))
            .collect()
    };
    let lines: Vec<Vec<(i64, f64)>> = series.iter().map(finite).collect();
    let mut xs: Vec<i64> = lines.iter().flatten().map(|(x, _)| *x).collect();
    xs.sort_unstable();
    xs.dedup();
    let values = lines.iter().flatten().map(|(_, y)| *y);
    let (y_min, y_max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let empty = xs.is_empty();
    let (y_min, y_max) = if empty { (0.0, 1.0) } else { (y_min, y_max) };
    let (y_lo, y_hi, y_ticks) = y_axis(y_min, y_max, 5);
    let y_step = y_ticks
        .get(1)
        .zip(y_ticks.first())
        .map_or(1.0, |(b, a)| b - a);

    let (x_first, x_last) = match (xs.first(), xs.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0, DAY_MS),
    };
    // One point still needs a non-empty range; centre it.
    let (x_lo, x_hi) = if x_last > x_first {
        (x_first, x_last)
    } else {
        (x_first - DAY_MS, x_last + DAY_MS)
    };
    let span = x_hi - x_lo;
    let plot_w = f64::from(WIDTH - MARGIN - MARGIN_RIGHT - Y_LABEL_AREA);
    let candidates: Vec<(f64, String)> = xs
        .iter()
        .map(|&x| {
            let px = (x - x_lo) as f64 / span as f64 * plot_w;
            (px, date_label(x, span))
        })
        .collect();
    let x_ticks: Vec<i64> = thin_labels(&candidates, CHAR_PX, 12.0)
        .into_iter()
        .map(|i| xs[i])
        .collect();

    let mut units: Vec<&str> = Vec::new();
    for unit in series.iter().filter_map(|s| s.unit.as_deref()) {
        if !units.contains(&unit) {
            units.push(unit);
        }
    }
    let y_desc = units.join(", ");

    let (x_keys, y_keys) = (x_ticks.clone(), y_ticks.clone());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 16))
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            // Our own ticks (thinned dates, round values) instead of plotters'.
            (x_lo..x_hi).with_key_point_func(move |_| x_keys.clone()),
            RoundTicks {
                inner: (y_lo..y_hi).into(),
                ticks: y_keys,
            },
        )?;
    let x_fmt = |x: &i64| date_label(*x, span);
    let y_fmt = |y: &f64| tick_label(*y, y_step);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x_ticks.len())
        .y_labels(y_ticks.len())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 12).into_font().color(&MUTED))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        // The outermost grid lines frame the plot; plotters' own axis lines
        // would be <polyline>s, indistinguishable from series.
        .axis_style(TRANSPARENT);
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc).axis_desc_style((FONT, 12));
    }
    mesh.draw()?;

    for (i, (s, points)) in series.iter().zip(&lines).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(s.label.clone().unwrap_or_else(|| human_name(&s.name)))
            .legend(move |(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], colour.filled()));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .label_font((FONT, 12))
            .draw()?;
    }

    let flat = xs.len() > 1 && y_max - y_min < 1e-9;
    let message = if empty {
        Some("No data")
    } else if flat {
        Some("No change over this period")
    } else {
        None
    };
    if let Some(message) = message {
        let (w, h) = chart.plotting_area().dim_in_pixel();
        let (x0, y0) = (
            chart.plotting_area().get_base_pixel().0,
            chart.plotting_area().get_base_pixel().1,
        );
        let style = TextStyle::from((FONT, 14).into_font()).color(&MUTED).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        root.draw(&Text::new(
            message,
            (x0 + w as i32 / 2, y0 + h as i32 / 3),
            style,
        ))?;
    }
    root.present()?;
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::insight::Point;

    fn series(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.into(),
            label: None,
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
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("Bench &lt;Press&gt; &amp; co"));
        assert!(
            svg.contains("\nBest e1rm\n") && svg.contains("\nTop\n"),
            "{svg}"
        );
        assert!(svg.contains("\nkg\n"), "unit as y title: {svg}");
        for bad in ["<script", "href", "<image", "url(", "<foreignObject"] {
            assert!(!svg.contains(bad), "{bad}");
        }
    }

    #[test]
    fn empty_and_flat_series_render_with_a_message() {
        let empty = render("x", &[]);
        assert!(empty.contains("No data") && empty.ends_with("</svg>"));
        let one = render("x", &[series("s", &[5.0])]);
        assert_eq!(one.matches("<circle").count(), 1);
        assert!(!one.contains("NaN"));
        let flat = render("x", &[series("s", &[5.0, 5.0, 5.0])]);
        assert!(flat.contains("No change"), "{flat}");
        assert!(!flat.contains("\n-"), "no negative ticks: {flat}");
        let nothing_finite = render("x", &[series("s", &[f64::NAN])]);
        assert!(nothing_finite.contains("No data"));
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        for (raw, step) in [
            (0.7, 1.0),
            (1.0, 1.0),
            (1.3, 2.0),
            (2.6, 5.0),
            (7.0, 10.0),
            (0.013, 0.02),
            (340.0, 500.0),
        ] {
            assert!(
                (nice_step(raw) - step).abs() < 1e-12,
                "{raw} -> {}",
                nice_step(raw)
            );
        }
    }

    #[test]
    fn y_axis_ticks_are_round_and_never_negative_for_quantities() {
        let (lo, hi, ticks) = y_axis(97.5, 105.0, 5);
        assert_eq!((lo, hi), (96.0, 106.0));
        assert_eq!(ticks, vec![96.0, 98.0, 100.0, 102.0, 104.0, 106.0]);
        assert_eq!(tick_label(ticks[1], 2.0), "98");
        let (lo, _, ticks) = y_axis(0.2, 3.0, 5);
        assert_eq!(lo, 0.0);
        assert!(ticks.iter().all(|t| *t >= 0.0));
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
        // A flat small value must not pad below zero.
        let (lo, hi, _) = y_axis(0.5, 0.5, 5);
        assert!(lo >= 0.0 && hi > 0.5);
        // Real negatives keep a negative axis.
        let (lo, _, _) = y_axis(-3.0, 4.0, 5);
        assert!(lo <= -3.0);
    }

    #[test]
    fn date_labels_are_short_and_thinned_so_none_overlap() {
        let jun_8 = 1_780_876_800_000; // 2026-06-08
        assert_eq!(date_label(jun_8, 30 * DAY_MS), "Jun 8");
        assert_eq!(date_label(jun_8, 400 * DAY_MS), "Jun 26");
        // 52 weekly labels over 600 px: kept ones are at least their width apart.
        let labels: Vec<(f64, String)> = (0..52)
            .map(|i| (f64::from(i) * 600.0 / 51.0, format!("Jun {i}")))
            .collect();
        let kept = thin_labels(&labels, CHAR_PX, 12.0);
        assert_eq!(kept[0], 0);
        assert!(kept.len() > 3 && kept.len() < 15, "{kept:?}");
        for w in kept.windows(2) {
            let (a, b) = (&labels[w[0]], &labels[w[1]]);
            let half = |t: &str| t.len() as f64 * CHAR_PX / 2.0;
            assert!(b.0 - half(&b.1) >= a.0 + half(&a.1) + 12.0);
        }
        // Month labels repeat weekly; each month is shown once.
        let months: Vec<(f64, String)> = ["Jan 24", "Jan 24", "Feb 24"]
            .iter()
            .enumerate()
            .map(|(i, t)| (i as f64 * 200.0, (*t).to_string()))
            .collect();
        assert_eq!(thin_labels(&months, CHAR_PX, 12.0), vec![0, 2]);
    }

    #[test]
    fn the_plugins_label_names_the_series_in_the_legend() {
        let mut s = series("hard-sets", &[3.0, 5.0]);
        s.label = Some("Hard sets (RIR <= 3)".into());
        s.unit = Some("sets".into());
        let svg = render("Volume", &[s]);
        assert!(
            svg.contains("Hard sets (RIR &lt;= 3)"),
            "label in legend: {svg}"
        );
        assert!(
            !svg.contains("\nHard sets\n"),
            "not the derived name: {svg}"
        );
        assert!(svg.contains("\nsets\n"), "unit as y title: {svg}");
    }

    #[test]
    fn legend_names_are_readable() {
        assert_eq!(human_name("best-e1rm"), "Best e1rm");
        assert_eq!(human_name("top_set_weight"), "Top set weight");
        assert_eq!(human_name(""), "");
    }

    /// Rasterises the SVG (resvg has no fonts here, so text is skipped) and
    /// checks the pixels: the series colour is drawn, the image is not blank,
    /// and nothing lands outside the canvas.
    #[test]
    fn rasterised_chart_shows_the_line_inside_the_canvas() {
        use resvg::{tiny_skia, usvg};
        let weeks: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i % 7) * 2.5).collect();
        let svg = render("Bench", &[series("best-e1rm", &weeks)]);
        let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
        let pad = 40;
        let mut pixmap = tiny_skia::Pixmap::new(WIDTH + 2 * pad, HEIGHT + 2 * pad).unwrap();
        resvg::render(
            &tree,
            tiny_skia::Transform::from_translate(pad as f32, pad as f32),
            &mut pixmap.as_mut(),
        );
        let w = pixmap.width();
        let mut line = 0;
        let mut non_white = 0;
        for (i, p) in pixmap.pixels().iter().enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            let inside = (pad..pad + WIDTH).contains(&x) && (pad..pad + HEIGHT).contains(&y);
            if !inside {
                assert_eq!(p.alpha(), 0, "drawn outside the canvas at {x},{y}");
                continue;
            }
            if (p.red(), p.green(), p.blue()) == (0x25, 0x63, 0xeb) {
                line += 1;
            }
            if (p.red(), p.green(), p.blue()) != (255, 255, 255) {
                non_white += 1;
            }
        }
        assert!(line > 500, "series colour drawn: {line} px");
        assert!(non_white > 2_000, "not blank: {non_white} px");
    }
}
