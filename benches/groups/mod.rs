pub mod hydraulics;
pub mod transport;
