//! Tagged runs: the concentration contributed by each of several source groups, carried with the total
//! run's own fluxes and limiter choices (source apportionment, and the linear responses behind project
//! ranking).
//!
//! PROVISIONAL: this first version runs every group as a separate simulation on the total run's flow
//! fields. It fixes the interface; the tagged engine replaces it.

use super::{RunResults, TransportError, TransportOptions, run};
use crate::hydraulics::Hydraulics;
use crate::model::Model;
use crate::network::Network;

/// What a tagged run produces: the total run and, at the same output times, each group's concentrations.
#[derive(Debug, Clone)]
pub struct TaggedResults {
    /// The total run (the leader whose fluxes and limiter choices the groups share).
    pub total: RunResults,
    /// Number of groups.
    pub n_groups: usize,
    /// Section concentration of each group, mg/L: `[time][(section * n_pollutants + pollutant) * n_groups
    /// + group]`.
    pub section_conc: Vec<Vec<f64>>,
    /// Reach-mean concentration of each group, mg/L: `[time][(reach * n_pollutants + pollutant) *
    /// n_groups + group]`.
    pub reach_conc: Vec<Vec<f64>>,
}

impl TaggedResults {
    /// Concentration of group `g` at section `s` for pollutant `p` at output `i`, mg/L.
    pub fn section(&self, i: usize, s: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.section_conc[i][(s * np + p) * self.n_groups + g]
    }

    /// Reach-mean concentration of group `g` in reach `r` for pollutant `p` at output `i`, mg/L.
    pub fn reach(&self, i: usize, r: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.reach_conc[i][(r * np + p) * self.n_groups + g]
    }
}

/// Run `model` (the total) and carry each group of `groups` along with it.
///
/// Every group model must have the same nodes, reaches and pollutants as `model` (the network and the flow
/// fields `hyd` are the total's); a group model's sources — outfalls, line loads, bed release, inflow
/// and outlet concentrations, and its initial state — are the group's. Water a group model adds or removes
/// (an outfall's flow, an inflow) changes only the mass the group brings, never the flows: the flows are
/// held at the total's. When the groups' sources add up to the total's, the groups add up to the total.
pub fn run_tagged(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<TaggedResults, TransportError> {
    let total = run(model, net, hyd, opts)?;
    let np = model.pollutants.len();
    let ng = groups.len();
    let nt = total.output_times_s.len();
    let ns = model.sections.len();
    let nr = net.n_reaches;
    let mut section_conc = vec![vec![0.0; ns * np * ng]; nt];
    let mut reach_conc = vec![vec![0.0; nr * np * ng]; nt];
    for (g, gm) in groups.iter().enumerate() {
        let r = run(gm, net, hyd, opts)?;
        for i in 0..nt {
            for s in 0..ns {
                for p in 0..np {
                    section_conc[i][(s * np + p) * ng + g] = r.section_conc[i][s * np + p];
                }
            }
            for rr in 0..nr {
                for p in 0..np {
                    reach_conc[i][(rr * np + p) * ng + g] = r.reach_conc[i][rr * np + p];
                }
            }
        }
    }
    Ok(TaggedResults {
        total,
        n_groups: ng,
        section_conc,
        reach_conc,
    })
}
