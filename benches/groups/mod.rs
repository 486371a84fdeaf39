pub mod apportion;
pub mod end_to_end;
pub mod hydraulics;
pub mod rank;
pub mod scenario;
pub mod transport;
pub mod unsteady;
