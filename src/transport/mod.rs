//! Transport: advection–dispersion–decay of every pollutant in every cell (being written).
//!
//! The types below are the interface the report and assessment stages read.

/// Mass ledger of one pollutant over a run, kg.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MassBalance {
    /// Mass that entered (boundary inflows, outfalls, line loads, release, water entering at outlets), kg.
    pub in_kg: f64,
    /// Mass that left (advection out of outlets, withdrawals), kg.
    pub out_kg: f64,
    /// Mass removed by first-order decay, kg.
    pub decayed_kg: f64,
    /// Mass in the network at the end minus at the start, kg.
    pub storage_change_kg: f64,
    /// |in − out − decayed − storage_change| / max(in, out, decayed, |storage_change|, tiny).
    pub relative_error: f64,
}

/// What a run produces, at the output times.
#[derive(Debug, Clone)]
pub struct RunResults {
    /// Output times, seconds since start (start, start + interval, …, up to end).
    pub output_times_s: Vec<f64>,
    /// Pollutant names, in the model's order.
    pub pollutants: Vec<String>,
    /// Section concentrations, mg/L: `[time][section * n_pollutants + pollutant]`.
    pub section_conc: Vec<Vec<f64>>,
    /// Reach-mean concentrations (volume-weighted), mg/L: `[time][reach * n_pollutants + pollutant]`.
    pub reach_conc: Vec<Vec<f64>>,
    /// Flow period index in force at each output time.
    pub output_period: Vec<usize>,
    /// Mass ledger per pollutant.
    pub mass_balance: Vec<MassBalance>,
    /// Notes for the summary (time step cut, sub-steps, …).
    pub warnings: Vec<String>,
}
