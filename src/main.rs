//! The `hearth` binary: the shell around `hearth-core`.

// Placeholder main: the server wiring that uses the store is merged separately.
#[allow(dead_code, unused_imports)]
mod store;

fn main() {
    println!("hearth");
}
