//! Report: plots and the self-contained HTML report (the lead owns this file; CSV/JSON writers join it).

pub mod html;
pub mod plot;
