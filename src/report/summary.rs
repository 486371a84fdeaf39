//! `summary.json`, `sections.csv` and `reaches.csv` of a run (DESIGN.md §7).
//!
//! Statistics (mean, min, max) use the output times at or after the warm-up. The summary's key order follows
//! §7 (serde serialises struct fields in declaration order).

use super::num::push_f64;
use super::{csv_field, iso_time, reach_hydraulics};
use crate::hydraulics::Hydraulics;
use crate::model::Model;
use crate::network::Network;
use crate::transport::{MassBalance, RunResults};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// One pollutant's ledger as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MassBalanceJson {
    /// kg in.
    pub in_kg: f64,
    /// kg out.
    pub out_kg: f64,
    /// kg decayed.
    pub decayed_kg: f64,
    /// kg storage change.
    pub storage_change_kg: f64,
    /// kg added (negative: removed) when a new steady flow period changed the cell and pond volumes under
    /// kept concentrations (and, on unsteady flow, left in a cell that ran dry): in − out − decayed +
    /// volume_change − storage_change is the closure error.
    pub volume_change_kg: f64,
    /// Relative closure error.
    pub relative_error: f64,
}

impl From<&MassBalance> for MassBalanceJson {
    fn from(m: &MassBalance) -> Self {
        MassBalanceJson {
            in_kg: m.in_kg,
            out_kg: m.out_kg,
            decayed_kg: m.decayed_kg,
            storage_change_kg: m.storage_change_kg,
            volume_change_kg: m.volume_change_kg,
            relative_error: m.relative_error,
        }
    }
}

/// Statistics of one section, as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SectionJson {
    /// Section id.
    pub id: String,
    /// Reach id.
    pub reach: String,
    /// Position, m from the reach's from-node.
    pub at_m: f64,
    /// Mean per pollutant over the assessed output times, mg/L.
    pub mean: BTreeMap<String, f64>,
    /// Minimum per pollutant, mg/L.
    pub min: BTreeMap<String, f64>,
    /// Maximum per pollutant, mg/L.
    pub max: BTreeMap<String, f64>,
    /// Assessment fields added by the targets stage (`class`, `failing`), flattened into the object.
    #[serde(flatten)]
    pub assessment: serde_json::Map<String, serde_json::Value>,
}

/// The whole `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// rivsim version.
    pub rivsim_version: String,
    /// Scenario title.
    pub title: String,
    /// Start (ISO).
    pub start: String,
    /// End (ISO).
    pub end: String,
    /// Mass ledger per pollutant.
    pub mass_balance: BTreeMap<String, MassBalanceJson>,
    /// Sections.
    pub sections: Vec<SectionJson>,
    /// Further top-level keys (targets: `zones`, `classes_km`; run facts).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// Build the summary (without targets keys; the caller may add them to `extra` and `assessment`).
pub fn build(model: &Model, res: &RunResults, warnings: Vec<String>) -> Summary {
    let np = model.pollutants.len();
    let times = crate::targets::assess::sample_indices(model, res);
    let mass_balance = model
        .pollutants
        .iter()
        .zip(&res.mass_balance)
        .map(|(p, m)| (p.clone(), MassBalanceJson::from(m)))
        .collect();
    let sections = model
        .sections
        .iter()
        .enumerate()
        .map(|(s, sec)| {
            let mut mean = BTreeMap::new();
            let mut min = BTreeMap::new();
            let mut max = BTreeMap::new();
            for (p, name) in model.pollutants.iter().enumerate() {
                let (mut sum, mut lo, mut hi) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
                for &k in &times {
                    let v = res.section_conc[k][s * np + p];
                    sum += v;
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                mean.insert(name.clone(), sum / times.len().max(1) as f64);
                min.insert(name.clone(), lo);
                max.insert(name.clone(), hi);
            }
            SectionJson {
                id: sec.id.clone(),
                reach: model.reaches[sec.reach].id.clone(),
                at_m: sec.at_m,
                mean,
                min,
                max,
                assessment: serde_json::Map::new(),
            }
        })
        .collect();
    Summary {
        rivsim_version: env!("CARGO_PKG_VERSION").to_string(),
        title: model.title.clone(),
        start: iso_time(model.sim.start, 0.0),
        end: iso_time(model.sim.start, model.sim.end_s),
        mass_balance,
        sections,
        extra: serde_json::Map::new(),
        warnings,
    }
}

/// `sections.csv`: `time,section,<pollutant>…`, one row per section per output time, in time order.
pub fn write_sections_csv(
    w: &mut dyn Write,
    model: &Model,
    res: &RunResults,
) -> std::io::Result<()> {
    let np = model.pollutants.len();
    write!(w, "time,section")?;
    for p in &model.pollutants {
        write!(w, ",{}", csv_field(p))?;
    }
    writeln!(w)?;
    let ids: Vec<String> = model.sections.iter().map(|s| csv_field(&s.id)).collect();
    // one output time's rows are built in a buffer, then written
    let mut b = Vec::new();
    for (k, &t) in res.output_times_s.iter().enumerate() {
        let time = iso_time(model.sim.start, t);
        b.clear();
        for (i, id) in ids.iter().enumerate() {
            b.extend_from_slice(time.as_bytes());
            b.push(b',');
            b.extend_from_slice(id.as_bytes());
            for p in 0..np {
                b.push(b',');
                push_f64(&mut b, res.section_conc[k][i * np + p]);
            }
            b.push(b'\n');
        }
        w.write_all(&b)?;
    }
    Ok(())
}

/// `reaches.csv` of a run: `time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s,<pollutant>…`, reach means
/// at every output time (hydraulics from the flow period in force then).
pub fn write_reaches_csv(
    w: &mut dyn Write,
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    res: &RunResults,
) -> std::io::Result<()> {
    write_reaches_csv_batched(w, model, net, hyd, res, 1_000_000)
}

/// [`write_reaches_csv`] formatting about `rows_per_batch` rows at a time (whole output times; the file is
/// the same for any batch size, which a test checks).
pub fn write_reaches_csv_batched(
    w: &mut dyn Write,
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    res: &RunResults,
    rows_per_batch: usize,
) -> std::io::Result<()> {
    let np = model.pollutants.len();
    write!(w, "time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s")?;
    for p in &model.pollutants {
        write!(w, ",{}", csv_field(p))?;
    }
    writeln!(w)?;
    // reach hydraulics change only between flow periods: each row's "reach,flow,velocity,depth,travel time"
    // is formatted once per period and copied into every output row of that period
    let ids: Vec<String> = model.reaches.iter().map(|r| csv_field(&r.id)).collect();
    let per_period: Vec<Vec<Vec<u8>>> = hyd
        .periods
        .iter()
        .map(|f| {
            (0..model.reaches.len())
                .map(|r| {
                    let (q, v, y, tt) = reach_hydraulics(net, f, r);
                    let mut head = Vec::with_capacity(ids[r].len() + 80);
                    head.extend_from_slice(ids[r].as_bytes());
                    for x in [q, v, y, tt] {
                        head.push(b',');
                        push_f64(&mut head, x);
                    }
                    head
                })
                .collect()
        })
        .collect();
    // the rows of a batch of output times are formatted in parallel (one buffer per time, joined in time
    // order, so the file does not depend on the thread count)
    let n_times = res.output_times_s.len();
    let per_batch = (rows_per_batch / model.reaches.len().max(1)).clamp(1, n_times.max(1));
    let format_time = |k: usize| -> Vec<u8> {
        let mut b = Vec::with_capacity(per_period[0].len() * (48 + 24 * np));
        let time = iso_time(model.sim.start, res.output_times_s[k]);
        let period = res
            .output_period
            .get(k)
            .copied()
            .unwrap_or(0)
            .min(per_period.len() - 1);
        for (r, head) in per_period[period].iter().enumerate() {
            b.extend_from_slice(time.as_bytes());
            b.push(b',');
            b.extend_from_slice(head);
            for p in 0..np {
                b.push(b',');
                push_f64(&mut b, res.reach_conc[k][r * np + p]);
            }
            b.push(b'\n');
        }
        b
    };
    // and the next batch is formatted while this one is written
    let format_batch = |k0: usize| -> Vec<Vec<u8>> {
        (k0..(k0 + per_batch).min(n_times))
            .into_par_iter()
            .map(format_time)
            .collect()
    };
    let mut current = format_batch(0);
    let mut k0 = 0;
    while k0 < n_times {
        let k1 = (k0 + per_batch).min(n_times);
        let mut next = Vec::new();
        let mut written = Ok(());
        rayon::in_place_scope(|s| {
            if k1 < n_times {
                let next = &mut next;
                s.spawn(move |_| *next = format_batch(k1));
            }
            written = current.iter().try_for_each(|part| w.write_all(part));
        });
        written?;
        current = next;
        k0 = k1;
    }
    Ok(())
}
