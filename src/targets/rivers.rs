//! River statistics: kilometres of river in each class, overall, per river-chief level and per jurisdiction.
//!
//! Each reach is classified on its volume-weighted reach-mean concentrations with the parameters of its zone
//! (the defaults for its water body when it has no zone or the zone names none). Three views, all over the
//! output times after the warm-up:
//! - **period mean** (the `classes_km` of `summary.json`, DESIGN.md §7): the class of the reach's period-mean
//!   concentrations; km_k = Σ_{reaches of class k} L_r / 1000;
//! - **time-weighted**: every output time classifies every reach; km_k = Σ_r (L_r/1000)·n_{r,k}/n, where
//!   n_{r,k} counts the samples at which reach r is in class k (output times are equally spaced, so this is the
//!   time share);
//! - **worst month**: each reach takes the worst of its calendar-month-mean classes.
//!
//! In each view the kilometres of the six classes plus the unclassified kilometres (reaches with no GB 3838
//! parameter simulated, or no sample) add up to the network length. Shares are km_k / network km.

use super::assess::{assessed_parameters, by_month, class_of, sample_indices};
use super::gb3838::{Class, Limits};
use super::{TargetsError, check_shapes};
use crate::model::{ChiefLevel, Model};
use crate::transport::RunResults;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Kilometres (or shares) per class; serialises as `{"I": …, "II": …, "III": …, "IV": …, "V": …, "V+": …}`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassKm {
    /// Value per class, I … V+ (index [`Class::index`]).
    pub km: [f64; 6],
}

impl ClassKm {
    /// The value of one class.
    pub fn get(&self, c: Class) -> f64 {
        self.km[c.index()]
    }

    /// Add to one class.
    pub fn add(&mut self, c: Class, km: f64) {
        self.km[c.index()] += km;
    }

    /// Sum over the classes.
    pub fn total(&self) -> f64 {
        self.km.iter().sum()
    }

    /// Kilometres worse than class V.
    pub fn worse_than_v(&self) -> f64 {
        self.get(Class::VPlus)
    }

    /// Each value divided by `total` (zeros if `total` is not positive).
    pub fn scaled(&self, total: f64) -> ClassKm {
        let mut out = *self;
        if total > 0.0 {
            out.km.iter_mut().for_each(|v| *v /= total);
        } else {
            out.km = [0.0; 6];
        }
        out
    }
}

impl Serialize for ClassKm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        for c in Class::ALL {
            m.serialize_entry(c.name(), &self.get(c))?;
        }
        m.end()
    }
}

/// The name used for a river-chief level (`district`, `town`, `village`, or `unassigned`).
pub fn level_name(level: Option<ChiefLevel>) -> &'static str {
    match level {
        Some(ChiefLevel::District) => "district",
        Some(ChiefLevel::Town) => "town",
        Some(ChiefLevel::Village) => "village",
        None => "unassigned",
    }
}

/// One view of the river statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KmBreakdown {
    /// Kilometres per class, whole network.
    pub km: ClassKm,
    /// Share of the network length per class.
    pub share: ClassKm,
    /// Kilometres of reaches that could not be classified.
    pub unclassified_km: f64,
    /// Kilometres per class per river-chief level (`district`, `town`, `village`, `unassigned`).
    pub by_level: BTreeMap<String, ClassKm>,
    /// Kilometres per class per jurisdiction (`unassigned` for reaches without one).
    pub by_jurisdiction: BTreeMap<String, ClassKm>,
}

/// The river statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RiverStats {
    /// Network length, km.
    pub total_km: f64,
    /// Classes of the period-mean concentrations (the `classes_km` view).
    pub period_mean: KmBreakdown,
    /// Time-weighted classes.
    pub time_weighted: KmBreakdown,
    /// Worst calendar-month-mean class of each reach.
    pub worst_month: KmBreakdown,
    /// Period-mean class of each reach (for maps).
    #[serde(skip)]
    pub reach_class: Vec<Option<Class>>,
}

fn reach_params(model: &Model) -> Vec<Vec<(usize, Limits)>> {
    model
        .reaches
        .iter()
        .map(|r| {
            let zp: &[usize] = r
                .zone
                .and_then(|z| model.zones.get(z))
                .map_or(&[], |z| &z.parameters);
            assessed_parameters(model, zp, r.water_body)
        })
        .collect()
}

fn mean_class(
    results: &RunResults,
    np: usize,
    r: usize,
    params: &[(usize, Limits)],
    idx: &[usize],
) -> Option<Class> {
    if idx.is_empty() {
        return None;
    }
    let n = idx.len() as f64;
    class_of(params.iter().map(|&(p, l)| {
        let s: f64 = idx.iter().map(|&i| results.reach_conc[i][r * np + p]).sum();
        (s / n, l)
    }))
}

/// Accumulate reach r's kilometres, split over classes by `weights` (summing to 1), into a breakdown.
fn add_reach(b: &mut KmBreakdown, model: &Model, r: usize, weights: &[(Class, f64)]) {
    let reach = &model.reaches[r];
    let km = reach.length_m / 1000.0;
    if weights.is_empty() {
        b.unclassified_km += km;
        return;
    }
    let level = b
        .by_level
        .entry(level_name(reach.level).to_string())
        .or_default();
    for &(c, w) in weights {
        level.add(c, km * w);
    }
    let jur = b
        .by_jurisdiction
        .entry(
            reach
                .jurisdiction
                .clone()
                .unwrap_or_else(|| "unassigned".into()),
        )
        .or_default();
    for &(c, w) in weights {
        jur.add(c, km * w);
    }
    for &(c, w) in weights {
        b.km.add(c, km * w);
    }
}

/// The river statistics over the output times after the warm-up. Errors if the results do not match the
/// model's reaches and pollutants.
pub fn river_stats(model: &Model, results: &RunResults) -> Result<RiverStats, TargetsError> {
    check_shapes(model, results)?;
    let np = model.pollutants.len();
    let samples = sample_indices(model, results);
    let months = by_month(model, results, &samples);
    let params = reach_params(model);
    let total_km: f64 = model.reaches.iter().map(|r| r.length_m / 1000.0).sum();
    let mut st = RiverStats {
        total_km,
        reach_class: Vec::with_capacity(model.reaches.len()),
        ..Default::default()
    };
    for (r, pr) in params.iter().enumerate() {
        // period mean
        let c = if pr.is_empty() {
            None
        } else {
            mean_class(results, np, r, pr, &samples)
        };
        st.reach_class.push(c);
        add_reach(
            &mut st.period_mean,
            model,
            r,
            &c.map(|c| vec![(c, 1.0)]).unwrap_or_default(),
        );

        // time-weighted
        let mut counts = [0usize; 6];
        if !pr.is_empty() {
            for &i in &samples {
                if let Some(c) = class_of(
                    pr.iter()
                        .map(|&(p, l)| (results.reach_conc[i][r * np + p], l)),
                ) {
                    counts[c.index()] += 1;
                }
            }
        }
        let n: usize = counts.iter().sum();
        let w: Vec<(Class, f64)> = if n == 0 {
            Vec::new()
        } else {
            Class::ALL
                .iter()
                .filter(|c| counts[c.index()] > 0)
                .map(|&c| (c, counts[c.index()] as f64 / n as f64))
                .collect()
        };
        add_reach(&mut st.time_weighted, model, r, &w);

        // worst month
        let wm = if pr.is_empty() {
            None
        } else {
            months
                .iter()
                .filter_map(|(_, idx)| mean_class(results, np, r, pr, idx))
                .max()
        };
        add_reach(
            &mut st.worst_month,
            model,
            r,
            &wm.map(|c| vec![(c, 1.0)]).unwrap_or_default(),
        );
    }
    for b in [
        &mut st.period_mean,
        &mut st.time_weighted,
        &mut st.worst_month,
    ] {
        b.share = b.km.scaled(total_km);
    }
    Ok(st)
}

/// Kilometres per class of the reaches' mean concentrations over the samples `samples` (the period-mean view
/// of [`river_stats`] restricted to them, e.g. one calendar year), and each reach's class.
pub fn period_mean_km(
    model: &Model,
    results: &RunResults,
    samples: &[usize],
) -> (KmBreakdown, Vec<Option<Class>>) {
    let np = model.pollutants.len();
    let total_km: f64 = model.reaches.iter().map(|r| r.length_m / 1000.0).sum();
    let mut b = KmBreakdown::default();
    let mut classes = Vec::with_capacity(model.reaches.len());
    for (r, pr) in reach_params(model).iter().enumerate() {
        let c = if pr.is_empty() {
            None
        } else {
            mean_class(results, np, r, pr, samples)
        };
        classes.push(c);
        add_reach(
            &mut b,
            model,
            r,
            &c.map(|c| vec![(c, 1.0)]).unwrap_or_default(),
        );
    }
    b.share = b.km.scaled(total_km);
    (b, classes)
}

/// Kilometres per class at every output time (warm-up included), for time series of the network state
/// (e.g. `compare_km.csv`). Unclassified reaches are left out.
pub fn km_per_class_at_each_time(
    model: &Model,
    results: &RunResults,
) -> Result<Vec<ClassKm>, TargetsError> {
    check_shapes(model, results)?;
    let np = model.pollutants.len();
    let params = reach_params(model);
    Ok((0..results.output_times_s.len())
        .map(|i| {
            let mut k = ClassKm::default();
            for (r, pr) in params.iter().enumerate() {
                if let Some(c) = class_of(
                    pr.iter()
                        .map(|&(p, l)| (results.reach_conc[i][r * np + p], l)),
                ) {
                    k.add(c, model.reaches[r].length_m / 1000.0);
                }
            }
            k
        })
        .collect())
}
