pub mod hydraulics;
pub mod scenario;
pub mod transport;
