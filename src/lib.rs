//! rivsim: pollution in slow, looped, end-of-network plain river networks.
//!
//! The pipeline runs one way: **scenario file → model → hydraulics → transport → assessment → report**.
//! See `ARCHITECTURE.md` for the map of files and DESIGN.md for the physics.
#![deny(missing_docs)]

pub mod apportion;
pub mod colors;
pub mod files;
pub mod fonts;
pub mod generate;
pub mod hydraulics;
pub mod lang;
pub mod model;
pub mod network;
pub mod pipeline;
pub mod projects;
pub mod report;
pub mod scenario;
pub mod targets;
pub mod transport;
