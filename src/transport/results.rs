//! What a run produces: the concentrations at the output times and the mass ledger.

/// Slots of a run's ledger of one pollutant, grams: mass in, out, decayed, and added by volume changes.
pub(super) const IN: usize = 0;
pub(super) const OUT: usize = 1;
pub(super) const DECAY: usize = 2;
pub(super) const VOLUME: usize = 3;

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
    /// Mass added (negative: removed) when a new flow period changed the cell and pond volumes while the
    /// concentrations were kept, kg (0 when every period has the same areas).
    pub volume_change_kg: f64,
    /// Mass in the network (cells and ponds) at the start, kg.
    pub initial_mass_kg: f64,
    /// Mass in the network at the end, kg.
    pub final_mass_kg: f64,
    /// |in − out − decayed + volume_change − storage_change| / max(in, out, decayed, |storage_change|,
    /// |volume_change|, initial mass, final mass, tiny) — the masses are in the scale because the round-off of
    /// summing the stored mass is relative to it.
    pub relative_error: f64,
}

impl MassBalance {
    /// Recompute `relative_error` from the other fields.
    pub fn close(&mut self) {
        let imbalance = self.in_kg - self.out_kg - self.decayed_kg + self.volume_change_kg
            - self.storage_change_kg;
        let scale = self
            .in_kg
            .abs()
            .max(self.out_kg.abs())
            .max(self.decayed_kg.abs())
            .max(self.storage_change_kg.abs())
            .max(self.volume_change_kg.abs())
            .max(self.initial_mass_kg.abs())
            .max(self.final_mass_kg.abs())
            .max(1e-300);
        self.relative_error = imbalance.abs() / scale;
    }
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
    /// Flow period index in force at each output time (`Hydraulics::period_at`; at an output time that is
    /// also a period start, the new period — the concentrations there are the end state of the old one).
    pub output_period: Vec<usize>,
    /// Mass ledger per pollutant.
    pub mass_balance: Vec<MassBalance>,
    /// Notes for the summary from transport (sub-steps, continuity defects met, …); the hydraulics'
    /// own notes stay in `Hydraulics::warnings`.
    pub warnings: Vec<String>,
    /// Number of transport time steps taken (sub-steps included; 0 in steady mode).
    pub steps: usize,
    /// Mean cell concentrations over the output times after the warm-up, mg/L: `[pollutant][global cell]` (the
    /// network's cell order); empty when no output time lies after the warm-up, or for results not made by
    /// [`Simulation::finish`](crate::transport::Simulation::finish) (tagged totals, superposed portfolios).
    pub mean_cell_conc: Vec<Vec<f64>>,
    /// Cell concentrations at the end of the run, mg/L: `[pollutant][global cell]` (the network's cell order).
    pub final_cell_conc: Vec<Vec<f64>>,
}
