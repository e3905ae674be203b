//! Typed keys of the engine's small state values (cursors, bindings, parked items, review
//! decisions, read-back positions).
//!
//! Before contract v2 these lived in a string-keyed table under names such as
//! `parked:relation:upsert:{crm_id}`, which had three faults: a CRM id containing the
//! separator could reach another record's key, nothing could delete or prune a family of
//! keys, and a backend could not index by what a key is about. A [`StateKey`] is instead a
//! value with fields; stores persist its [`StateKey::parts`] in separate columns.

use std::borrow::Cow;
use std::fmt;

use super::EntityKind;

/// Which concept a [`StateKey`] belongs to: the unit of [pruning](super::StateStore::prune_state).
///
/// [`StateArea::as_str`] is the stable spelling stores persist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum StateArea {
    /// The CRM source's change cursor.
    SourceCursor,
    /// The SnelStart administration an [`AdminKey`](super::AdminKey) is bound to.
    AdministrationBinding,
    /// When a sync of one entity kind last finished without an outage.
    LastSuccess,
    /// The payload hash and item of a failed or held change (so an identical change is not
    /// tried again until its data changes or someone replays it).
    Parked,
    /// A reviewer's decision for a record held for review.
    ReviewResolution,
    /// Read-back positions and fingerprints (change-feed cursors, balances delivered).
    ReadBack,
    /// Delivery ids a host has seen from a CRM (replay protection of its intake).
    IntakeEvent,
    /// Values a host keeps per administration (a pause switch, the last reconcile result).
    Host,
    /// The calls SnelStart still counts against the administration's rate budget.
    Budget,
}

impl StateArea {
    /// Every area, in declaration order.
    pub const ALL: [StateArea; 9] = [
        StateArea::SourceCursor,
        StateArea::AdministrationBinding,
        StateArea::LastSuccess,
        StateArea::Parked,
        StateArea::ReviewResolution,
        StateArea::ReadBack,
        StateArea::IntakeEvent,
        StateArea::Host,
        StateArea::Budget,
    ];

    /// The stable storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            StateArea::SourceCursor => "source_cursor",
            StateArea::AdministrationBinding => "administration_binding",
            StateArea::LastSuccess => "last_success",
            StateArea::Parked => "parked",
            StateArea::ReviewResolution => "review_resolution",
            StateArea::ReadBack => "readback",
            StateArea::IntakeEvent => "intake_event",
            StateArea::Host => "host",
            StateArea::Budget => "budget",
        }
    }

    /// Parses [`StateArea::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        StateArea::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for StateArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key of one state value of an administration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateKey {
    /// The CRM source's change cursor.
    SourceCursor,
    /// The `administratieIdentifier` the administration key is bound to.
    AdministrationBinding,
    /// When a sync of `kind` last finished without an outage (RFC 3339).
    LastSuccess(EntityKind),
    /// The parked change of one record and operation.
    Parked {
        /// The record's kind.
        kind: EntityKind,
        /// The operation (`upsert`, `archive`, ...).
        operation: String,
        /// The record's CRM id.
        crm_id: String,
    },
    /// A reviewer's decision for one record.
    ReviewResolution {
        /// The record's kind.
        kind: EntityKind,
        /// The record's CRM id.
        crm_id: String,
    },
    /// A read-back position: `feed` names it (for example `sales:modified_on`), `subject`
    /// the record it is about when there is one per record (a relation's balance, a
    /// booking's ledger), empty for feed-wide values.
    ReadBack {
        /// Which feed or fingerprint family.
        feed: Cow<'static, str>,
        /// The record, or empty.
        subject: String,
    },
    /// One delivery a host received from a CRM, by the CRM's event id.
    IntakeEvent {
        /// Which CRM (the host's name for it).
        source: String,
        /// The delivery's id as the CRM sent it.
        event_id: String,
    },
    /// A value a host keeps for the administration, by name.
    Host(Cow<'static, str>),
    /// When the calls SnelStart still counts against the rate budget were made (a JSON array
    /// of Unix milliseconds), so a restarted process, or another worker, starts with them.
    BudgetSpent,
}

/// The columns a store persists for a [`StateKey`]: together they are the key (with the
/// administration). Every field is a separate column, so no value of one field can spell
/// another's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StateParts<'a> {
    /// The concept.
    pub area: StateArea,
    /// The entity kind's spelling, or empty.
    pub kind: &'a str,
    /// The operation or read-back feed, or empty.
    pub scope: &'a str,
    /// The CRM id or other subject, or empty.
    pub subject: &'a str,
}

impl StateKey {
    /// A feed-wide read-back value.
    pub fn read_back(feed: impl Into<Cow<'static, str>>) -> Self {
        StateKey::ReadBack {
            feed: feed.into(),
            subject: String::new(),
        }
    }

    /// A per-record read-back value.
    pub fn read_back_of(feed: impl Into<Cow<'static, str>>, subject: impl Into<String>) -> Self {
        StateKey::ReadBack {
            feed: feed.into(),
            subject: subject.into(),
        }
    }

    /// The parked change of a record.
    pub fn parked(
        kind: EntityKind,
        operation: impl Into<String>,
        crm_id: impl Into<String>,
    ) -> Self {
        StateKey::Parked {
            kind,
            operation: operation.into(),
            crm_id: crm_id.into(),
        }
    }

    /// A reviewer's decision for a record.
    pub fn review_resolution(kind: EntityKind, crm_id: impl Into<String>) -> Self {
        StateKey::ReviewResolution {
            kind,
            crm_id: crm_id.into(),
        }
    }

    /// The concept this key belongs to.
    pub fn area(&self) -> StateArea {
        match self {
            StateKey::SourceCursor => StateArea::SourceCursor,
            StateKey::AdministrationBinding => StateArea::AdministrationBinding,
            StateKey::LastSuccess(_) => StateArea::LastSuccess,
            StateKey::Parked { .. } => StateArea::Parked,
            StateKey::ReviewResolution { .. } => StateArea::ReviewResolution,
            StateKey::ReadBack { .. } => StateArea::ReadBack,
            StateKey::IntakeEvent { .. } => StateArea::IntakeEvent,
            StateKey::Host(_) => StateArea::Host,
            StateKey::BudgetSpent => StateArea::Budget,
        }
    }

    /// The key's columns as stores persist them.
    pub fn parts(&self) -> StateParts<'_> {
        let area = self.area();
        let (kind, scope, subject): (&str, &str, &str) = match self {
            StateKey::SourceCursor | StateKey::AdministrationBinding | StateKey::BudgetSpent => {
                ("", "", "")
            }
            StateKey::LastSuccess(kind) => (kind.as_str(), "", ""),
            StateKey::Parked {
                kind,
                operation,
                crm_id,
            } => (kind.as_str(), operation, crm_id),
            StateKey::ReviewResolution { kind, crm_id } => (kind.as_str(), "", crm_id),
            StateKey::ReadBack { feed, subject } => ("", feed, subject),
            StateKey::IntakeEvent { source, event_id } => ("", source, event_id),
            StateKey::Host(name) => ("", name, ""),
        };
        StateParts {
            area,
            kind,
            scope,
            subject,
        }
    }
}

impl StateKey {
    /// Reads a name of the string-keyed cursor store that contract v1 had, so a backend can
    /// carry old values over when it upgrades. `None` for names this library never wrote.
    pub fn from_legacy_name(name: &str) -> Option<StateKey> {
        match name {
            "crm_source" => return Some(StateKey::SourceCursor),
            "administration_identifier" => return Some(StateKey::AdministrationBinding),
            _ => {}
        }
        if let Some(kind) = name.strip_prefix("last_success:") {
            return kind.parse().ok().map(StateKey::LastSuccess);
        }
        if let Some(rest) = name.strip_prefix("parked:") {
            // Kinds and operations never hold a colon; the CRM id is the rest, colons and all.
            let (kind, rest) = rest.split_once(':')?;
            let (operation, crm_id) = rest.split_once(':')?;
            return Some(StateKey::parked(kind.parse().ok()?, operation, crm_id));
        }
        if let Some(rest) = name.strip_prefix("review_resolution:") {
            let (kind, crm_id) = rest.split_once(':')?;
            return Some(StateKey::review_resolution(kind.parse().ok()?, crm_id));
        }
        if let Some(rest) = name.strip_prefix("snelsync.event.") {
            let (source, event_id) = rest.split_once('.')?;
            return Some(StateKey::IntakeEvent {
                source: source.to_owned(),
                event_id: event_id.to_owned(),
            });
        }
        if let Some(rest) = name.strip_prefix("snelsync.") {
            return Some(StateKey::Host(Cow::Owned(rest.to_owned())));
        }
        let rest = name.strip_prefix("readback:")?;
        for side in ["sales", "purchase"] {
            if let Some(relatie) = rest
                .strip_prefix(side)
                .and_then(|r| r.strip_prefix(":balance:"))
            {
                return Some(StateKey::read_back_of(format!("{side}:balance"), relatie));
            }
            if let Some(booking) = rest
                .strip_prefix("payments:")
                .and_then(|r| r.strip_prefix(side))
                .and_then(|r| r.strip_prefix(':'))
                && booking != "modified_on"
            {
                return Some(StateKey::read_back_of(format!("payments:{side}"), booking));
            }
        }
        if let Some(project) = rest.strip_prefix("project_purchases:") {
            return Some(StateKey::read_back_of("project_purchases", project));
        }
        Some(StateKey::read_back(rest.to_owned()))
    }
}

impl fmt::Display for StateKey {
    /// For messages only; never parsed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.parts();
        write!(f, "{}", p.area)?;
        for part in [p.kind, p.scope, p.subject] {
            if !part.is_empty() {
                write!(f, " {part:?}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_never_run_into_each_other() {
        // Under the old string keys `parked:relation:upsert:a:b` was both (upsert, "a:b") and
        // (upsert:a, "b"). As parts they differ.
        let one = StateKey::parked(EntityKind::Relation, "upsert", "a:b");
        let two = StateKey::parked(EntityKind::Relation, "upsert:a", "b");
        assert_ne!(one.parts(), two.parts());
        assert_eq!(one.parts().subject, "a:b");
        assert_eq!(StateArea::parse("parked"), Some(StateArea::Parked));
        assert_eq!(
            StateKey::from_legacy_name("parked:relation:upsert:a:b"),
            Some(one)
        );
        assert_eq!(
            StateKey::from_legacy_name("readback:sales:balance:42"),
            Some(StateKey::read_back_of("sales:balance", "42"))
        );
        assert_eq!(
            StateKey::from_legacy_name("readback:payments:purchase:9"),
            Some(StateKey::read_back_of("payments:purchase", "9"))
        );
        assert_eq!(
            StateKey::from_legacy_name("readback:payments:memoriaal:modified_on"),
            Some(StateKey::read_back("payments:memoriaal:modified_on"))
        );
        assert_eq!(StateKey::from_legacy_name("something else"), None);
        for area in StateArea::ALL {
            assert_eq!(StateArea::parse(area.as_str()), Some(area));
        }
    }
}
