//! Export and import of a configuration as a self-describing backup document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ConfigError, MappingConfig};

/// The `format` marker of a backup document.
pub const BACKUP_FORMAT: &str = "snelstart-sync/mapping-backup";
/// The backup envelope version this crate writes and reads.
pub const BACKUP_VERSION: u32 = 1;

/// A backup of a mapping configuration: the configuration plus what is needed to restore it
/// with confidence (format marker, envelope version, when and from what it was exported).
///
/// It is JSON so it can be stored next to other backups and diffed with ordinary tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConfigBackup {
    /// Always [`BACKUP_FORMAT`].
    pub format: String,
    /// The envelope version, [`BACKUP_VERSION`].
    pub backup_version: u32,
    /// When it was exported (given by the caller: this crate reads no clock).
    pub exported_at: DateTime<Utc>,
    /// Free text: which administration, who, why.
    #[serde(default)]
    pub note: Option<String>,
    /// The configuration.
    pub config: MappingConfig,
}

impl ConfigBackup {
    /// Wraps a configuration for export.
    pub fn new(config: MappingConfig, exported_at: DateTime<Utc>, note: Option<String>) -> Self {
        Self {
            format: BACKUP_FORMAT.to_owned(),
            backup_version: BACKUP_VERSION,
            exported_at,
            note,
            config,
        }
    }

    /// The backup as pretty-printed JSON.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a backup and checks the marker, the envelope version, the configuration's schema
    /// version and its structure.
    ///
    /// # Errors
    /// [`ConfigError::Json`] for malformed JSON, [`ConfigError::NotABackup`] for a wrong
    /// marker or version, and the errors of [`MappingConfig::from_json_str`].
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(BACKUP_FORMAT) => {}
            other => {
                return Err(ConfigError::NotABackup(format!(
                    "format is {other:?}, expected {BACKUP_FORMAT:?}"
                )));
            }
        }
        match value
            .get("backup_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(BACKUP_VERSION) => {}
            other => {
                return Err(ConfigError::NotABackup(format!(
                    "backup_version is {other:?}, this version reads {BACKUP_VERSION}"
                )));
            }
        }
        let backup: Self = serde_json::from_value(value)?;
        let config = backup.config.clone().checked()?;
        Ok(Self { config, ..backup })
    }
}
