//! Provenance: the git commit the binary is built from, as
//! `CONTAGION_GIT_COMMIT` for the run and sweep manifests (and so every
//! Parquet file's metadata). `<sha>` for a clean checkout, `<sha>-dirty`
//! when tracked files differ from it, `unknown` outside a git checkout
//! (a source archive) or without git.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Rebuild when the commit or the tracked sources change.
    for path in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    for what in ["HEAD", "index", "packed-refs", "refs/heads"] {
        if let Some(p) = git(&["rev-parse", "--git-path", what]) {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    let commit = match git(&["rev-parse", "HEAD"]) {
        Some(sha) if !sha.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{sha}-dirty") } else { sha }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=CONTAGION_GIT_COMMIT={commit}");
}
