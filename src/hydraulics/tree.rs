//! Steady hydraulics on a tree (placeholder until the tree solver lands).

use super::{FlowField, HydraulicsError, HydraulicsOptions};
use crate::model::Model;
use crate::network::Network;

/// Whether the tree solver applies to this network.
pub fn applies(_model: &Model, _net: &Network) -> bool {
    false
}

/// Solve one period on a tree.
pub fn solve(
    model: &Model,
    net: &Network,
    opts: &HydraulicsOptions,
    t0_s: f64,
    t1_s: f64,
    warnings: &mut Vec<String>,
) -> Result<FlowField, HydraulicsError> {
    super::looped::solve(model, net, opts, t0_s, t1_s, warnings)
}
