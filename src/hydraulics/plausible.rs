//! Plausibility of solved steady fields: depths, speeds and travel times a plain river network does not have.
//!
//! A field can be a correct solution of its inputs and still be nonsense for the rivers this engine serves: a
//! mistyped level or bed, a flow in litres typed as m³/s, a section a thousand times too narrow. Such runs
//! complete, so a bound on what was solved is the last chance to say so. Each bound is a warning (on the
//! console and in `summary.json`'s `warnings`), naming the reaches and their worst values; the run goes on.
//!
//! Bounds, for slow, looped, tidal plain networks (DESIGN.md §1):
//! - depth above [`MAX_DEPTH_M`] = 30 m in any cell (plain rivers and canals are a few metres deep; the
//!   deepest tidal rivers of the region are about 15 m);
//! - speed above [`MAX_SPEED_MS`] = 3 m/s in any cell (plain rivers move centimetres per second; 3 m/s is a
//!   mountain torrent or a flood chute);
//! - travel time through a reach above [`MAX_TRAVEL_TIME_S`] = 365 days while the reach carries at least
//!   [`TRAVEL_TIME_MIN_FLOW_SHARE`] = 0.1% of the largest flow of the period (a reach of a loop where the flow
//!   stalls legitimately takes forever; one that carries real flow that slowly has an impossible section).
//!
//! Travel time is Σ dx/|u| over the reach's cells, as `reaches.csv` reports it.

use super::FlowField;
use crate::model::Model;
use crate::network::Network;

/// Deepest plausible water, m.
pub const MAX_DEPTH_M: f64 = 30.0;
/// Fastest plausible mean velocity, m/s.
pub const MAX_SPEED_MS: f64 = 3.0;
/// Longest plausible travel time through a reach that carries flow, s (365 days).
pub const MAX_TRAVEL_TIME_S: f64 = 365.0 * 86_400.0;
/// Share of the period's largest face flow a reach must carry for its travel time to be judged.
pub const TRAVEL_TIME_MIN_FLOW_SHARE: f64 = 1e-3;

/// Most reaches a warning names (the rest are counted).
const NAMED: usize = 10;

/// The worst value of each bound seen per reach over the fields checked, with the period it came from.
pub(crate) struct Plausibility {
    /// Per reach: worst (value, period start s) for depth, speed, travel time; `None` within bounds.
    worst: Vec<[Option<(f64, f64)>; 3]>,
}

impl Plausibility {
    /// Nothing seen yet.
    pub fn new(n_reaches: usize) -> Plausibility {
        Plausibility {
            worst: vec![[None; 3]; n_reaches],
        }
    }

    /// Check one solved field.
    pub fn check(&mut self, net: &Network, field: &FlowField) {
        let q_max = field
            .face_flow_m3s
            .iter()
            .fold(0.0f64, |m, q| m.max(q.abs()));
        for (r, worst) in self.worst.iter_mut().enumerate() {
            let (mut depth, mut speed, mut travel) = (0.0f64, 0.0f64, 0.0);
            for c in net.cells_of(r) {
                depth = depth.max(field.cell_depth_m[c]);
                let u = field.cell_velocity_ms[c].abs();
                speed = speed.max(u);
                travel += net.cell_dx_m[c] / u;
            }
            let faces = net.faces_of(r);
            let q_reach = field.face_flow_m3s[faces]
                .iter()
                .fold(0.0f64, |m, q| m.max(q.abs()));
            let carries = q_reach > 0.0 && q_reach >= TRAVEL_TIME_MIN_FLOW_SHARE * q_max;
            let values = [
                (depth > MAX_DEPTH_M).then_some(depth),
                (speed > MAX_SPEED_MS).then_some(speed),
                (carries && travel.is_finite() && travel > MAX_TRAVEL_TIME_S).then_some(travel),
            ];
            for (slot, v) in worst.iter_mut().zip(values) {
                if let Some(v) = v
                    && slot.is_none_or(|(w, _)| v > w)
                {
                    *slot = Some((v, field.t_start_s));
                }
            }
        }
    }

    /// One warning per bound exceeded, naming up to ten reaches (in model order) with their worst values.
    pub fn warnings(&self, model: &Model, warnings: &mut Vec<String>) {
        let kinds = [
            ("depth", "m", MAX_DEPTH_M, "m"),
            ("speed", "m/s", MAX_SPEED_MS, "m/s"),
            ("travel time", "days", MAX_TRAVEL_TIME_S / 86_400.0, "days"),
        ];
        for (k, (what, unit, bound, bound_unit)) in kinds.into_iter().enumerate() {
            let hits: Vec<(usize, f64, f64)> = self
                .worst
                .iter()
                .enumerate()
                .filter_map(|(r, w)| w[k].map(|(v, t)| (r, v, t)))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let shown: Vec<String> = hits
                .iter()
                .take(NAMED)
                .map(|&(r, v, t)| {
                    let v = if k == 2 { v / 86_400.0 } else { v };
                    format!(
                        "{} ({v:.3} {unit}, period starting at {t} s)",
                        model.reaches[r].id
                    )
                })
                .collect();
            let more = if hits.len() > NAMED {
                format!(" and {} more", hits.len() - NAMED)
            } else {
                String::new()
            };
            warnings.push(format!(
                "implausible hydraulics for a plain river network: {what} above {bound} {bound_unit} in \
                 reach(es) {}{more}; check the levels, beds, sections and flows",
                shown.join(", ")
            ));
        }
    }
}
