//! What the project tables refer to: the items built before them, and the ids of the project tables' own
//! items.

use super::ids::Ids;
use super::places::Along;
use crate::model::{Inflow, LineLoad, Node, Outfall};

/// The items the project tables refer to.
pub(super) struct Built<'a> {
    /// The reaches, for places along them.
    pub along: &'a Along<'a>,
    /// Nodes and their ids.
    pub nodes: &'a [Node],
    pub node_ids: &'a Ids<'a>,
    /// Boundary inflows.
    pub inflows: &'a [Inflow],
    /// The outfalls built, the raw outfalls' ids, and each raw outfall's index among those built.
    pub outfalls: &'a [Outfall],
    pub outfall_ids: &'a Ids<'a>,
    pub outfall_built: &'a [Option<usize>],
    /// The line loads built.
    pub line_loads: &'a [LineLoad],
}

/// The ids of the project tables' own items.
pub(super) struct TableIds<'r> {
    pub sewers: Ids<'r>,
    pub plants: Ids<'r>,
    pub projects: Ids<'r>,
}
