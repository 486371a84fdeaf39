//! `rivsim compare` outputs (DESIGN.md §8): `compare.csv`, `compare_km.csv` and a plot of worse-than-V
//! kilometres over time per alternative. The runs themselves are made in `pipeline::compare`.

use crate::report::iso_time;
use crate::targets::{Class, ClassKm, ZoneAssessment};
use chrono::NaiveDateTime;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::fmt::Write;

/// What one alternative's run produced, for the comparison tables.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// `baseline`, `all`, or an `[[alternatives]]` id.
    pub alternative: String,
    /// Zone results, in model order.
    pub zones: Vec<ZoneAssessment>,
    /// Output times, seconds since start.
    pub times_s: Vec<f64>,
    /// Kilometres per class at each output time.
    pub km: Vec<ClassKm>,
}

/// `compare.csv`: `alternative,zone,class,compliant,compliance_rate`, one row per alternative per zone (class
/// `-` when a zone has no sample).
pub fn compare_csv(outcomes: &[CompareOutcome]) -> String {
    let mut s = String::from("alternative,zone,class,compliant,compliance_rate\n");
    for o in outcomes {
        for z in &o.zones {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                crate::report::csv_field(&o.alternative),
                crate::report::csv_field(&z.id),
                z.class.map_or("-", Class::name),
                z.compliant,
                z.compliance_rate
            );
        }
    }
    s
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

/// Draw worse-than-V kilometres against time (days since start), one line per alternative, as an SVG text.
pub fn plot_worse_than_v(title: &str, outcomes: &[CompareOutcome]) -> Result<String, String> {
    fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, title, outcomes)?;
    }
    Ok(svg)
}

/// The same plot as a PNG file at `path`, drawn to a temporary sibling and renamed over it.
pub fn plot_worse_than_v_png(
    path: &std::path::Path,
    title: &str,
    outcomes: &[CompareOutcome],
) -> Result<(), String> {
    fonts();
    crate::report::plot::png_via_partial(path, SIZE, |root| draw(root, title, outcomes))
}

const SIZE: (u32, u32) = (1000, 560);

fn fonts() {
    // compiled-in font bytes: registration fails only on a corrupt font; text would then be left out
    let _ =
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
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
    chart
        .configure_mesh()
        .x_desc("days since start")
        .y_desc("km worse than class V")
        .draw()
        .map_err(e)?;
    for (k, o) in outcomes.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let pts: Vec<(f64, f64)> = o
            .times_s
            .iter()
            .zip(&o.km)
            .map(|(t, km)| (t / 86_400.0, km.worse_than_v()))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(e)?
            .label(o.alternative.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
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
