//! A run folder built under a temporary name and renamed into place when
//! complete, so a reader never sees half a run and a failed run leaves
//! nothing behind. An existing folder is replaced only when asked.

use std::path::{Path, PathBuf};

use crate::error::OutputError;

/// A run folder under construction.
#[derive(Debug)]
pub struct RunFolder {
    target: PathBuf,
    staging: PathBuf,
    force: bool,
    committed: bool,
}

impl RunFolder {
    /// Check `target` may be written and create the staging folder beside it.
    pub fn prepare(target: &Path, force: bool) -> Result<Self, OutputError> {
        if target.exists() && !force {
            return Err(OutputError::Exists(target.to_path_buf()));
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
        let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| OutputError::io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| OutputError::io(&staging, e))?;
        Ok(RunFolder {
            target: target.to_path_buf(),
            staging,
            force,
            committed: false,
        })
    }

    /// Where files are written until `commit`.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Move the finished folder into place (replacing an old one only with
    /// `force`, and only now that the new one is complete).
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let mut old = None;
        if self.target.exists() {
            if !self.force {
                return Err(OutputError::Exists(self.target.clone()));
            }
            let aside = self.staging.with_extension("old");
            std::fs::rename(&self.target, &aside).map_err(|e| OutputError::io(&self.target, e))?;
            old = Some(aside);
        }
        std::fs::rename(&self.staging, &self.target)
            .map_err(|e| OutputError::io(&self.target, e))?;
        self.committed = true;
        if let Some(old) = old {
            std::fs::remove_dir_all(&old).map_err(|e| OutputError::io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
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
}
