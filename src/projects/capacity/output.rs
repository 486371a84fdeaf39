//! The files of `rivsim capacity` (DESIGN.md §11): `capacity.csv`, `allocation.csv`,
//! `allocation_sections.csv`, `capacity.json` (the design conditions, every input of the formula, the notes)
//! and the plot `capacity.svg` / `.png` (each zone's present load beside both capacities).
//!
//! Numbers are printed with Rust's `{}` (full round-trip precision); a quantity that does not exist (the
//! capacity of a zone without own load) is an empty cell.

use super::{CapacityOutcome, ZoneCapacity};
use crate::lang::Lang;
use crate::report::csv_field;
use plotters::prelude::*;
use std::fmt::Write;

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// `capacity.csv`: the contract's columns
/// `zone,pollutant,target_mg_l,present_load_kg_d,capacity_kg_d,formula_capacity_kg_d,reduction_kg_d`, then
/// `section` (the control section that limits the capacity), `present_mg_l`, `background_mg_l` there and
/// `status` (`within`, `exceeded`, `infeasible`, `no_own_load`, `not_reached`).
pub fn capacity_csv(o: &CapacityOutcome) -> String {
    let mut s = String::from(
        "zone,pollutant,target_mg_l,present_load_kg_d,capacity_kg_d,formula_capacity_kg_d,reduction_kg_d,\
         section,present_mg_l,background_mg_l,status\n",
    );
    for z in &o.zones {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&z.zone),
            csv_field(&z.pollutant),
            z.target_mg_l,
            z.present_load_kg_d,
            opt(z.capacity_kg_d),
            opt(z.formula_capacity_kg_d),
            opt(z.reduction_kg_d),
            csv_field(&z.section),
            z.present_mg_l,
            z.background_mg_l,
            z.status.name()
        );
    }
    s
}

/// `allocation.csv`: `group,pollutant,present_kg_d,allowed_kg_d,reduction_kg_d,cost` (the contract), then
/// `cost_per_kg_d`.
pub fn allocation_csv(o: &CapacityOutcome) -> String {
    let mut s = String::from(
        "group,pollutant,present_kg_d,allowed_kg_d,reduction_kg_d,cost,cost_per_kg_d\n",
    );
    for g in &o.allocation {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            csv_field(&g.group),
            csv_field(&g.pollutant),
            g.present_kg_d,
            g.allowed_kg_d,
            g.reduction_kg_d,
            g.cost,
            g.cost_per_kg_d
        );
    }
    s
}

/// `allocation_sections.csv`: `section,pollutant,target_mg_l,present_mg_l,floor_mg_l,allocated_mg_l,status`
/// — every control section under the allocation (`floor`: every reducible group removed; `status`: `met`,
/// `binding` or `infeasible`).
pub fn sections_csv(o: &CapacityOutcome) -> String {
    let mut s = String::from(
        "section,pollutant,target_mg_l,present_mg_l,floor_mg_l,allocated_mg_l,status\n",
    );
    for t in &o.sections {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            csv_field(&t.section),
            csv_field(&t.pollutant),
            t.target_mg_l,
            t.present_mg_l,
            t.floor_mg_l,
            t.allocated_mg_l,
            t.status
        );
    }
    s
}

/// `capacity.json`: the design conditions, the zones with the formula's inputs, the allocation, the
/// sections, the notes and the additivity check.
pub fn capacity_json(o: &CapacityOutcome) -> serde_json::Value {
    let total_cost: f64 = o.allocation.iter().map(|g| g.cost).sum();
    serde_json::json!({
        "rivsim_version": env!("CARGO_PKG_VERSION"),
        "design": o.design,
        "zones": o.zones,
        "allocation": o.allocation,
        "allocation_cost": total_cost,
        "sections": o.sections,
        "notes": o.notes,
        "max_relative_gap": o.max_relative_gap,
    })
}

const SIZE: (u32, u32) = (1000, 560);

/// The plot as an SVG string: per zone and pollutant, the present load and both capacities (kg/day).
pub fn plot_svg(title: &str, o: &CapacityOutcome, lang: Lang) -> Result<String, String> {
    crate::fonts::register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, title, &o.zones, lang)?;
    }
    Ok(crate::fonts::embed_in_svg(&svg))
}

/// The same plot as a PNG file at `path`.
pub fn plot_png(
    path: &std::path::Path,
    title: &str,
    o: &CapacityOutcome,
    lang: Lang,
) -> Result<(), String> {
    crate::fonts::register();
    crate::report::plot::png_via_partial(path, SIZE, |root| draw(root, title, &o.zones, lang))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    zones: &[ZoneCapacity],
    lang: Lang,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let n = zones.len().max(1);
    let y_max = zones
        .iter()
        .flat_map(|z| {
            [
                Some(z.present_load_kg_d),
                z.capacity_kg_d,
                z.formula_capacity_kg_d,
            ]
        })
        .flatten()
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.1;
    let labels: Vec<String> = zones
        .iter()
        .map(|z| format!("{} {}", z.zone, z.pollutant))
        .collect();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n as f64, 0.0..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(40))
        .x_label_formatter(&|x| {
            let k = x.floor() as usize;
            if (x - k as f64 - 0.5).abs() < 0.26 {
                labels.get(k).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(lang.t("load (kg/day)"))
        .draw()
        .map_err(e)?;
    let series: [(&str, RGBColor, usize); 3] = [
        ("present load", RGBColor(214, 39, 40), 0),
        ("capacity (network model)", RGBColor(31, 119, 180), 1),
        ("capacity (GB/T 25173 formula)", RGBColor(150, 150, 150), 2),
    ];
    for (name, color, j) in series {
        let bars: Vec<(f64, f64)> = zones
            .iter()
            .enumerate()
            .filter_map(|(k, z)| {
                let v = match j {
                    0 => Some(z.present_load_kg_d),
                    1 => z.capacity_kg_d,
                    _ => z.formula_capacity_kg_d,
                };
                v.map(|v| (k as f64 + 0.15 + 0.24 * j as f64, v))
            })
            .collect();
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, v)| Rectangle::new([(x, 0.0), (x + 0.22, v)], color.filled())),
            )
            .map_err(e)?
            .label(lang.t(name))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
