//! `results.geojson`: the run's results as a GIS layer (RFC 7946 FeatureCollection) that QGIS and ArcGIS open,
//! written when the network has coordinates.
//!
//! - One `LineString` per reach that can be drawn (its GeoJSON polyline, else the straight line between its
//!   nodes' `x`, `y`), with properties `kind = "reach"`, `id`, `river`, `zone`, `level`, `jurisdiction`,
//!   `length_m`, `class` (the class of its period-mean concentrations, as counted in `summary.json`'s
//!   `classes_km`), `class_<year>` per calendar year with `[assessment] period = "year"`, `flow_m3s` (the mean of
//!   its reach-mean flow over the output times after the warm-up, signed as in `reaches.csv`) and one
//!   `<pollutant>_mg_l` per pollutant (the period mean of its reach-mean concentration).
//! - One `Point` per section, placed along its reach's line at `at_m / length`, with `kind = "section"`, `id`,
//!   `reach`, `at_m`, `zone`, `class`, `failing` (the parameters failing the target, most severe first — as in
//!   `summary.json`), `class_<year>` per year and `<pollutant>_mg_l` (the section's mean, as in `summary.json`).
//!
//! Coordinates are the scenario's own `x`, `y` (metres in a projected system). RFC 7946 assumes longitude and
//! latitude; when the scenario names its system (`[report] crs = "EPSG:4547"`) the file carries the legacy
//! `crs` member, which QGIS reads, so the layer lands where it belongs.

use crate::hydraulics::Hydraulics;
use crate::model::Model;
use crate::network::Network;
use crate::targets::{Assessment, assess::sample_indices, rivers::level_name};
use crate::transport::RunResults;
use serde_json::{Map, Value, json};

/// The polyline of reach `r`: its own geometry, else its two nodes' coordinates; `None` if it has neither.
pub fn reach_line(model: &Model, r: usize) -> Option<Vec<(f64, f64)>> {
    let reach = &model.reaches[r];
    if reach.geometry.len() >= 2 {
        return Some(reach.geometry.clone());
    }
    let xy = |n: usize| model.nodes.get(n).and_then(|n| n.xy);
    Some(vec![xy(reach.from)?, xy(reach.to)?])
}

/// The point at a fraction (0–1) of a polyline's length.
pub fn along(points: &[(f64, f64)], fraction: f64) -> (f64, f64) {
    let seg = |a: (f64, f64), b: (f64, f64)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let total: f64 = points.windows(2).map(|w| seg(w[0], w[1])).sum();
    let mut left = fraction.clamp(0.0, 1.0) * total;
    for w in points.windows(2) {
        let l = seg(w[0], w[1]);
        if left <= l && l > 0.0 {
            let f = left / l;
            return (
                w[0].0 + f * (w[1].0 - w[0].0),
                w[0].1 + f * (w[1].1 - w[0].1),
            );
        }
        left -= l;
    }
    points.last().copied().unwrap_or((0.0, 0.0))
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// The layer, or `None` when no reach can be drawn.
pub fn results_geojson(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    results: &RunResults,
    a: &Assessment,
    crs: Option<&str>,
) -> Option<String> {
    let np = model.pollutants.len();
    let samples = sample_indices(model, results);
    let n = samples.len().max(1) as f64;
    let mut features = Vec::new();
    for (r, reach) in model.reaches.iter().enumerate() {
        let Some(line) = reach_line(model, r) else {
            continue;
        };
        let mut p = Map::new();
        p.insert("kind".into(), "reach".into());
        p.insert("id".into(), reach.id.clone().into());
        p.insert("river".into(), opt(reach.river.as_deref()));
        p.insert(
            "zone".into(),
            opt(reach
                .zone
                .and_then(|z| model.zones.get(z))
                .map(|z| z.id.as_str())),
        );
        p.insert("level".into(), level_name(reach.level).into());
        p.insert("jurisdiction".into(), opt(reach.jurisdiction.as_deref()));
        p.insert("length_m".into(), reach.length_m.into());
        let class = a.rivers.reach_class.get(r).copied().flatten();
        p.insert("class".into(), opt(class.map(|c| c.name())));
        for y in &a.years {
            p.insert(
                format!("class_{}", y.year),
                opt(y.reach_class.get(r).copied().flatten().map(|c| c.name())),
            );
        }
        let flow = samples
            .iter()
            .map(|&i| {
                let field = &hyd.periods[hyd.period_at(results.output_times_s[i])];
                super::reach_hydraulics(net, field, r).0
            })
            .sum::<f64>()
            / n;
        p.insert("flow_m3s".into(), flow.into());
        for (k, name) in model.pollutants.iter().enumerate() {
            let mean = samples
                .iter()
                .map(|&i| results.reach_conc[i][r * np + k])
                .sum::<f64>()
                / n;
            p.insert(format!("{name}_mg_l"), mean.into());
        }
        let coords: Vec<[f64; 2]> = line.iter().map(|&(x, y)| [x, y]).collect();
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "LineString", "coordinates": coords },
            "properties": p,
        }));
    }
    if features.is_empty() {
        return None;
    }
    for (s, sec) in model.sections.iter().enumerate() {
        let Some(line) = reach_line(model, sec.reach) else {
            continue;
        };
        let reach = &model.reaches[sec.reach];
        let (x, y) = along(&line, sec.at_m / reach.length_m.max(1e-9));
        let sa = &a.sections[s];
        let mut p = Map::new();
        p.insert("kind".into(), "section".into());
        p.insert("id".into(), sec.id.clone().into());
        p.insert("reach".into(), reach.id.clone().into());
        p.insert("at_m".into(), sec.at_m.into());
        p.insert("zone".into(), opt(sa.zone.as_deref()));
        p.insert("class".into(), opt(sa.class.map(|c| c.name())));
        p.insert(
            "failing".into(),
            sa.failing
                .iter()
                .map(|f| Value::from(f.parameter.clone()))
                .collect(),
        );
        for y in &a.years {
            p.insert(
                format!("class_{}", y.year),
                opt(y.sections.get(s).and_then(|x| x.class).map(|c| c.name())),
            );
        }
        for (k, name) in model.pollutants.iter().enumerate() {
            let mean = samples
                .iter()
                .map(|&i| results.section_conc[i][s * np + k])
                .sum::<f64>()
                / n;
            p.insert(format!("{name}_mg_l"), mean.into());
        }
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [x, y] },
            "properties": p,
        }));
    }
    let mut fc = Map::new();
    fc.insert("type".into(), "FeatureCollection".into());
    fc.insert("name".into(), model.title.clone().into());
    if let Some(c) = crs {
        let urn = match c.split_once(':') {
            Some((auth, code)) => format!("urn:ogc:def:crs:{auth}::{code}"),
            None => c.to_string(),
        };
        fc.insert(
            "crs".into(),
            json!({ "type": "name", "properties": { "name": urn } }),
        );
    }
    fc.insert("features".into(), Value::Array(features));
    serde_json::to_string(&Value::Object(fc)).ok()
}
