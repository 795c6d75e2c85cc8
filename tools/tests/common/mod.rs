//! What the CLI tests share: running the real binary and reading what it printed.
#![allow(dead_code, reason = "each test file uses some of these")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `tickrail ARGS` in `cwd`.
pub fn tickrail(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run the tickrail binary")
}

/// Stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `config/default.toml` with a shorter market (1 s), max pace and no pinning (tests share
/// the machine), written to `dir/short.toml`.
pub fn short_config(dir: &Path) -> PathBuf {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let text = std::fs::read_to_string(default)
        .expect("read config/default.toml")
        .replace(
            "duration_ns = 10_000_000_000",
            "duration_ns = 1_000_000_000",
        )
        .replace("pace = \"realtime\"", "pace = \"max\"")
        .replace("core = 0\n", "")
        .replace("core = 1\n", "");
    let path = dir.join("short.toml");
    std::fs::write(&path, text).expect("write short.toml");
    path
}
