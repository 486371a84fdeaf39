//! Steady hydraulics on a looped network (placeholder until the looped solver lands).

use super::{FlowField, HydraulicsError, HydraulicsOptions};
use crate::model::Model;
use crate::network::Network;

/// Solve one period on a looped network.
pub fn solve(
    _model: &Model,
    _net: &Network,
    _opts: &HydraulicsOptions,
    t0_s: f64,
    _t1_s: f64,
    _warnings: &mut Vec<String>,
) -> Result<FlowField, HydraulicsError> {
    Err(HydraulicsError::NoFixedLevel {
        nodes: String::new(),
        hint: format!("solver not written yet ({t0_s})"),
    })
}
