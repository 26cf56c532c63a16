//! Helpers for Pass's cross-process tests: find the built binaries, run them, read their output.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of a workspace binary built beside this test (`pass`). `cargo test --workspace`
/// (what `scripts/test.sh` runs) builds it fresh; run alone, `cargo test -p pass-tests` does not
/// rebuild another package's binary, so build it first (`cargo build -p pass-shared`). A test
/// cannot run cargo itself: the running `cargo test` holds the target directory's lock.
pub fn bin(name: &str) -> PathBuf {
    // Test executables live in <target>/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary sits in <target>/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test --workspace` (or build it first)",
        path.display()
    );
    path
}

/// Runs `pass` with `args`; returns success and the combined output.
pub fn pass(args: &[&str]) -> (bool, String) {
    let out: Output = Command::new(bin("pass"))
        .args(args)
        .output()
        .expect("run pass");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
