//! The scenario file as written: serde structures that mirror the TOML tables (and the CSV / GeoJSON rows,
//! which fill the same structures), untrusted.
//!
//! Every field the file may leave out is an `Option`; nothing here is checked beyond its type. Every struct
//! denies unknown fields, so a misspelt key is reported with the list of valid keys (serde's message
//! "unknown field `x`, expected one of …"). Ids may be written as strings or integers (GeoJSON and CSV files
//! often carry numeric ids); they are kept as text.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A per-pollutant table, e.g. `{ COD = 20.0, TP = 0.3 }` (units depend on the key).
pub type PollutantTable = BTreeMap<String, f64>;

/// An id or a reference to one: a string, or an integer kept as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id (a string or an integer)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[simulation]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    /// ISO date or date-time (a string, or a TOML date / date-time literal).
    pub start: Option<toml::Value>,
    /// ISO date or date-time.
    pub end: Option<toml::Value>,
    /// Duration text, e.g. "5min".
    pub time_step: Option<String>,
    /// Duration text.
    pub output_interval: Option<String>,
    /// Duration text.
    pub warmup: Option<String>,
    /// Pollutant names.
    pub pollutants: Option<Vec<String>>,
    /// "dynamic" | "steady".
    pub mode: Option<String>,
    /// "steady" | "unsteady" (DESIGN.md §9).
    pub hydraulics: Option<String>,
    /// Duration text: the unsteady hydraulic step.
    pub hydraulic_step: Option<String>,
    /// Preissmann weight θ of unsteady hydraulics.
    pub theta: Option<f64>,
}

/// `[initial]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawInitial {
    /// "steady" | "zero" | "values".
    pub state: Option<String>,
    /// mg/L per pollutant, with `state = "values"`.
    pub concentration: Option<PollutantTable>,
    /// Unsteady hydraulics: still water at this level at the start, m.
    pub level_m: Option<f64>,
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Path of the node CSV.
    pub nodes_csv: Option<String>,
    /// Path of the reach CSV.
    pub reaches_csv: Option<String>,
    /// Path of the reach GeoJSON.
    pub reaches_geojson: Option<String>,
    /// Path of an inflow CSV (extension).
    pub inflows_csv: Option<String>,
    /// Path of a withdrawal CSV (extension).
    pub withdrawals_csv: Option<String>,
    /// Path of an outfall CSV (extension).
    pub outfalls_csv: Option<String>,
    /// Path of a section CSV (extension).
    pub sections_csv: Option<String>,
}

/// A cross-section as written: `shape` plus the keys of that shape.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    /// "rectangle" | "trapezoid" | "table".
    pub shape: Option<String>,
    /// Rectangle: width, m.
    pub width_m: Option<f64>,
    /// Trapezoid: bottom width, m.
    pub bottom_width_m: Option<f64>,
    /// Trapezoid: horizontal run per unit rise of each bank.
    pub side_slope: Option<f64>,
    /// Table: depths above the bed, m.
    pub depths_m: Option<Vec<f64>>,
    /// Table: top widths at those depths, m.
    pub widths_m: Option<Vec<f64>>,
}

/// `[defaults]`: any reach key except the identity and topology keys.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// m.
    pub length_m: Option<f64>,
    /// Cross-section.
    pub section: Option<RawSection>,
    /// m/m, positive when the bed falls from `from` to `to`.
    pub bed_slope: Option<f64>,
    /// m.
    pub bed_up_m: Option<f64>,
    /// m.
    pub bed_down_m: Option<f64>,
    /// s/m^(1/3).
    pub manning_n: Option<f64>,
    /// m²/s.
    pub dispersion_m2s: Option<f64>,
    /// 1/day per pollutant.
    pub decay_per_day: Option<PollutantTable>,
    /// m.
    pub cell_length_m: Option<f64>,
    /// "river" | "lake".
    pub water_body: Option<String>,
    /// Zone id.
    pub zone: Option<Id>,
    /// Jurisdiction name.
    pub jurisdiction: Option<String>,
    /// "district" | "town" | "village".
    pub level: Option<String>,
    /// g/m²/day per pollutant.
    pub release_g_m2_day: Option<PollutantTable>,
    /// River name.
    pub river: Option<String>,
}

/// `[[reaches]]` (also a reach CSV row or GeoJSON feature's properties).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReach {
    /// Id.
    pub id: Option<Id>,
    /// From-node id.
    pub from: Option<Id>,
    /// To-node id.
    pub to: Option<Id>,
    /// m.
    pub length_m: Option<f64>,
    /// Cross-section.
    pub section: Option<RawSection>,
    /// m/m.
    pub bed_slope: Option<f64>,
    /// m.
    pub bed_up_m: Option<f64>,
    /// m.
    pub bed_down_m: Option<f64>,
    /// s/m^(1/3).
    pub manning_n: Option<f64>,
    /// m²/s.
    pub dispersion_m2s: Option<f64>,
    /// 1/day per pollutant.
    pub decay_per_day: Option<PollutantTable>,
    /// m.
    pub cell_length_m: Option<f64>,
    /// "river" | "lake".
    pub water_body: Option<String>,
    /// Zone id.
    pub zone: Option<Id>,
    /// Jurisdiction name.
    pub jurisdiction: Option<String>,
    /// "district" | "town" | "village".
    pub level: Option<String>,
    /// g/m²/day per pollutant.
    pub release_g_m2_day: Option<PollutantTable>,
    /// River name.
    pub river: Option<String>,
}

/// `[[nodes]]` (also a node CSV row).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// Id.
    pub id: Option<Id>,
    /// "junction" | "boundary" | "outlet" | "storage".
    pub kind: Option<String>,
    /// m.
    pub x: Option<f64>,
    /// m.
    pub y: Option<f64>,
    /// Held level, m.
    pub level_m: Option<f64>,
    /// Path of a level series CSV.
    pub level_series: Option<String>,
    /// "step" | "linear" for `level_series`.
    pub interpolate: Option<String>,
    /// Invert level, m.
    pub bed_m: Option<f64>,
    /// Outlet: mg/L per pollutant of water entering on reversal.
    pub concentration: Option<PollutantTable>,
    /// Storage: surface area, m².
    pub area_m2: Option<f64>,
}

/// `[[inflows]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawInflow {
    /// Node id.
    pub node: Option<Id>,
    /// m³/s.
    pub flow_m3s: Option<f64>,
    /// Path of a flow series CSV.
    pub flow_series: Option<String>,
    /// mg/L per pollutant.
    pub concentration: Option<PollutantTable>,
    /// Path of a concentration series CSV.
    pub concentration_series: Option<String>,
    /// "step" | "linear".
    pub interpolate: Option<String>,
    /// Source group.
    pub group: Option<String>,
}

/// `[[withdrawals]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWithdrawal {
    /// Optional id (for messages).
    pub id: Option<Id>,
    /// Node id (or `reach` + `at_m`).
    pub node: Option<Id>,
    /// Reach id.
    pub reach: Option<Id>,
    /// m from the reach's from-node.
    pub at_m: Option<f64>,
    /// m³/s.
    pub flow_m3s: Option<f64>,
    /// Path of a flow series CSV.
    pub flow_series: Option<String>,
    /// "step" | "linear".
    pub interpolate: Option<String>,
}

/// `[[outfalls]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOutfall {
    /// Id.
    pub id: Option<Id>,
    /// Reach id.
    pub reach: Option<Id>,
    /// m from the reach's from-node.
    pub at_m: Option<f64>,
    /// m³/s.
    pub flow_m3s: Option<f64>,
    /// Path of a flow series CSV.
    pub flow_series: Option<String>,
    /// mg/L per pollutant.
    pub concentration: Option<PollutantTable>,
    /// Path of a concentration series CSV.
    pub concentration_series: Option<String>,
    /// kg/day per pollutant (mass only).
    pub load_kg_per_day: Option<PollutantTable>,
    /// Outfall kind.
    pub kind: Option<String>,
    /// Source group.
    pub group: Option<String>,
    /// "step" | "linear".
    pub interpolate: Option<String>,
}

/// `[[line_loads]]` (extension).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLineLoad {
    /// Id.
    pub id: Option<Id>,
    /// Reach id.
    pub reach: Option<Id>,
    /// m.
    pub from_m: Option<f64>,
    /// m.
    pub to_m: Option<f64>,
    /// kg/day per pollutant.
    pub load_kg_per_day: Option<PollutantTable>,
    /// Source group.
    pub group: Option<String>,
}

/// `[[zones]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// Id.
    pub id: Option<Id>,
    /// "I" … "V" (an integer is read as its text, so that `target = 3` gets a message naming the valid values).
    pub target: Option<Id>,
    /// Pollutant names, or one preset name (`two_factor`, `three_factor`, `all`) as a string or a list.
    pub parameters: Option<OneOrMany>,
    /// "annual_mean" | "frequency".
    pub method: Option<String>,
    /// Share in (0, 1].
    pub threshold: Option<f64>,
    /// "outputs" (default) | "monthly" (extension).
    pub sampling: Option<String>,
    /// Day of the month of a monthly sample, 1–31 (extension, default 15).
    pub sampling_day: Option<i64>,
    /// Section ids (extension).
    pub sections: Option<Vec<Id>>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// A list.
    Many(Vec<String>),
}

/// `[[sections]]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSectionPoint {
    /// Id.
    pub id: Option<Id>,
    /// Reach id.
    pub reach: Option<Id>,
    /// m from the reach's from-node.
    pub at_m: Option<f64>,
}

/// `[assessment]` (DESIGN.md §11).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAssessment {
    /// "run" | "year".
    pub period: Option<String>,
}

/// `[capacity]` (DESIGN.md §11).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCapacity {
    /// "p90_month" | "driest_month" | a month, day, period or date-time.
    pub design_flow: Option<String>,
    /// Cost per kg/day removed, by source group.
    pub reduction_cost: Option<toml::Table>,
}

/// `[report]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// "en" | "zh".
    pub language: Option<String>,
    /// The coordinate reference system of node and reach coordinates, e.g. "EPSG:4547".
    pub crs: Option<String>,
}

/// `[temperature]` (extension).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTemperature {
    /// °C.
    pub water_c: Option<f64>,
    /// Path of a temperature series CSV (column `water_c`).
    pub water_c_series: Option<String>,
    /// "step" | "linear".
    pub interpolate: Option<String>,
    /// θ per pollutant.
    pub theta: Option<PollutantTable>,
}

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
    /// `true`: the treated water leaves the model (extension; instead of `discharge`).
    pub discharge_outside: Option<bool>,
    /// Where flow above capacity leaves untreated (default: `discharge`).
    pub bypass: Option<RawPlace>,
}

/// `[[projects]]` (DESIGN.md §8): the common keys and every kind's keys (the check refuses keys foreign to
/// the kind).
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
    /// Line-load ids (`rural_treatment`, `close_outfall`).
    pub line_loads: Option<Vec<Id>>,
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

/// `[[structures]]` (DESIGN.md §9): a sluice, weir or pump between two nodes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStructure {
    /// Id.
    pub id: Option<Id>,
    /// "sluice" | "weir" | "pump".
    pub kind: Option<String>,
    /// Node on the side of positive flow's origin.
    pub from: Option<Id>,
    /// Node on the other side.
    pub to: Option<Id>,
    /// Sluice, weir: sill (crest) level, m.
    pub sill_m: Option<f64>,
    /// Sluice, weir: clear width, m.
    pub width_m: Option<f64>,
    /// Sluice: gate opening above the sill when open, m.
    pub opening_m: Option<f64>,
    /// Sluice, weir: a flap gate (flow only from → to).
    pub one_way: Option<bool>,
    /// Sluice: orifice μ; weir: weir C.
    pub discharge_coefficient: Option<f64>,
    /// Sluice: weir C of the flow over the sill with the gate clear.
    pub weir_coefficient: Option<f64>,
    /// Pump: rate while running, m³/s.
    pub capacity_m3s: Option<f64>,
    /// Path of a time-series CSV: column `opening_m` (sluice) or `on` (pump).
    pub schedule: Option<String>,
    /// An operating rule.
    pub rule: Option<RawRule>,
}

/// A structure's operating `rule` (DESIGN.md §9): a drainage band, a flushing intake or a pump's band.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Sluice drainage: open when the `from` level is above this, m.
    pub open_above_m: Option<f64>,
    /// Sluice drainage: shut when the `from` level falls below this, m.
    pub close_below_m: Option<f64>,
    /// Sluice flushing: open while the `from` level is below this, m.
    pub intake_below_m: Option<f64>,
    /// Sluice: the head difference a rule asks for, m (default 0).
    pub margin_m: Option<f64>,
    /// Pump: start when the `from` level rises above this, m.
    pub on_above_m: Option<f64>,
    /// Pump: stop when the `from` level falls below this, m.
    pub off_below_m: Option<f64>,
    /// The node whose level the rule reads in place of the `from` node's (default: `from`).
    pub node: Option<Id>,
}
