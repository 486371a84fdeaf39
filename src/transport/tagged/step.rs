//! The groups' view of one step of the total's run.

use super::groups::Groups;
use crate::network::Network;
use crate::transport::follower::Step;
use crate::transport::layout::{Coeffs, Layout};
use std::sync::atomic::AtomicU64;

/// What a group step reads of the total's step.
pub(super) struct TagStep<'s> {
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    pub groups: &'s Groups<'s>,
    pub period: usize,
    pub p: usize,
    pub dt: f64,
    pub t_mid: f64,
    pub theta: f64,
    /// Explicit dispersion in this step (the limiter leaves room for it, and the face fluxes carry it).
    pub explicit_disp: bool,
    /// E/Δx² per reach as the explicit kernel sees it.
    pub disp: &'s [f64],
    /// E/Δx² per reach (the true values, for the implicit dispersion).
    pub disp_true: &'s [f64],
    /// Half-step decay factors by layout rank.
    pub half: &'s [f64],
    /// The interior faces' κ and shares from this step's kernel (`kernel::StepData::parts`; read by the
    /// cell pass, empty for the node pass).
    pub parts: &'s [AtomicU64],
}

impl<'s> TagStep<'s> {
    /// The groups' view of the total's step `s`, with the half-step decay factors `half` and the faces'
    /// κ and shares `parts`.
    pub fn of(
        s: &Step<'s>,
        groups: &'s Groups<'s>,
        half: &'s [f64],
        parts: &'s [AtomicU64],
    ) -> Self {
        TagStep {
            net: s.net,
            lay: s.lay,
            co: s.co,
            groups,
            period: s.period,
            p: s.p,
            dt: s.dt,
            t_mid: s.t_mid,
            theta: s.theta,
            explicit_disp: s.explicit_disp,
            disp: s.disp,
            disp_true: s.disp_true,
            half,
            parts,
        }
    }
}
