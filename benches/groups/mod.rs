pub mod hydraulics;
pub mod scenario;
