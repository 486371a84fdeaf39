pub mod hydraulics;
