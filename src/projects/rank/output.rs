//! `rivsim rank` outputs (DESIGN.md §8): `rank.csv`, `portfolio.json`, `rank.json` (everything, with the
//! superposition check) and the objective-versus-cost plot (`rank_curve.svg` / `.png`).

use super::{Objective, RankOutcome};
use crate::report::csv_field;
use plotters::prelude::*;
use std::fmt::Write;

/// `rank.csv`: `project,cost,benefit,benefit_per_cost,greedy_order` (the contract), then the project's
/// metrics alone (`zones_compliant,compliance_rate_sum,worse_than_v_km,load_t`) and `response` (`tagged`,
/// `flow_state` or `full_run`); rows in greedy
/// order. `benefit_per_cost` of a zero-cost project is `inf`, `-inf` or `0` (see `search`).
pub fn rank_csv(o: &RankOutcome) -> String {
    let mut s = String::from(
        "project,cost,benefit,benefit_per_cost,greedy_order,zones_compliant,compliance_rate_sum,\
         worse_than_v_km,load_t,response\n",
    );
    let mut rows: Vec<&super::ProjectRank> = o.projects.iter().collect();
    rows.sort_by_key(|r| r.greedy_order);
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&r.id),
            r.cost,
            r.benefit,
            r.benefit_per_cost,
            r.greedy_order,
            r.alone.zones_compliant,
            r.alone.compliance_rate_sum,
            r.alone.worse_than_v_km,
            r.alone.load_t,
            match r.response {
                super::Response::Tagged => "tagged",
                super::Response::FlowState => "flow_state",
                super::Response::FullRun => "full_run",
            }
        );
    }
    s
}

/// `portfolio.json`: `{ "objective", "budget", "projects", "cost", "benefit" }` plus the portfolio's metrics,
/// the search method, the evaluations and whether it is proven optimal.
pub fn portfolio_json(o: &RankOutcome) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&o.optimum)
}

/// `rank.json`: the whole [`RankOutcome`] (infinite ratios are written as `null`).
pub fn rank_json(o: &RankOutcome) -> serde_json::Result<String> {
    serde_json::to_string_pretty(o)
}

const SIZE: (u32, u32) = (1000, 600);

/// The objective's natural quantity for the plot's y axis.
fn y_of(obj: Objective, m: &super::Metrics) -> f64 {
    match obj {
        Objective::Compliance => m.zones_compliant as f64 + (m.value - m.value.floor()),
        Objective::WorseThanVKm => m.worse_than_v_km,
        Objective::Load => m.load_t,
    }
}

fn y_label(obj: Objective) -> &'static str {
    match obj {
        Objective::Compliance => "compliant zones (+ rate tie-break)",
        Objective::WorseThanVKm => "km worse than class V (period mean)",
        Objective::Load => "load at assessment sections, t",
    }
}

/// The plot as SVG text: the greedy path (cumulative cost → objective), the optimum under the budget, and
/// the best value at each cost (the frontier) when it was enumerated.
pub fn plot_svg(title: &str, obj: Objective, o: &RankOutcome) -> Result<String, String> {
    crate::fonts::register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, title, obj, o)?;
    }
    Ok(crate::fonts::embed_in_svg(&svg))
}

/// The same plot as a PNG file at `path`, drawn to a temporary sibling and renamed over it.
pub fn plot_png(
    path: &std::path::Path,
    title: &str,
    obj: Objective,
    o: &RankOutcome,
) -> Result<(), String> {
    crate::fonts::register();
    crate::report::plot::png_via_partial(path, SIZE, |root| draw(root, title, obj, o))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    obj: Objective,
    o: &RankOutcome,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let base_y = y_of(obj, &o.baseline);
    let mut path: Vec<(f64, f64)> = vec![(0.0, base_y)];
    path.extend(o.greedy.iter().map(|s| (s.cost, y_of(obj, &s.metrics))));
    // frontier benefits are differences of V; turn them back into the plotted quantity
    let to_y = |benefit: f64| -> f64 {
        match obj {
            Objective::Compliance => o.baseline.value + benefit,
            Objective::WorseThanVKm | Objective::Load => base_y - benefit,
        }
    };
    let front: Vec<(f64, f64)> = o.frontier.iter().map(|&(c, b)| (c, to_y(b))).collect();
    let opt = (o.optimum.cost, y_of(obj, &o.optimum.metrics));
    let xs = path.iter().chain(&front).map(|p| p.0).chain([opt.0]);
    let x_max = xs.fold(0.0_f64, f64::max).max(1e-9) * 1.05;
    let ys: Vec<f64> = path
        .iter()
        .chain(&front)
        .map(|p| p.1)
        .chain([opt.1])
        .collect();
    let y_lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let y_hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((y_hi - y_lo) * 0.08).max(0.5);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (y_lo - pad)..(y_hi + pad))
        .map_err(e)?;
    let unit = o.cost_unit.clone().unwrap_or_else(|| "cost".into());
    chart
        .configure_mesh()
        .x_desc(format!("cumulative cost ({unit})"))
        .y_desc(y_label(obj))
        .draw()
        .map_err(e)?;
    if !front.is_empty() {
        // best value for each budget: a step that rises at each frontier point
        let mut steps: Vec<(f64, f64)> = Vec::with_capacity(2 * front.len() + 1);
        for (k, &(c, y)) in front.iter().enumerate() {
            if k > 0 {
                steps.push((c, steps.last().map_or(y, |p| p.1)));
            }
            steps.push((c, y));
        }
        steps.push((x_max, steps.last().map_or(base_y, |p| p.1)));
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new(steps, grey.stroke_width(2)))
            .map_err(e)?
            .label("best portfolio for each budget (exhaustive)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2))
            });
    }
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(LineSeries::new(path.clone(), blue.stroke_width(2)))
        .map_err(e)?
        .label("greedy sequence (best gain per cost first)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart
        .draw_series(path.iter().map(|&p| Circle::new(p, 4, blue.filled())))
        .map_err(e)?;
    for (s, &(x, y)) in o.greedy.iter().zip(path.iter().skip(1)) {
        chart
            .draw_series(std::iter::once(Text::new(
                s.project.clone(),
                (x, y),
                ("sans-serif", 13).into_font().color(&BLACK),
            )))
            .map_err(e)?;
    }
    let red = RGBColor(214, 39, 40);
    let label = match o.budget {
        Some(b) => format!("optimum within budget {b}"),
        None => "optimum (no budget limit)".to_string(),
    };
    chart
        .draw_series(std::iter::once(TriangleMarker::new(opt, 10, red.filled())))
        .map_err(e)?
        .label(label)
        .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, red.filled()));
    chart
        .configure_series_labels()
        .position(match obj {
            // keep the legend away from the end of the curve (top right when more is better)
            Objective::Compliance => SeriesLabelPosition::LowerRight,
            Objective::WorseThanVKm | Objective::Load => SeriesLabelPosition::UpperRight,
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
