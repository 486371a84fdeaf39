//! Tagged runs: the concentration contributed by each of several source groups, carried with the total
//! run's own fluxes and limiter choices (source apportionment, and the linear responses behind project
//! ranking; DESIGN.md §2 "Linearity").
//!
//! With the flows fixed, every step of the dynamic scheme is linear in the concentrations *except* the
//! limiter (the face value C_f = C_U + ½(1 − ν)·φ(r)·(C_D − C_U) has φ depending on the ratio r of the
//! concentration differences) and the withdrawal that never takes more than a cell holds. A tagged run
//! takes those from the total and shares them out. At every face the total carries C_f; group g carries
//! a share C_f,g = w_u·C_U,g + w_d·C_D,g with weights chosen so that Σ_g C_f,g = C_f (`split`): the
//! limiter's own mix (w_u, w_d) = (1 − κ, κ), C_f = C_U + κ·(C_D − C_U), where that keeps every group's
//! outflow within what its cell holds, blended towards the upwind cell's composition (C_f/C_U, 0) where it
//! would not — so no group goes negative, and each stays second order where the mix is safe. A cell
//! withdrawal takes from each group the share of its concentration that it takes from the total.
//! Everything else — the Strang-split decay factors, the complete mixing at nodes by flow shares, the
//! exact pond integration, the backward-Euler dispersion — is linear already and is applied to each group
//! as to the total. So each group follows the total's own fluxes, and when the groups' sources add up to
//! the total's (and their initial states to its initial state) the groups add up to the total at every
//! step, to round-off.
//!
//! What a group is: a [`Model`] on the same network (nodes, reaches, withdrawals and pollutants as the
//! total's) whose sources — outfalls, line loads, bed release, inflows and their concentrations, water
//! entering at outlets — and initial state are the group's. The flows are the total's throughout (the
//! hydraulics are never re-solved): water a group model adds or removes (an outfall's flow, an extra
//! inflow) changes only the mass it brings, Q_g·C_g. With the default steady initial state each group
//! starts from its own steady state, which the upwind steady solver makes a linear function of the
//! sources, so the initial states add up too.
//!
//! Against a separate run of one group alone (its own limiter choices) a group differs where the limited
//! scheme's nonlinearity matters: at fronts, by a fraction of a cell (tests/transport_tagged.rs measures
//! 0.45% of the section maximum on a reversing looped network).
//!
//! Cost and layout: the groups of a cell sit side by side, four to a vector (a block). A step goes reach
//! by reach: the total's face values, κ and shares of the reach's faces (branch-free, several faces to a
//! vector), each face's split among the groups, then for every active block one pass over the reach's
//! cells that makes the explicit update, adds the sources, takes the withdrawals and runs the forward
//! sweep of the implicit dispersion, and a pass back for the backward sweep — while the reach's rows are
//! in cache. A reach skips the blocks no group of which has reached it (`TagLane`'s activity bits), and
//! [`group_layout`] puts groups that reach the same reaches into the same blocks so that there are many
//! such. The pollutants run side by side on the pool's threads; a thread with none left helps those still
//! stepping (`assist.rs`). None of this changes a bit of the result.
//!
//! Responses ([`run_responses`], for project ranking): each group carried as its difference from the
//! total, d_g = C_g − C, which the same operations carry (all linear but the split, whose β is chosen on
//! each group's concentration C + d_g). A response's sources are only those in which the group differs from
//! the total (the group's that the total has not, the total's that the group has not, negated), and its
//! initial state the difference of the two; so it is exactly 0, and its blocks skipped, wherever and until
//! anything the group changes arrives — a block joins a reach's activity when one of its sources there
//! first brings something. [`run_response_tree`] runs several flow states' responses, a state that agrees
//! with another up to a time going on from that state's run.
//!
//! Sensitivity: where the total's limiter sits exactly at its Courant bound, the room a group has to lose
//! is 0 and the split switches between the mix and the composition on the sign of a rounding error, so a
//! change in the last bits of the groups (a compiler's or CPU's different rounding, e.g. with or without
//! fused multiply–adds, or a reordering of the implicit sweeps' arithmetic) can move a group's value
//! locally and for a few days, by up to about 0.1% of it (of the order of 10⁻³ mg/L on 1 mg/L at a section
//! of the district). The groups still add up to the total to round-off.
//!
//! How a tagged run follows the total: the total is a run like any other (`transport::simulation`); each of
//! its pollutants carries a [`follower::TagFollower`] through the step's follower interface
//! (`transport/follower.rs`), which hands it the total's state before each step, the interior faces' κ
//! and shares from the total's kernel, and the total's old state after it.
//!
//! | file | what |
//! |---|---|
//! | `run.rs` | [`run_tagged`], [`run_responses`]: the pollutants as runs of their own, put back together |
//! | `tree.rs` | [`run_response_tree`]: flow states going on from one another |
//! | `layout.rs` | [`group_layout`], [`response_layout`]: the order of the groups in blocks |
//! | `groups.rs` | the groups' models, layouts and flows; which sources and inflows a response carries |
//! | `lane.rs` | one pollutant's groups: state in blocks of four, activity, initial state, outputs |
//! | `follower.rs` | the follower glue: when the groups' passes run, beside the total's or after it |
//! | `step.rs` | the groups' view of a step of the total's run |
//! | `nodes.rs` | the groups' node pass and what the cell pass needs ready |
//! | `cells.rs` | the groups' cell pass, reach by reach |
//! | `split.rs` | how a face's water is shared among the groups |
//! | `assist.rs` | idle threads helping a busy one, step by step |

mod assist;
mod cells;
mod follower;
mod groups;
mod lane;
mod layout;
mod nodes;
mod run;
mod split;
mod step;
mod tree;

pub use layout::{group_layout, response_layout};
pub use run::{run_responses, run_responses_in_order, run_tagged, run_tagged_in_order};
pub use tree::{ResponseState, run_response_tree};

use crate::transport::results::RunResults;

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
    /// `true` for [`run_responses`]: each group value is then the group's response, its concentration
    /// minus the total's (of either sign); `false` for [`run_tagged`], where it is the group's concentration.
    pub relative: bool,
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
