//! A run folder built under a temporary name and renamed into place when
//! complete, so a reader never sees half a run and a failed run leaves
//! nothing behind. An existing folder is replaced only when asked, and
//! only if it is a folder.
//!
//! Temporary names are `.NAME.tmp-PID-N@HOST` (the staging folder) and
//! `.NAME.old-PID-N@HOST` (the folder `--force` replaces, set aside for
//! the moment of the swap): unique per process and per run folder, so two
//! runs at once never share one. What a run cannot remove itself:
//!
//! - SIGINT, SIGTERM and SIGHUP: `install_signal_cleanup` (called by the
//!   command line) removes every registered temporary path, then exits
//!   with 128 + the signal number (130, 143, 129).
//! - SIGKILL or a crash: the next run into the same parent folder removes
//!   temporary folders whose process is gone (`/proc/PID` absent) and says
//!   so on stderr. Only names tagged with this host (or with no host) are
//!   judged, so a run on another node writing to a shared file system is
//!   never touched; without `/proc` nothing is judged at all.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::OutputError;

/// Paths this process is writing under temporary names: removed if a
/// catchable signal ends the process before they are renamed.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Distinguishes temporary names within one process.
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// Set when a signal is being handled: the process is about to exit.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// If a signal is being handled, wait for its handler to end the process
/// (with 128 + the signal), so that the main thread, failing because its
/// files were just removed, cannot exit first with another status.
pub fn wait_if_signalled() {
    if SIGNALLED.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

fn temporaries() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Register a temporary file or folder: a catchable signal removes it.
pub fn register_temporary(path: &Path) {
    temporaries().push(path.to_path_buf());
}

/// Create (or truncate) a file while no signal is being handled: a
/// signal's cleanup holds the list of temporaries until the process exits,
/// so a file is either created before it (and removed by it, if it is a
/// registered temporary or inside one) or never.
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    let _cleanup_not_running = temporaries();
    std::fs::File::create(path)
}

/// Forget a temporary path (renamed into place or removed).
pub fn unregister_temporary(path: &Path) {
    let mut t = temporaries();
    if let Some(i) = t.iter().rposition(|p| p == path) {
        t.swap_remove(i);
    }
}

fn remove_path(p: &Path) {
    // A writer may add a file while the folder is being removed: retry.
    for _ in 0..5 {
        let gone = match std::fs::symlink_metadata(p) {
            Err(_) => true,
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).is_ok(),
            Ok(_) => std::fs::remove_file(p).is_ok(),
        };
        if gone {
            return;
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: remove every registered temporary path,
/// say so on stderr and exit with 128 + the signal number. Renames into
/// place hold the registry's lock, so a signal during a swap waits for it.
#[cfg(unix)]
pub fn install_signal_cleanup() -> Result<(), OutputError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| OutputError::io("signal handler", e))?;
    std::thread::Builder::new()
        .name("contagion-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                SIGNALLED.store(true, Ordering::SeqCst);
                let t = temporaries();
                for p in t.iter() {
                    remove_path(p);
                }
                let name = match sig {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                if t.is_empty() {
                    eprintln!("contagion: stopped by {name}");
                } else {
                    eprintln!(
                        "contagion: stopped by {name}; removed the unfinished {}",
                        t.iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                std::process::exit(128 + sig);
            }
        })
        .map_err(|e| OutputError::io("signal handler", e))?;
    Ok(())
}

/// Without Unix signals there is nothing to install.
#[cfg(not(unix))]
pub fn install_signal_cleanup() -> Result<(), OutputError> {
    Ok(())
}

/// This machine's name as a file-name tag (`@host`), where it can be read.
fn host_tag() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h: String = h
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!h.is_empty()).then_some(h)
}

/// A temporary name beside `name`: `.NAME.KIND-PID-N@HOST`.
pub fn temporary_name(name: &str, kind: &str) -> String {
    let n = SERIAL.fetch_add(1, Ordering::Relaxed);
    let host = host_tag().map(|h| format!("@{h}")).unwrap_or_default();
    format!(".{name}.{kind}-{}-{n}{host}", std::process::id())
}

/// The process id and host of a temporary name (`.X.tmp-PID[-N][@HOST]`
/// or `.X.old-PID[-N][@HOST]`), or None for any other name.
fn parse_temporary(name: &str) -> Option<(u32, Option<&str>)> {
    if !name.starts_with('.') {
        return None;
    }
    let at = name.rfind(".tmp-").or_else(|| name.rfind(".old-"))?;
    let rest = &name[at + 5..];
    let (ids, host) = match rest.split_once('@') {
        Some((i, h)) => (i, Some(h)),
        None => (rest, None),
    };
    let mut parts = ids.splitn(2, '-');
    let pid: u32 = parts.next()?.parse().ok()?;
    if let Some(n) = parts.next()
        && n.parse::<u64>().is_err()
    {
        return None;
    }
    Some((pid, host))
}

/// Whether process `pid` is gone, when that can be told (Linux `/proc`).
fn process_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists()
}

/// Remove the temporary folders and files in `dir` left by processes of
/// this host that are gone (killed with SIGKILL, or crashed), saying so on
/// stderr. Returns what was removed.
pub fn clear_stale(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    let host = host_tag();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((pid, their_host)) = parse_temporary(&name) else {
            continue;
        };
        let ours = their_host.is_none() || their_host == host.as_deref();
        if !ours || pid == std::process::id() || !process_gone(pid) {
            continue;
        }
        let p = e.path();
        remove_path(&p);
        if std::fs::symlink_metadata(&p).is_err() {
            eprintln!(
                "contagion: removed {}, left by process {pid}, which is no longer running",
                p.display()
            );
            removed.push(p);
        }
    }
    removed
}

/// Move `target` to `aside`: true if moved, false if it is gone already
/// (another run set it aside between our check and now).
fn set_aside(target: &Path, aside: &Path) -> std::io::Result<bool> {
    match std::fs::rename(target, aside) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A run folder under construction.
#[derive(Debug)]
pub struct RunFolder {
    target: PathBuf,
    staging: PathBuf,
    name: String,
    parent: PathBuf,
    force: bool,
    committed: bool,
}

impl RunFolder {
    /// Check `target` may be written (absent, or a folder and `force`),
    /// clear what killed runs left beside it, and create the staging
    /// folder.
    pub fn prepare(target: &Path, force: bool) -> Result<Self, OutputError> {
        if std::fs::symlink_metadata(target).is_ok() {
            if !target.is_dir() {
                return Err(OutputError::NotAFolder(target.to_path_buf()));
            }
            if !force {
                return Err(OutputError::Exists(target.to_path_buf()));
            }
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".to_string());
        let parent = target.parent().unwrap_or(Path::new(""));
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        std::fs::create_dir_all(parent).map_err(|e| OutputError::io(parent, e))?;
        clear_stale(parent);
        let staging = parent.join(temporary_name(&name, "tmp"));
        register_temporary(&staging);
        if let Err(e) = std::fs::create_dir(&staging) {
            unregister_temporary(&staging);
            return Err(OutputError::io(&staging, e));
        }
        Ok(RunFolder {
            target: target.to_path_buf(),
            staging,
            name,
            parent: parent.to_path_buf(),
            force,
            committed: false,
        })
    }

    /// Where files are written until `commit`.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Move the finished folder into place (replacing an old one only with
    /// `force`, and only now that the new one is complete). Two runs
    /// committing to one target at once both succeed with `force` (the
    /// later replaces the earlier); without it, the later fails with
    /// `Exists`.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let aside = self.parent.join(temporary_name(&self.name, "old"));
            // A signal now waits until the swap is done.
            let mut t = temporaries();
            let mut old = false;
            if std::fs::symlink_metadata(&self.target).is_ok() {
                if !self.target.is_dir() {
                    return Err(OutputError::NotAFolder(self.target.clone()));
                }
                if !self.force {
                    return Err(OutputError::Exists(self.target.clone()));
                }
                old = set_aside(&self.target, &aside)
                    .map_err(|e| OutputError::io(&self.target, e))?;
                if old {
                    t.push(aside.clone());
                }
            }
            let swapped = std::fs::rename(&self.staging, &self.target);
            if swapped.is_ok() {
                self.committed = true;
                if let Some(i) = t.iter().rposition(|p| p == &self.staging) {
                    t.swap_remove(i);
                }
            }
            drop(t);
            // The folder set aside was to be replaced: remove it (also when
            // another run took the place meanwhile).
            let removed = if old {
                let r = std::fs::remove_dir_all(&aside).map_err(|e| OutputError::io(&aside, e));
                unregister_temporary(&aside);
                r
            } else {
                Ok(())
            };
            match swapped {
                Ok(()) => {
                    removed?;
                    return Ok(self.target.clone());
                }
                // Another run committed to the same target between our
                // check and our rename: try again (it is replaced with
                // force, reported as existing without).
                Err(_) if attempts < 5 && std::fs::symlink_metadata(&self.target).is_ok() => {}
                Err(e) => return Err(OutputError::io(&self.target, e)),
            }
        }
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
            unregister_temporary(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Setting a folder aside moves it; a folder already gone is no
    /// error (two forced runs committing at once); any other failure is.
    #[test]
    fn a_folder_already_set_aside_is_no_error_and_other_failures_are() {
        let dir = tempfile::tempdir().unwrap();
        let (target, aside) = (dir.path().join("r"), dir.path().join("r.old"));
        std::fs::create_dir(&target).unwrap();
        assert!(super::set_aside(&target, &aside).unwrap());
        assert!(aside.is_dir() && !target.exists());
        assert!(!super::set_aside(&target, &aside).unwrap(), "gone already");
        // A folder cannot replace a folder that holds something.
        std::fs::create_dir(&target).unwrap();
        std::fs::write(aside.join("kept"), "x").unwrap();
        assert!(super::set_aside(&target, &aside).is_err());
        assert!(target.is_dir() && aside.join("kept").exists());
    }

    use super::*;

    #[test]
    fn an_existing_folder_is_kept_without_force_and_replaced_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old.txt"), "old").unwrap();
        assert!(matches!(
            RunFolder::prepare(&target, false),
            Err(OutputError::Exists(_))
        ));
        let f = RunFolder::prepare(&target, true).unwrap();
        std::fs::write(f.path().join("new.txt"), "new").unwrap();
        // Until commit, the old run is intact.
        assert!(target.join("old.txt").exists());
        f.commit().unwrap();
        assert!(target.join("new.txt").exists());
        assert!(!target.join("old.txt").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_dropped_folder_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out/run");
        let f = RunFolder::prepare(&target, false).unwrap();
        std::fs::write(f.path().join("x"), "x").unwrap();
        drop(f);
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("out")).unwrap().count(),
            0
        );
    }

    /// A process id that is not running: a child that has exited.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn a_file_is_never_a_run_folder_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("results.csv");
        std::fs::write(&target, "mine").unwrap();
        for force in [false, true] {
            assert!(matches!(
                RunFolder::prepare(&target, force),
                Err(OutputError::NotAFolder(_))
            ));
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_are_unique_and_parse_back() {
        let a = temporary_name("run", "tmp");
        let b = temporary_name("run", "tmp");
        assert_ne!(a, b);
        assert_eq!(parse_temporary(&a).unwrap().0, std::process::id());
        assert_eq!(parse_temporary(".x.tmp-42"), Some((42, None)));
        assert_eq!(
            parse_temporary(".x.old-42-3@node7"),
            Some((42, Some("node7")))
        );
        assert_eq!(parse_temporary(".x.tmp-abc"), None);
        assert_eq!(parse_temporary("x.tmp-42"), None);
        // Two run folders for one target in one process do not collide.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run");
        let f1 = RunFolder::prepare(&target, true).unwrap();
        let f2 = RunFolder::prepare(&target, true).unwrap();
        assert_ne!(f1.path(), f2.path());
        std::fs::write(f1.path().join("one"), "1").unwrap();
        std::fs::write(f2.path().join("two"), "2").unwrap();
        f1.commit().unwrap();
        f2.commit().unwrap();
        assert!(target.join("two").exists() && !target.join("one").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn what_dead_processes_of_this_host_left_is_cleared_and_nothing_else() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let live = std::process::id();
        let host = host_tag().unwrap_or_default();
        let stale = [
            format!(".run.tmp-{dead}"),
            format!(".run.old-{dead}-0@{host}"),
            format!(".other.tmp-{dead}-7"),
        ];
        let kept = [
            format!(".run.tmp-{live}"),
            format!(".run.tmp-{dead}@some-other-node"),
            "run.tmp-1".to_string(),
            format!("notes.tmp-{dead}"),
        ];
        for n in stale.iter().chain(&kept) {
            std::fs::create_dir(dir.path().join(n)).unwrap();
            std::fs::write(dir.path().join(n).join("f"), "x").unwrap();
        }
        let removed = clear_stale(dir.path());
        assert_eq!(removed.len(), 3, "{removed:?}");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = kept.to_vec();
        want.sort();
        assert_eq!(left, want);
        // A run into the same parent clears them too.
        std::fs::create_dir(dir.path().join(format!(".run.tmp-{dead}"))).unwrap();
        let f = RunFolder::prepare(&dir.path().join("run"), false).unwrap();
        assert!(!dir.path().join(format!(".run.tmp-{dead}")).exists());
        f.commit().unwrap();
    }

    #[test]
    fn registered_temporaries_follow_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let f = RunFolder::prepare(&dir.path().join("run"), false).unwrap();
        let staging = f.path().to_path_buf();
        assert!(temporaries().contains(&staging));
        f.commit().unwrap();
        assert!(!temporaries().contains(&staging));
        let f = RunFolder::prepare(&dir.path().join("run2"), false).unwrap();
        let staging = f.path().to_path_buf();
        drop(f);
        assert!(!temporaries().contains(&staging));
    }
}
