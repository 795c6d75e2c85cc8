//! The HTML report: one self-contained page — the figures as tables and four SVG charts drawn
//! with `plotters` (equity, drawdown, positions, fills over price). No scripts, no external
//! files.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use super::Report;

const W: u32 = 960;
const H: u32 = 320;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// Drawing a chart failed.
    #[error("drawing the {chart} chart: {reason}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// Why.
        reason: String,
    },
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn chart_err(chart: &'static str) -> impl Fn(String) -> HtmlError {
    move |reason| HtmlError::Chart { chart, reason }
}

/// (min, max) of `values`, widened when flat or empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs().max(1e-9) * 1e-6);
    (lo - pad, hi + pad)
}

type Series<'a> = Vec<(&'a str, RGBColor, Vec<(f64, f64)>)>;

/// One line chart (x: seconds since the first sample) as an SVG string.
fn line_chart(
    title: &'static str,
    y_label: &str,
    series: &Series<'_>,
) -> Result<String, HtmlError> {
    let err = chart_err(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let xs = range(series.iter().flat_map(|s| s.2.iter().map(|p| p.0)));
        let ys = range(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("event time, s")
            .y_desc(y_label)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (name, color, points) in series {
            let c = *color;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c))
                .map_err(|e| err(e.to_string()))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c));
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// Fills of instrument `i` (buy green, sell red) over its mark price.
fn fills_chart(r: &Report, i: usize) -> Result<String, HtmlError> {
    let err = chart_err("fills over price");
    let t0 = r.samples.first().map_or(0, |s| s.ts_ns);
    let secs = |ts: i64| (ts - t0) as f64 / 1e9;
    let marks: Vec<(f64, f64)> = r
        .samples
        .iter()
        .filter_map(|s| {
            s.instruments
                .get(i)
                .and_then(|p| p.2)
                .map(|m| (secs(s.ts_ns), m))
        })
        .collect();
    let fills: Vec<_> = r.fill_points.iter().filter(|f| f.instrument == i).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let xs = range(
            marks
                .iter()
                .map(|p| p.0)
                .chain(fills.iter().map(|f| secs(f.ts_ns))),
        );
        let ys = range(
            marks
                .iter()
                .map(|p| p.1)
                .chain(fills.iter().map(|f| f.price)),
        );
        let title = format!("{}: fills over the mark price", r.instruments[i].symbol);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("event time, s")
            .y_desc("price")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new(marks.iter().copied(), BLACK.mix(0.5)))
            .map_err(|e| err(e.to_string()))?;
        for (buy, color) in [(true, GREEN), (false, RED)] {
            chart
                .draw_series(
                    fills
                        .iter()
                        .filter(|f| f.buy == buy)
                        .map(|f| Circle::new((secs(f.ts_ns), f.price), 2, color.filled())),
                )
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page for `r`, titled `title`.
pub fn render_html(r: &Report, title: &str) -> Result<String, HtmlError> {
    let t0 = r.samples.first().map_or(0, |s| s.ts_ns);
    let secs = |ts: i64| (ts - t0) as f64 / 1e9;
    let equity: Vec<(f64, f64)> = r.samples.iter().map(|s| (secs(s.ts_ns), s.net)).collect();
    let mut peak = 0f64;
    let drawdown: Vec<(f64, f64)> = r
        .samples
        .iter()
        .map(|s| {
            peak = peak.max(s.net);
            (secs(s.ts_ns), s.net - peak)
        })
        .collect();
    let positions: Series<'_> = r
        .instruments
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let pts = r
                .samples
                .iter()
                .filter_map(|s| s.instruments.get(i).map(|p| (secs(s.ts_ns), p.0)))
                .collect();
            (inst.symbol.as_str(), PALETTE[i % PALETTE.len()], pts)
        })
        .collect();
    let mut charts = vec![
        line_chart(
            "equity (net PnL)",
            "currency",
            &vec![("net", PALETTE[0], equity)],
        )?,
        line_chart(
            "drawdown",
            "currency",
            &vec![("drawdown", PALETTE[3], drawdown)],
        )?,
        line_chart("position", "units", &positions)?,
    ];
    // A fills chart per instrument that has fills (no empty axes), the first six.
    let filled =
        (0..r.instruments.len()).filter(|&i| r.fill_points.iter().any(|f| f.instrument == i));
    for i in filled.take(6) {
        charts.push(fills_chart(r, i)?);
    }

    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:2em;}}table{{border-collapse:collapse;}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;}}\
         th:first-child,td:first-child{{text-align:left;}}pre{{background:#f6f6f6;padding:1em;}}\
         </style></head><body>\n<h1>{t}</h1>\n<pre>{summary}</pre>\n",
        t = escape(title),
        summary = escape(&r.to_string())
    );
    h.push_str(
        "<h2>Per instrument</h2>\n<table><tr><th>instrument</th><th>orders</th><th>fills</th>\
         <th>fill ratio</th><th>turnover</th><th>position</th><th>realised</th>\
         <th>unrealised</th><th>fees paid</th><th>rebates</th><th>net fees</th><th>net</th></tr>\n",
    );
    for i in &r.instruments {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.4}</td>\
             <td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td>\
             </tr>",
            escape(&i.symbol),
            i.orders,
            i.fills,
            i.fill_ratio
                .map_or_else(|| "–".to_owned(), |f| format!("{:.1}%", f * 100.0)),
            i.turnover,
            i.position,
            i.realised,
            i.unrealised,
            i.fees_paid,
            i.rebates,
            i.fees,
            i.net
        );
    }
    h.push_str("</table>\n");
    if let Some(q) = &r.queue {
        let v = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |x| format!("{x}"));
        let _ = write!(
            h,
            "<h2>Resting fills and queue positions</h2>\n<table><tr><th>fills from the queue</th>\
             <th>traded through</th><th>position at entry unknown</th><th>ahead at entry, median</th>\
             <th>p90</th><th>ahead before the fill, median</th><th>p90</th></tr>\n\
             <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n\
             </table>\n<p>Quantities in instrument units; one row per fill in \
             <code>queue_fills.csv</code>.</p>\n",
            q.queue_fills,
            q.through_fills,
            q.entry_unknown,
            v(q.entry_median),
            v(q.entry_p90),
            v(q.fill_median),
            v(q.fill_p90),
        );
    }
    h.push_str("<h2>Charts</h2>\n");
    for svg in charts {
        h.push_str("<div>");
        h.push_str(&svg);
        h.push_str("</div>\n");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes the page for `r` to `path`.
pub fn write_html(r: &Report, title: &str, path: &Path) -> Result<(), HtmlError> {
    let page = render_html(r, title)?;
    std::fs::write(path, page).map_err(|source| HtmlError::Io {
        path: path.display().to_string(),
        source,
    })
}
