//! Independent programs some tests drive (tshark and dumpcap, freeDiameterd, openssl): whether
//! they are installed, and what a test does when they are not. Locally it skips with a message;
//! under CI=true it fails, since tests/run installs them and a missing one is an error there.

use std::path::{Path, PathBuf};

/// Whether the suite runs under CI (`CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Where `program` is installed: on PATH, or in /usr/sbin or /usr/bin (a non-root PATH may lack
/// /usr/sbin).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Says why `test` cannot run: panics under CI, else prints the reason and returns `false` so
/// the caller returns early.
pub fn skip(test: &str, why: &str) -> bool {
    assert!(!under_ci(), "{test}: {why}");
    eprintln!("skipping {test}: {why}");
    false
}

/// Whether every program and file `test` needs is installed ([`skip`] when one is not).
/// `packages` names the Debian packages that provide them, for the message.
pub fn available(test: &str, programs: &[&str], files: &[&str], packages: &str) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| find_program(p).is_none())
        .chain(files.iter().copied().filter(|f| !Path::new(f).exists()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(
        test,
        &format!(
            "{} missing (apt-get install {packages}, or bash tests/run)",
            missing.join(", ")
        ),
    )
}
