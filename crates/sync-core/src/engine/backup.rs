//! Configuration backup and restore, and the check of a configuration against SnelStart.
//!
//! An [`EngineBackup`] is one versioned JSON document with everything needed to roll a broken
//! configuration back or to move the engine to a new machine: every saved version of the
//! mapping configuration (the store's [`ConfigStore`](crate::store::ConfigStore) history, with
//! the original save times) and every id link of every kind (with natural keys and payload
//! hashes, so the new machine neither duplicates records nor re-sends unchanged ones).
//!
//! * [`SyncEngine::export_backup`] writes it; [`EngineBackup::to_json_string`] /
//!   [`EngineBackup::from_json_str`] move it through a file (the reader refuses other
//!   documents, newer format versions and inconsistent content, each with a typed
//!   [`BackupError`]).
//! * [`SyncEngine::import_backup`] restores it into a store, normally an empty one. It checks
//!   everything before writing anything: a store whose history or links contradict the backup
//!   is refused with every conflicting link named, and nothing is changed.
//! * [`SyncEngine::rollback_config`] saves an earlier version as the new latest version, and
//!   [`SyncEngine::stored_config`] reads a version back, to build the engine that runs it.
//! * [`SyncEngine::check_config`] validates the configuration against the administration's
//!   current chart of accounts (ledgers and cost centres, two list calls).

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mapping::config::{ChartOfAccounts, ChartReport, ConfigError, MappingConfig};
use serde::{Deserialize, Serialize};
use snelstart_client::odata::Query;
use snelstart_client::ops;
use uuid::Uuid;

use super::SyncEngine;
use crate::crm::{CrmSink, CrmSource};
use crate::error::EngineError;
use crate::store::{
    AdminKey, ConfigVersion, EntityKind, IdLink, LinkPart, Store, StoreError, legacy_link_key,
    stream_links,
};

/// The `format` marker of an engine backup document.
pub const ENGINE_BACKUP_FORMAT: &str = "snelstart-sync/engine-backup";
/// The document format version this release writes. It also reads format 1, whose links
/// spelled the part of a record into the CRM id (`A#2`, `invoice/file`; see
/// [`legacy_link_key`]); format 2 has a `part` per link.
pub const ENGINE_BACKUP_VERSION: u32 = 2;

/// Links are read from the store in pages of this size.
const LINK_PAGE: usize = 500;

/// A backup of one administration's engine state: configuration history and id links.
///
/// The work queue, cursors and audit log are deliberately not part of it: they describe work
/// in progress on the old machine, and the CRM source re-delivers what was not finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EngineBackup {
    /// Always [`ENGINE_BACKUP_FORMAT`].
    pub format: String,
    /// The document format version, [`ENGINE_BACKUP_VERSION`].
    pub format_version: u32,
    /// When it was exported.
    pub exported_at: DateTime<Utc>,
    /// The administration it belongs to.
    pub admin: AdminKey,
    /// Every saved configuration version, ascending from 1 without gaps.
    pub config_versions: Vec<ConfigVersion>,
    /// Every id link of every kind.
    pub links: Vec<IdLink>,
}

impl EngineBackup {
    /// The backup as pretty-printed JSON.
    pub fn to_json_string(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a backup document and checks it: the format marker, the format version (a newer
    /// one is refused rather than half understood) and the content (versions without gaps,
    /// each a valid mapping configuration; links of the backup's administration, unique per
    /// key).
    ///
    /// # Errors
    ///
    /// [`BackupError::Malformed`], [`BackupError::NotABackup`], [`BackupError::NewerFormat`],
    /// [`BackupError::Inconsistent`] or [`BackupError::InvalidConfig`].
    pub fn from_json_str(text: &str) -> Result<Self, BackupError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| BackupError::Malformed(e.to_string()))?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(ENGINE_BACKUP_FORMAT) => {}
            other => {
                return Err(BackupError::NotABackup(format!(
                    "format is {other:?}, expected {ENGINE_BACKUP_FORMAT:?}"
                )));
            }
        }
        let format_version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        match format_version {
            Some(1) => {}
            Some(v) if v == u64::from(ENGINE_BACKUP_VERSION) => {}
            Some(v) if v > u64::from(ENGINE_BACKUP_VERSION) => {
                return Err(BackupError::NewerFormat {
                    found: v,
                    supported: ENGINE_BACKUP_VERSION,
                });
            }
            other => {
                return Err(BackupError::NotABackup(format!(
                    "format_version is {other:?}, this release reads 1 to {ENGINE_BACKUP_VERSION}"
                )));
            }
        }
        let mut backup: EngineBackup =
            serde_json::from_value(value).map_err(|e| BackupError::Malformed(e.to_string()))?;
        if format_version == Some(1) {
            backup.upgrade_legacy_links();
        }
        backup.validate()?;
        Ok(backup)
    }

    /// Reads the links of a format-1 backup, whose keys spelled the part into the CRM id,
    /// with [`legacy_link_key`] (the rule the stores' migrations use) against the backup's own
    /// links, and marks the document as format 2.
    fn upgrade_legacy_links(&mut self) {
        let existing: HashSet<(EntityKind, String)> = self
            .links
            .iter()
            .map(|l| (l.kind, l.crm_id.clone()))
            .collect();
        for link in &mut self.links {
            let (crm_id, part) = legacy_link_key(link.kind, &link.crm_id, |kind, id| {
                existing.contains(&(kind, id.to_owned()))
            });
            link.crm_id = crm_id;
            link.part = part;
        }
        self.format_version = ENGINE_BACKUP_VERSION;
    }

    /// Checks the content for consistency (see [`EngineBackup::from_json_str`]).
    ///
    /// # Errors
    ///
    /// [`BackupError::Inconsistent`] naming the first offending entry, or
    /// [`BackupError::InvalidConfig`] naming the version.
    pub fn validate(&self) -> Result<(), BackupError> {
        for (i, v) in self.config_versions.iter().enumerate() {
            let expected = i as u64 + 1;
            if v.version != expected {
                return Err(BackupError::Inconsistent(format!(
                    "config_versions[{i}] is version {}, expected {expected} (versions run from 1 without gaps)",
                    v.version
                )));
            }
            parse_config(v.version, &v.document)?;
        }
        let mut crm_ids = HashSet::new();
        let mut snelstart_ids = HashSet::new();
        let mut natural_keys = HashSet::new();
        for (i, link) in self.links.iter().enumerate() {
            if link.admin != self.admin {
                return Err(BackupError::Inconsistent(format!(
                    "links[{i}] ({}) belongs to administration {:?}, the backup to {:?}",
                    link.describe(),
                    link.admin.as_str(),
                    self.admin.as_str()
                )));
            }
            let duplicate = if !crm_ids.insert((link.kind, link.crm_id.as_str(), &link.part)) {
                Some("CRM id and part")
            } else if !snelstart_ids.insert((link.kind, link.snelstart_id)) {
                Some("SnelStart id")
            } else if link
                .natural_key
                .as_deref()
                .is_some_and(|k| !natural_keys.insert((link.kind, k)))
            {
                Some("natural key")
            } else {
                None
            };
            if let Some(what) = duplicate {
                return Err(BackupError::Inconsistent(format!(
                    "links[{i}] ({}) repeats the {what} of an earlier link",
                    link.describe()
                )));
            }
        }
        Ok(())
    }
}

fn parse_config(version: u64, document: &serde_json::Value) -> Result<MappingConfig, BackupError> {
    MappingConfig::from_json_str(&document.to_string())
        .map_err(|source| BackupError::InvalidConfig { version, source })
}

/// A link in a backup that contradicts the store it is imported into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LinkConflict {
    /// The kind of record.
    pub kind: EntityKind,
    /// The CRM id of the link in the backup.
    pub crm_id: String,
    /// The part of the CRM record.
    pub part: LinkPart,
    /// The SnelStart id the backup links it to.
    pub snelstart_id: Uuid,
    /// What the store holds instead.
    pub reason: String,
}

impl fmt::Display for LinkConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{} -> {}: {}",
            self.kind,
            self.crm_id,
            match &self.part {
                LinkPart::Whole => String::new(),
                part => format!(" ({part})"),
            },
            self.snelstart_id,
            self.reason
        )
    }
}

/// Why a backup could not be read, restored or rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The text is not JSON of the backup's shape.
    #[error("the backup is not valid JSON for this format: {0}")]
    Malformed(String),
    /// A JSON document that is not an engine backup (another format marker or version).
    #[error("not a snelstart-sync engine backup: {0}")]
    NotABackup(String),
    /// Written by a newer release of this library.
    #[error(
        "the backup has format_version {found}; this release of snelstart-sync reads up to {supported}"
    )]
    NewerFormat {
        /// The version in the document.
        found: u64,
        /// The newest version this release reads.
        supported: u32,
    },
    /// The document contradicts itself (gaps in the history, duplicate links, ...).
    #[error("the backup is inconsistent: {0}")]
    Inconsistent(String),
    /// A configuration version is not a valid mapping configuration.
    #[error("configuration version {version} is not a valid mapping configuration: {source}")]
    InvalidConfig {
        /// The version.
        version: u64,
        /// What is wrong with it.
        source: ConfigError,
    },
    /// The backup belongs to another administration than the engine serves.
    #[error("the backup is of administration {backup:?}, this engine serves {engine:?}")]
    AdminMismatch {
        /// The backup's administration.
        backup: String,
        /// The engine's administration.
        engine: String,
    },
    /// The store already has a configuration history that differs from the backup's.
    #[error(
        "the store's configuration version {version} differs from the backup's; restore into an empty store"
    )]
    HistoryConflict {
        /// The first version that differs.
        version: u64,
    },
    /// Links of the backup contradict links in the store; nothing was imported.
    #[error("{} link(s) of the backup conflict with the store, nothing was imported: {}", .0.len(), conflict_summary(.0))]
    LinkConflicts(Vec<LinkConflict>),
    /// No such configuration version.
    #[error("configuration version {0} does not exist")]
    UnknownVersion(u64),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

fn conflict_summary(conflicts: &[LinkConflict]) -> String {
    const SHOWN: usize = 10;
    let mut text = conflicts
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if conflicts.len() > SHOWN {
        text.push_str(&format!("; and {} more", conflicts.len() - SHOWN));
    }
    text
}

/// What [`SyncEngine::import_backup`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportSummary {
    /// Configuration versions written.
    pub config_versions_added: u64,
    /// Configuration versions the store already had (identical).
    pub config_versions_present: u64,
    /// Links written.
    pub links_added: u64,
    /// Links the store already had (same SnelStart id and natural key).
    pub links_present: u64,
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Exports the configuration history and every id link of this administration.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`].
    pub async fn export_backup(&self) -> Result<EngineBackup, BackupError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let mut config_versions = Vec::new();
        for version in store.config_versions(admin).await? {
            let saved = store
                .config(admin, version)
                .await?
                .ok_or_else(|| StoreError::not_found(format!("configuration version {version}")))?;
            config_versions.push(saved);
        }
        let mut links = Vec::new();
        for kind in EntityKind::ALL {
            let mut stream = std::pin::pin!(stream_links(store, admin.clone(), kind, LINK_PAGE));
            while let Some(link) = stream.try_next().await? {
                links.push(link);
            }
        }
        Ok(EngineBackup {
            format: ENGINE_BACKUP_FORMAT.to_owned(),
            format_version: ENGINE_BACKUP_VERSION,
            exported_at: self.now(),
            admin: admin.clone(),
            config_versions,
            links,
        })
    }

    /// Restores a backup into this engine's store, normally an empty one (a new machine).
    ///
    /// Everything is checked before anything is written: the backup must be consistent and of
    /// this administration; the store's configuration history must be empty or a prefix of
    /// the backup's (identical documents); no link may contradict one in the store (the same
    /// CRM record linked elsewhere, or the SnelStart record or natural key held by another CRM
    /// record). Links and versions the store already has identically are skipped, so an
    /// interrupted import can simply be run again. Versions keep their original save times.
    ///
    /// # Errors
    ///
    /// [`BackupError::LinkConflicts`] naming every conflicting link,
    /// [`BackupError::HistoryConflict`], [`BackupError::AdminMismatch`], the errors of
    /// [`EngineBackup::validate`], [`BackupError::Store`].
    pub async fn import_backup(&self, backup: &EngineBackup) -> Result<ImportSummary, BackupError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        if &backup.admin != admin {
            return Err(BackupError::AdminMismatch {
                backup: backup.admin.to_string(),
                engine: admin.to_string(),
            });
        }
        backup.validate()?;
        let mut summary = ImportSummary::default();

        // The configuration history: the store's must be a prefix of the backup's.
        let existing = store.config_versions(admin).await?;
        for &version in &existing {
            let Some(ours) = backup
                .config_versions
                .get(version.saturating_sub(1) as usize)
            else {
                break;
            };
            let theirs = store.config(admin, version).await?;
            if theirs.map(|t| t.document) != Some(ours.document.clone()) {
                return Err(BackupError::HistoryConflict { version });
            }
            summary.config_versions_present += 1;
        }
        let latest = existing.last().copied();

        // The links: collect every conflict before writing anything.
        let mut conflicts = Vec::new();
        let mut to_write = Vec::new();
        for link in &backup.links {
            let conflict = |reason: String| LinkConflict {
                kind: link.kind,
                crm_id: link.crm_id.clone(),
                part: link.part.clone(),
                snelstart_id: link.snelstart_id,
                reason,
            };
            if let Some(held) = store
                .link_by_crm_id(admin, link.kind, &link.crm_id, &link.part)
                .await?
            {
                if held.snelstart_id == link.snelstart_id && held.natural_key == link.natural_key {
                    summary.links_present += 1;
                } else {
                    conflicts.push(conflict(format!(
                        "the store links this CRM record to {} (natural key {:?})",
                        held.snelstart_id, held.natural_key
                    )));
                }
                continue;
            }
            if let Some(other) = store
                .link_by_snelstart_id(admin, link.kind, link.snelstart_id)
                .await?
            {
                conflicts.push(conflict(format!(
                    "the store links this SnelStart record to the {}",
                    other.describe()
                )));
                continue;
            }
            if let Some(key) = &link.natural_key
                && let Some(other) = store.link_by_natural_key(admin, link.kind, key).await?
            {
                conflicts.push(conflict(format!(
                    "natural key {key} is held by the {}",
                    other.describe()
                )));
                continue;
            }
            to_write.push(link.clone());
        }
        if !conflicts.is_empty() {
            return Err(BackupError::LinkConflicts(conflicts));
        }

        let mut expected = latest;
        for version in backup
            .config_versions
            .iter()
            .skip(summary.config_versions_present as usize)
        {
            let saved = store
                .save_config(admin, version.document.clone(), expected, version.saved_at)
                .await?;
            expected = Some(saved);
            summary.config_versions_added += 1;
        }
        for link in to_write {
            store.upsert_link(link).await?;
            summary.links_added += 1;
        }
        tracing::info!(
            admin = %admin,
            config_versions = summary.config_versions_added,
            links = summary.links_added,
            "backup imported"
        );
        Ok(summary)
    }

    /// Rolls the configuration back: saves stored version `version` again as the new latest
    /// version (history is never rewritten) and returns the new version number.
    ///
    /// The running engine keeps the configuration it was built with; build the next engine
    /// from [`SyncEngine::stored_config`].
    ///
    /// # Errors
    ///
    /// [`BackupError::UnknownVersion`], [`BackupError::InvalidConfig`] when that version is
    /// not a configuration this release reads, [`BackupError::Store`] (a `Conflict` when
    /// another writer saved a version at the same time).
    pub async fn rollback_config(&self, version: u64) -> Result<u64, BackupError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let target = store
            .config(admin, version)
            .await?
            .ok_or(BackupError::UnknownVersion(version))?;
        parse_config(version, &target.document)?;
        let latest = store.latest_config(admin).await?.map(|v| v.version);
        let saved = store
            .save_config(admin, target.document, latest, self.now())
            .await?;
        tracing::info!(admin = %admin, from = version, to = saved, "configuration rolled back");
        Ok(saved)
    }

    /// A stored configuration version (the latest when `version` is `None`), parsed; `None`
    /// when the store has no configuration yet.
    ///
    /// # Errors
    ///
    /// [`BackupError::UnknownVersion`] for a version that does not exist,
    /// [`BackupError::InvalidConfig`], [`BackupError::Store`].
    pub async fn stored_config(
        &self,
        version: Option<u64>,
    ) -> Result<Option<(u64, MappingConfig)>, BackupError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let saved = match version {
            Some(v) => Some(
                store
                    .config(admin, v)
                    .await?
                    .ok_or(BackupError::UnknownVersion(v))?,
            ),
            None => store.latest_config(admin).await?,
        };
        saved
            .map(|s| Ok((s.version, parse_config(s.version, &s.document)?)))
            .transpose()
    }

    /// Validates the engine's mapping configuration against the administration's current
    /// chart of accounts (`GET /grootboeken`, `GET /kostenplaatsen`): every ledger exists, is
    /// active and allows the VAT kinds booked on it. Check
    /// [`ChartReport::is_ok`]; the problems name the configuration path and the ledger.
    ///
    /// # Errors
    ///
    /// [`EngineError::SnelStart`] when the chart cannot be read.
    pub async fn check_config(&self) -> Result<ChartReport, EngineError> {
        self.check_mapping(&self.inner.config).await
    }

    /// As [`SyncEngine::check_config`], for another configuration (a backup or rollback
    /// candidate) before it is put to use.
    ///
    /// # Errors
    ///
    /// [`EngineError::SnelStart`] when the chart cannot be read.
    pub async fn check_mapping(&self, config: &MappingConfig) -> Result<ChartReport, EngineError> {
        let client = &self.inner.client;
        let ledgers = client
            .list_all(ops::grootboeken::list(Query::new()))
            .await?;
        let cost_centres = client.execute(ops::kostenplaatsen::list()).await?;
        let chart = ChartOfAccounts::from_snelstart(&ledgers, &cost_centres);
        Ok(config.validate_against(&chart))
    }
}
