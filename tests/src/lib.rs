//! Helpers for Pass's cross-process tests: find the built binaries, run them, read their output.

use std::path::PathBuf;
use std::process::{Command, Output};

use std::sync::Once;

static BUILD: Once = Once::new();

/// Builds the workspace's binaries once per test run, so a test never drives a stale one (cargo
/// does not rebuild another package's binaries for this package's tests).
fn build_binaries(target_dir: &std::path::Path, release: bool) {
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "pass-shared",
            "--bin",
            "pass",
            "--target-dir",
        ])
        .arg(target_dir);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the binaries under test failed");
    });
}

/// The path of a workspace binary built beside this test (`pass`).
pub fn bin(name: &str) -> PathBuf {
    // Test executables live in <target>/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary sits in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    build_binaries(target_dir, profile_dir.ends_with("release"));
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
