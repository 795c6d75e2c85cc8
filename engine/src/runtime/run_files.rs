//! A run directory's own copies of what it ran with, so that `replay`, `state` and
//! `run --resume` work from any working directory and after the original files changed:
//!
//! ```text
//!   RUN/config.toml      the config file's text, byte for byte (its hash is the manifest's
//!                        config_hash)
//!   RUN/model.json|onnx  the model file, for file models (its hash is model_hash)
//!   RUN/inputs/ outputs/ the journals; their manifest names the copies (config_copy,
//!                        model_copy) and the config's directory (config_dir), against
//!                        which the config's other relative paths (FIX settings) resolve
//! ```
//!
//! The copies are written before the journals are opened and never rewritten: a resumed
//! run finds them in place and checks their hashes.

use std::path::{Path, PathBuf};

use tickrail_journal::Manifest;

use crate::config::{ConfigError, EngineConfig, ModelSpec};

/// The config copy's file name.
pub const CONFIG_COPY: &str = "config.toml";

/// Why the run directory's copies could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunFilesError {
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A copy exists with other contents than this run's (a different config or model).
    #[error("{path} holds another {what} than this run's (hash {found}, this run {ours})")]
    Differs {
        /// The copy.
        path: PathBuf,
        /// "config" or "model".
        what: &'static str,
        /// Hash of the copy.
        found: String,
        /// Hash of what this run has.
        ours: String,
    },
    /// The copied config no longer loads.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunFilesError + '_ {
    move |source| RunFilesError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The model copy's file name (`model.json`, `model.onnx`), for file models.
pub fn model_copy_name(cfg: &EngineConfig) -> Option<String> {
    match &cfg.model.spec {
        ModelSpec::Linear { .. } => None,
        ModelSpec::Xgboost { path } | ModelSpec::Onnx { path } => {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("bin");
            Some(format!("model.{ext}"))
        }
    }
}

/// The directory the config's relative paths resolve against, made absolute.
fn config_dir(cfg: &EngineConfig) -> PathBuf {
    let parent = Path::new(&cfg.file)
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    std::fs::canonicalize(&parent).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(&parent))
            .unwrap_or(parent)
    })
}

/// Adds the copies' keys to a run manifest.
pub fn add_manifest_keys(cfg: &EngineConfig, m: &mut Manifest) {
    m.set("config_copy", CONFIG_COPY);
    if let Some(name) = model_copy_name(cfg) {
        m.set("model_copy", &name);
    }
    m.set("config_dir", &config_dir(cfg).display().to_string());
}

/// Writes the config and model copies into `run_dir` (created), or checks the ones there
/// (a resumed run): same bytes, or [`RunFilesError::Differs`].
pub fn write(cfg: &EngineConfig, run_dir: &Path) -> Result<(), RunFilesError> {
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
    put(&run_dir.join(CONFIG_COPY), cfg.text().as_bytes(), "config")?;
    if let (Some(name), ModelSpec::Xgboost { path } | ModelSpec::Onnx { path }) =
        (model_copy_name(cfg), &cfg.model.spec)
    {
        let bytes = std::fs::read(path).map_err(io(path))?;
        put(&run_dir.join(name), &bytes, "model")?;
    }
    Ok(())
}

fn put(path: &Path, bytes: &[u8], what: &'static str) -> Result<(), RunFilesError> {
    let hash = |b: &[u8]| format!("{:016x}", crate::config::config_hash(b));
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => Ok(()),
        Ok(existing) => Err(RunFilesError::Differs {
            path: path.to_path_buf(),
            what,
            found: hash(&existing),
            ours: hash(bytes),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let tmp = path.with_extension("tmp");
            let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            std::io::Write::write_all(&mut f, bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io(path))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// The config a run ran with, from its copies (`None`: the manifest names no copy, a run
/// written before run directories kept them).
pub fn load(run_dir: &Path, manifest: &Manifest) -> Result<Option<EngineConfig>, RunFilesError> {
    let Some(copy) = manifest.get("config_copy") else {
        return Ok(None);
    };
    let path = run_dir.join(copy);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let base_dir = manifest
        .get("config_dir")
        .map_or_else(|| run_dir.to_path_buf(), PathBuf::from);
    let model = manifest.get("model_copy").map(|m| run_dir.join(m));
    let origin = path.display().to_string();
    Ok(Some(EngineConfig::from_toml_str_in(
        &text,
        &origin,
        &base_dir,
        model.as_deref(),
    )?))
}

/// A run mark (`tickrail_journal::kind::RUN_MARK`) for the journal whose manifest is
/// `manifest`: `event` (`close`, `resume`), this binary's version and the run's config hash.
pub fn mark(manifest: &Manifest, event: &str) -> Manifest {
    Manifest::new(
        env!("CARGO_PKG_VERSION"),
        manifest.get("config_hash").unwrap_or(""),
    )
    .with("event", event)
}

/// Whether the journal's last run mark is a clean close (`false` after a crash, and while
/// a resumed run is going).
pub fn closed_cleanly(marks: &[(u64, Manifest)]) -> bool {
    marks
        .last()
        .is_some_and(|(_, m)| m.get("event") == Some("close"))
}
