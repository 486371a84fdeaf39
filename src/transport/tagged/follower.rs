//! The groups of one pollutant as a follower of the total's run (`transport/follower.rs`): the groups'
//! node pass reads the total's state before the step and runs before the total's node pass, or — when a
//! thread is free to help (`assist.rs`) — on a copy of that state beside the total's node pass, kernel,
//! sources and withdrawals; the groups' cell pass runs after them with the faces' κ and shares from the
//! total's kernel, the total's implicit dispersion beside it.

use super::assist;
use super::cells::cells;
use super::groups::Groups;
use super::lane::{TagLane, TagState};
use super::nodes::node_pass;
use super::step::TagStep;
use crate::network::Network;
use crate::transport::follower::{Follower, Start, Step};
use crate::transport::implicit::Factors;
use crate::transport::layout::Layout;
use crate::transport::options::TransportError;
use std::sync::atomic::AtomicU64;

/// The total's old cells, node concentrations and half-step decay factors, copied for the groups' node
/// pass when it runs beside the total's.
#[derive(Default)]
struct Snapshot {
    c: Vec<f64>,
    nc: Vec<f64>,
    half: Vec<f64>,
}

/// The groups of one pollutant (none when the run has no groups: then every hook does nothing).
pub(super) struct TagFollower<'g> {
    groups: Option<&'g Groups<'g>>,
    lane: Option<TagLane>,
    snap: Snapshot,
    /// The node pass waits for [`Follower::beside`], on the copy in `snap`.
    pending: bool,
}

impl<'g> TagFollower<'g> {
    /// The groups `groups` of pollutant `p`.
    pub fn new(groups: Option<&'g Groups<'g>>, net: &Network, lay: &Layout, p: usize) -> Self {
        TagFollower {
            groups,
            lane: groups.map(|g| TagLane::new(g, net, lay, p)),
            snap: Snapshot::default(),
            pending: false,
        }
    }
}

impl Follower for TagFollower<'_> {
    type State = Option<TagState>;

    fn reads_face_parts(&self) -> bool {
        self.lane.is_some()
    }

    fn reads_sweeps(&self) -> bool {
        self.lane.is_some()
    }

    fn busy(&self) -> bool {
        self.lane.is_some()
    }

    fn width(&self) -> usize {
        self.groups.map_or(0, Groups::len)
    }

    fn start(&mut self, cx: &Start, steady: bool) -> Result<(), TransportError> {
        let (Some(groups), Some(lane)) = (self.groups, self.lane.as_mut()) else {
            return Ok(());
        };
        lane.initialise(groups, cx, steady)
    }

    fn before(&mut self, step: &Step, c: &[f64], node_c: &[f64]) {
        let (Some(groups), Some(lane)) = (self.groups, self.lane.as_mut()) else {
            return;
        };
        if assist::has_helpers() {
            let snap = &mut self.snap;
            snap.c.clear();
            snap.c.extend_from_slice(c);
            snap.nc.clear();
            snap.nc.extend_from_slice(node_c);
            snap.half.clear();
            snap.half.extend_from_slice(step.half);
            self.pending = true;
        } else {
            node_pass(&TagStep::of(step, groups, step.half, &[]), c, node_c, lane);
        }
    }

    fn beside(&mut self, step: &Step, rest: impl FnOnce() -> f64 + Send) -> f64 {
        let (true, Some(groups), Some(lane)) = (self.pending, self.groups, self.lane.as_mut())
        else {
            return rest();
        };
        self.pending = false;
        let snap = &self.snap;
        let ts = TagStep::of(step, groups, &snap.half, &[]);
        let mut decayed = 0.0;
        assist::join(
            || decayed = rest(),
            || node_pass(&ts, &snap.c, &snap.nc, lane),
        );
        decayed
    }

    fn after(
        &mut self,
        step: &Step,
        c: &[f64],
        withdrawn: &[f64],
        faces: &[AtomicU64],
        implicit: Option<&Factors>,
        mut disperse: impl FnMut() + Send,
    ) {
        let (Some(groups), Some(lane)) = (self.groups, self.lane.as_mut()) else {
            return disperse();
        };
        // the groups' cell pass reads the total's old state; the total's implicit dispersion works on its
        // new one meanwhile (the cell pass hands it to whichever thread does its first half)
        let ts = TagStep::of(step, groups, step.half, faces);
        cells(&ts, c, withdrawn, implicit, lane, &mut disperse);
    }

    fn section_values(&self, ea: usize, eb: usize, w: f64, out: &mut [f64]) {
        if let Some(lane) = &self.lane {
            lane.section_values(ea, eb, w, out);
        }
    }

    fn reach_values(&self, b: usize, vol: &[f64], vt: f64, out: &mut [f64]) {
        if let Some(lane) = &self.lane {
            lane.reach_values(b, vol, vt, out);
        }
    }

    fn state(&self) -> Option<TagState> {
        self.lane.as_ref().map(TagLane::state)
    }

    fn fits(&self, st: &Option<TagState>) -> bool {
        match (&self.lane, st) {
            (Some(l), Some(s)) => l.fits(s),
            (None, None) => true,
            _ => false,
        }
    }

    fn set_state(&mut self, st: &Option<TagState>) {
        if let (Some(l), Some(s)) = (self.lane.as_mut(), st) {
            l.set_state(s);
        }
    }
}
