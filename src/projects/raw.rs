//! The `[[sewers]]`, `[[plants]]`, `[[projects]]` and `[[alternatives]]` tables as written (DESIGN.md §8):
//! serde structures, untrusted, every field optional, unknown keys refused (serde lists the valid ones).
//! `projects::check` turns them into the typed items of [`super`].

use crate::scenario::parse::Item;
use crate::scenario::raw::{Id, PollutantTable};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A place along a reach: `{ reach = "R5", at_m = 200.0 }`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPlace {
    /// Reach id.
    pub reach: Option<Id>,
    /// Metres from the reach's from-node.
    pub at_m: Option<f64>,
}

/// `[[sewers]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSewer {
    /// Id.
    pub id: Option<Id>,
    /// m³/s.
    pub capacity_m3s: Option<f64>,
    /// Where flow above capacity spills.
    pub overflow: Option<RawPlace>,
    /// Plant id (or `discharge`).
    pub to_plant: Option<Id>,
    /// Untreated discharge point (or `to_plant`).
    pub discharge: Option<RawPlace>,
    /// Extension: sewage the sewer already carries from outside the model, m³/s (default 0).
    pub base_flow_m3s: Option<f64>,
    /// Extension: its concentration, mg/L per pollutant (default 0).
    pub base_concentration: Option<PollutantTable>,
}

/// `[[plants]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPlant {
    /// Id.
    pub id: Option<Id>,
    /// m³/s.
    pub capacity_m3s: Option<f64>,
    /// mg/L per pollutant (a table), or a GB 18918-2002 class name (`"1A"`).
    pub effluent: Option<toml::Value>,
    /// Where treated water leaves.
    pub discharge: Option<RawPlace>,
    /// Where flow above capacity leaves untreated (default: `discharge`).
    pub bypass: Option<RawPlace>,
}

/// `[[projects]]`: the common keys and every kind's keys (the check refuses keys foreign to the kind).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Id.
    pub id: Option<Id>,
    /// Readable name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Cost in `cost_unit`.
    pub cost: Option<f64>,
    /// ISO date or date-time.
    pub start: Option<toml::Value>,
    /// ISO date or date-time.
    pub finish: Option<toml::Value>,
    /// Duration text.
    pub ramp: Option<String>,
    /// kg/day per pollutant between start and finish.
    pub construction_load_kg_per_day: Option<PollutantTable>,
    /// Where the construction load enters.
    pub construction_at: Option<RawPlace>,
    /// Outfall ids.
    pub outfalls: Option<Vec<Id>>,
    /// Outfall group.
    pub group: Option<String>,
    /// Share in [0, 1].
    pub efficiency: Option<f64>,
    /// Sewer id.
    pub sewer: Option<Id>,
    /// A share, or a table of shares per pollutant.
    pub reduction: Option<toml::Value>,
    /// Plant id.
    pub plant: Option<Id>,
    /// m³/s.
    pub capacity_m3s: Option<f64>,
    /// mg/L per pollutant (a table), or a GB 18918-2002 class name (`"1A"`).
    pub effluent: Option<toml::Value>,
    /// Node id.
    pub node: Option<Id>,
    /// m³/s.
    pub flow_m3s: Option<f64>,
    /// mg/L per pollutant.
    pub concentration: Option<PollutantTable>,
    /// Reach ids.
    pub reaches: Option<Vec<Id>>,
    /// g/m²/day per pollutant.
    pub release_g_m2_day: Option<PollutantTable>,
    /// 1/day per pollutant (not supported yet: reported).
    pub decay_per_day: Option<PollutantTable>,
}

/// `[[alternatives]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlternative {
    /// Id.
    pub id: Option<Id>,
    /// Readable name.
    pub name: Option<String>,
    /// Project id → duration text.
    pub delay: Option<BTreeMap<String, String>>,
    /// Project ids left out.
    pub without: Option<Vec<Id>>,
}

/// The four tables as read, each item with its place in the file.
#[derive(Debug, Default)]
pub struct RawProjectTables {
    /// `[[sewers]]`.
    pub sewers: Vec<Item<RawSewer>>,
    /// `[[plants]]`.
    pub plants: Vec<Item<RawPlant>>,
    /// `[[projects]]`.
    pub projects: Vec<Item<RawProject>>,
    /// `[[alternatives]]`.
    pub alternatives: Vec<Item<RawAlternative>>,
}
