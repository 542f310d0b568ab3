//! The CommandAdapter config: `env_vars` (a list of `{key, value}`) and
//! `commands` (one shell snippet per operation), as backup-cli reads it.
//!
//! ```ignore
//! let cfg = Config::load("s3.sample.yaml")?;
//! cfg.commands.open_for_read // `aws s3 cp … - | gzip -cd`
//! ```

use serde::Deserialize;

/// One `env_vars` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
}

/// The `commands` mapping. Unknown keys are ignored, as in backup-cli.
#[derive(Debug, Clone, Deserialize)]
pub struct Commands {
    pub create_backup: String,
    pub create_for_write: String,
    pub open_for_read: String,
    pub save_metadata_line: String,
    pub list_metadata_files: String,
    #[serde(default)]
    pub backup_metadata_file: Option<String>,
}

/// A parsed config file.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub env_vars: Vec<EnvVar>,
    pub commands: Commands,
}

impl Config {
    /// Reads and parses the YAML config at `path`; errors name the file.
    pub fn load(path: &str) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: read config: {e}"))?;
        serde_yaml::from_str(&text).map_err(|e| format!("{path}: invalid command adapter config: {e}"))
    }
}
