//! `rivsim compare` outputs (DESIGN.md §8): `compare.csv`, `compare_km.csv` and a plot of worse-than-V
//! kilometres over time per alternative. The runs themselves are made in `pipeline::compare`.

use crate::report::iso_time;
use crate::targets::{Class, ClassKm, ZoneAssessment};
use chrono::NaiveDateTime;
use plotters::prelude::*;
use std::fmt::Write;

/// What one alternative's run produced, for the comparison tables.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// `baseline`, `all`, or an `[[alternatives]]` id.
    pub alternative: String,
    /// Zone results of the assessment period ([`crate::targets::Assessment::zone_rows`]): one per zone over
    /// the whole run, or per zone and calendar year.
    pub zones: Vec<ZoneAssessment>,
    /// With `[assessment] period = "year"`: per calendar year, kilometres per class of the year-mean
    /// concentrations; empty otherwise.
    pub years_km: Vec<(i32, ClassKm)>,
    /// Output times, seconds since start.
    pub times_s: Vec<f64>,
    /// Kilometres per class at each output time.
    pub km: Vec<ClassKm>,
}

/// `compare.csv`: `alternative,zone,year,class,compliant,compliance_rate`, one row per alternative per zone
/// and assessment period (`year` is `run`, or the calendar year with `[assessment] period = "year"`, DESIGN.md
/// §11; class `-` when a zone has no sample).
pub fn compare_csv(outcomes: &[CompareOutcome]) -> String {
    let mut s = String::from("alternative,zone,year,class,compliant,compliance_rate\n");
    for o in outcomes {
        for z in &o.zones {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{}",
                crate::report::csv_field(&o.alternative),
                crate::report::csv_field(&z.id),
                z.year,
                z.class.map_or("-", Class::name),
                crate::targets::compliant_cell(z.compliant),
                z.compliance_rate
            );
        }
    }
    s
}

/// `compare_years.csv` (with `[assessment] period = "year"`): `alternative,year,zones_compliant,zones,I,II,III,
/// IV,V,V+` — per alternative and calendar year, the zones meeting their target and the kilometres per class of
/// the year-mean concentrations. `None` when the scenario assesses the whole run.
pub fn compare_years_csv(outcomes: &[CompareOutcome]) -> Option<String> {
    if outcomes.iter().all(|o| o.years_km.is_empty()) {
        return None;
    }
    let mut s = String::from("alternative,year,zones_compliant,zones,I,II,III,IV,V,V+\n");
    for o in outcomes {
        for (y, km) in &o.years_km {
            let of_year = o
                .zones
                .iter()
                .filter(|z| z.year == crate::targets::PeriodKey::Year(*y));
            let (ok, n) = crate::targets::compliant_count(of_year);
            let _ = write!(
                s,
                "{},{y},{ok},{n}",
                crate::report::csv_field(&o.alternative)
            );
            for v in km.km {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
    }
    Some(s)
}

/// `compare_km.csv`: `alternative,time,I,II,III,IV,V,V+`, one row per alternative per output time.
pub fn compare_km_csv(start: NaiveDateTime, outcomes: &[CompareOutcome]) -> String {
    let mut s = String::from("alternative,time,I,II,III,IV,V,V+\n");
    for o in outcomes {
        for (t, k) in o.times_s.iter().zip(&o.km) {
            let _ = write!(
                s,
                "{},{}",
                crate::report::csv_field(&o.alternative),
                iso_time(start, *t)
            );
            for v in k.km {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
    }
    s
}

/// Draw worse-than-V kilometres against the date, one line per alternative, as an SVG text. Every line stays
/// visible where alternatives coincide: each is drawn in its own colour ([`crate::colors::distinct`]) and
/// narrower than the one before it (the first 2·n px wide, the last 2 px), so coinciding lines show as nested
/// bands, each colour at the edges of the next.
pub fn plot_worse_than_v(
    title: &str,
    start: NaiveDateTime,
    outcomes: &[CompareOutcome],
) -> Result<String, String> {
    crate::fonts::register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, title, start, outcomes)?;
    }
    Ok(crate::fonts::embed_in_svg(&svg))
}

/// The same plot as a PNG file at `path`, drawn to a temporary sibling and renamed over it.
pub fn plot_worse_than_v_png(
    path: &std::path::Path,
    title: &str,
    start: NaiveDateTime,
    outcomes: &[CompareOutcome],
) -> Result<(), String> {
    crate::fonts::register();
    crate::report::plot::png_via_partial(path, SIZE, |root| draw(root, title, start, outcomes))
}

/// The stroke width of alternative `k` of `n`, px: 2·(n − k), so the first is the widest.
pub fn line_width(k: usize, n: usize) -> u32 {
    2 * (n.saturating_sub(k)).max(1) as u32
}

const SIZE: (u32, u32) = (1000, 560);

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    start: NaiveDateTime,
    outcomes: &[CompareOutcome],
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let t_max = outcomes
        .iter()
        .flat_map(|o| o.times_s.iter().copied())
        .fold(0.0_f64, f64::max)
        / 86_400.0;
    let y_max = outcomes
        .iter()
        .flat_map(|o| o.km.iter().map(|k| k.worse_than_v()))
        .fold(0.0_f64, f64::max);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max.max(1.0), 0.0..(y_max * 1.1).max(1.0))
        .map_err(e)?;
    let date = |d: &f64| {
        (start + chrono::TimeDelta::seconds((d * 86_400.0).round() as i64))
            .format("%Y-%m-%d")
            .to_string()
    };
    chart
        .configure_mesh()
        .x_desc("date")
        .x_label_formatter(&date)
        .x_labels(8)
        .y_desc("km worse than class V")
        .draw()
        .map_err(e)?;
    let palette = crate::colors::distinct(outcomes.len());
    let n = outcomes.len();
    for (k, o) in outcomes.iter().enumerate() {
        let (r, g, b) = palette[k];
        let color = RGBColor(r, g, b).to_rgba();
        let width = line_width(k, n);
        let pts: Vec<(f64, f64)> = o
            .times_s
            .iter()
            .zip(&o.km)
            .map(|(t, km)| (t / 86_400.0, km.worse_than_v()))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(width)))
            .map_err(e)?
            .label(o.alternative.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width.min(8)))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
