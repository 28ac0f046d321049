//! Server-rendered SVG charts for the analytics page: a line chart of one or more series over
//! labelled points, a doughnut of shares, horizontal bars. Each is an inline `<svg
//! role="img">` with an `aria-label` that says its numbers, a `<title>`, a `<title>` on every
//! point, slice and bar (a tooltip), and text escaped by maud; colours come as attributes (a
//! stage's colour) or classes that `app.css` paints, never `style`, which the
//! Content-Security-Policy refuses. The page puts each chart's numbers beside it in a table.
//! Every SVG element is closed (`{}` in maud): inside `<svg>` the HTML parser keeps an
//! unclosed `<line>` open, and what follows would become its child.
//!
//! Why no chart crate (evaluated for issue 13): plotters 0.3.7 (its latest release, 2024)
//! lays out text through a font backend. Without one (`default-features = false`) its SVG
//! backend estimates a label's width from its UTF-8 byte length, so every Cyrillic label is
//! measured twice as wide as it is; with one it needs the system's fonts (`ttf`: font-kit and
//! fontconfig, absent on a server) or a font file compiled in and registered (`ab_glyph`),
//! and it writes no `role`, `aria-label` or `<title>`. charts-rs measures text with a Roboto
//! font it compiles in (fontdue), and writes `font-family="Roboto"` labels sized for that
//! font rather than the page's; its API changed in each of its 2026 releases (0.3 to 1.0 in
//! two months, one maintainer). The four charts here need about 300 lines without text
//! measurement: labels are anchored (`text-anchor`) in fixed gutters, so any language
//! fits, and the binary grows by nothing measurable.

use maud::{Markup, html};

/// The drawing's size in user units (it scales to its box).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
/// The plot area of line charts: left gutter for the axis' numbers, bottom one for labels.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 624.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 224.0;

/// One line of a line chart: its name (the legend, each point's tooltip) and one value per
/// label.
#[derive(Debug, Clone)]
pub struct Series {
    /// The name.
    pub name: String,
    /// One value per label.
    pub values: Vec<i64>,
}

/// One slice of a doughnut or one bar: its label, its value and, for slices, its colour
/// (`#rrggbb`, as the settings store it; `None` takes the palette's).
#[derive(Debug, Clone)]
pub struct Share {
    /// The label.
    pub label: String,
    /// The value.
    pub value: u64,
    /// The colour.
    pub color: Option<String>,
}

/// The axis' top: the smallest of 1, 2, 2.5, 5 times a power of ten at or above `max`.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut power = 1i64;
    while power.saturating_mul(10) <= max {
        power = power.saturating_mul(10);
    }
    for step in [1, 2, 5, 10] {
        let candidate = power.saturating_mul(step);
        if candidate >= max {
            return candidate;
        }
    }
    power.saturating_mul(10)
}

fn round(value: f64) -> String {
    format!("{:.1}", value)
}

/// A line chart: one polyline per series over `labels`, the y axis from 0 to a round top with
/// three gridlines, every point with a tooltip (`label, series: value`). `format` writes a
/// value as the axis and tooltips show it; `summary` is the `aria-label` (the numbers in
/// words, written by the caller).
pub fn line_chart(
    id: &str,
    title: &str,
    summary: &str,
    labels: &[String],
    series: &[Series],
    format: &dyn Fn(i64) -> String,
) -> Markup {
    let max = series
        .iter()
        .flat_map(|line| line.values.iter().copied())
        .max()
        .unwrap_or(0);
    let top = nice_ceiling(max);
    let count = labels.len().max(1);
    let step = if count > 1 {
        (RIGHT - LEFT) / (count - 1) as f64
    } else {
        0.0
    };
    let x = |index: usize| LEFT + step * index as f64;
    let y = |value: i64| BOTTOM - (BOTTOM - TOP) * (value.max(0) as f64 / top as f64);
    html! {
        svg.chart.line-chart id=(id) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            role="img" aria-label=(summary) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for quarter in 0..=4i64 {
                @let value = top * quarter / 4;
                line.grid x1=(LEFT) x2=(RIGHT) y1=(round(y(value))) y2=(round(y(value))) {}
                text.axis x=(LEFT - 6.0) y=(round(y(value) + 4.0)) text-anchor="end" { (format(value)) }
            }
            @for (index, label) in labels.iter().enumerate() {
                text.axis x=(round(x(index))) y=(BOTTOM + 18.0) text-anchor="middle" { (label) }
            }
            @for (number, line) in series.iter().enumerate() {
                @let points = line.values.iter().enumerate()
                    .map(|(index, value)| format!("{},{}", round(x(index)), round(y(*value))))
                    .collect::<Vec<_>>().join(" ");
                g class={ "series series-" (number) } {
                    polyline fill="none" points=(points) {}
                    @for (index, value) in line.values.iter().enumerate() {
                        circle cx=(round(x(index))) cy=(round(y(*value))) r="3.5" {
                            title { (labels.get(index).map(String::as_str).unwrap_or("")) ", " (line.name) ": " (format(*value)) }
                        }
                    }
                }
            }
            @if series.len() > 1 {
                @for (number, line) in series.iter().enumerate() {
                    @let left = LEFT + 160.0 * number as f64;
                    g class={ "legend series series-" (number) } {
                        line x1=(left) x2=(left + 18.0) y1=(HEIGHT - 8.0) y2=(HEIGHT - 8.0) {}
                        text x=(left + 24.0) y=(HEIGHT - 4.0) { (line.name) }
                    }
                }
            }
        }
    }
}

/// The palette for slices without a colour of their own.
const PALETTE: [&str; 8] = [
    "#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
];

/// A doughnut: each share a ring segment (a dashed circle, so no arc arithmetic) with its
/// tooltip, and a legend of labels with their values at the right. An empty total draws an
/// empty ring.
pub fn doughnut(id: &str, title: &str, summary: &str, shares: &[Share]) -> Markup {
    let total: u64 = shares.iter().map(|share| share.value).sum();
    let (cx, cy, r) = (130.0, 130.0, 90.0);
    let circumference = 2.0 * std::f64::consts::PI * r;
    let mut offset = 0.0;
    let mut segments = Vec::new();
    for (index, share) in shares.iter().enumerate() {
        if share.value == 0 || total == 0 {
            continue;
        }
        let length = circumference * share.value as f64 / total as f64;
        let color = share
            .color
            .clone()
            .unwrap_or_else(|| PALETTE[index % PALETTE.len()].to_string());
        segments.push((share, length, offset, color));
        offset += length;
    }
    html! {
        svg.chart.doughnut id=(id) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            role="img" aria-label=(summary) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            circle.ring cx=(cx) cy=(cy) r=(r) fill="none" stroke-width="36" {}
            @for (share, length, offset, color) in &segments {
                circle cx=(cx) cy=(cy) r=(r) fill="none" stroke=(color) stroke-width="36"
                    stroke-dasharray={ (round(*length)) " " (round(circumference - length)) }
                    stroke-dashoffset=(round(-offset))
                    transform={ "rotate(-90 " (cx) " " (cy) ")" } {
                    title { (share.label) ": " (share.value) }
                }
            }
            text.total x=(cx) y=(cy + 8.0) text-anchor="middle" { (total) }
            @for (index, share) in shares.iter().enumerate() {
                @let top = 28.0 + 22.0 * index as f64;
                @let color = share.color.clone().unwrap_or_else(|| PALETTE[index % PALETTE.len()].to_string());
                rect x="270" y=(top - 11.0) width="14" height="14" fill=(color) {}
                text x="292" y=(top) { (share.label) ": " (share.value) }
            }
        }
    }
}

/// Horizontal bars, one per share, longest first as given, each with its label at the left
/// (anchored at the gutter's end) and its value after the bar.
pub fn bars(id: &str, title: &str, summary: &str, shares: &[Share]) -> Markup {
    let max = shares
        .iter()
        .map(|share| share.value)
        .max()
        .unwrap_or(0)
        .max(1);
    let row = 24.0;
    let height = (shares.len() as f64 * row + 16.0).max(40.0);
    let (left, right) = (180.0, RIGHT - 60.0);
    html! {
        svg.chart.bars id=(id) viewBox={ "0 0 " (WIDTH) " " (round(height)) }
            role="img" aria-label=(summary) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (index, share) in shares.iter().enumerate() {
                @let top = 8.0 + row * index as f64;
                @let width = (right - left) * share.value as f64 / max as f64;
                text.axis x=(left - 8.0) y=(top + 15.0) text-anchor="end" { (share.label) }
                rect.bar x=(left) y=(top + 3.0) width=(round(width.max(1.0))) height="16" {
                    title { (share.label) ": " (share.value) }
                }
                text.value x=(round(left + width + 6.0)) y=(top + 15.0) { (share.value) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_largest_value() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(10), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(180_000), 200_000);
        assert_eq!(nice_ceiling(210_000), 500_000);
    }

    #[test]
    fn labels_are_escaped_and_every_chart_is_an_image_with_a_title_and_a_label() {
        let shares = [Share {
            label: "<script>alert(1)</script> & Co".into(),
            value: 3,
            color: None,
        }];
        for markup in [
            doughnut("d", "Stages <b>", "3 orders", &shares),
            bars("b", "Packages", "3 orders", &shares),
            line_chart(
                "l",
                "Revenue",
                "a & b",
                &["<i>Jan</i>".to_string()],
                &[Series {
                    name: "Rev\"enue".into(),
                    values: vec![5],
                }],
                &|value| value.to_string(),
            ),
        ] {
            let text = markup.into_string();
            assert!(text.contains("role=\"img\""), "{text}");
            assert!(text.contains("aria-label=\""), "{text}");
            assert!(text.contains("<title>"), "{text}");
            assert!(!text.contains("<script>"), "{text}");
            assert!(!text.contains("<i>"), "{text}");
            assert!(!text.contains("style="), "{text}");
            // Every element is closed: no void `<line ...>` that would swallow what follows.
            for tag in ["line", "rect", "circle", "polyline"] {
                assert_eq!(
                    text.matches(&format!("<{tag} ")).count(),
                    text.matches(&format!("</{tag}>")).count(),
                    "{tag}: {text}"
                );
            }
        }
    }
}
