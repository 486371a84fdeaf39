//! Scenario text shared by the validation and hostile-input tests.

/// The smallest valid scenario body, as a string literal (a macro so that `concat!` can extend it into other
/// constants): one 1 km rectangular reach from a boundary `A` to an outlet `B` held at 1 m, pollutants COD and TP,
/// one day at hourly output, and an inflow of 1 m³/s at `A` whose table ends the text (so that a caller may
/// append keys to it: `concat!(one_reach!(), "concentration = { COD = 20.0 }\n")`). The text starts with a
/// newline, so line k of the file is line k + 1 of the text after a one-line prefix.
macro_rules! one_reach {
    () => {
        r#"
[simulation]
start = "2025-01-01"
end = "2025-01-02"
output_interval = "1h"
pollutants = ["COD", "TP"]

[defaults]
manning_n = 0.03
section = { shape = "rectangle", width_m = 10.0 }

[[nodes]]
id = "A"
kind = "boundary"

[[nodes]]
id = "B"
kind = "outlet"
level_m = 1.0

[[reaches]]
id = "R1"
from = "A"
to = "B"
length_m = 1000.0

[[inflows]]
node = "A"
flow_m3s = 1.0
"#
    };
}
pub(crate) use one_reach;
