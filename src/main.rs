//! The `hearth` binary: the shell around `hearth-core`.

fn main() {
    println!("hearth");
}
