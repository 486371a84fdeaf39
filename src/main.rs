//! The `rivsim` command line (being written).
fn main() {
    println!("rivsim");
}
