//! The one error type every store returns.

use std::error::Error as StdError;

/// Why a store operation failed.
///
/// The variants are semantic so the engine can react without knowing the backend: a
/// [`Conflict`](StoreError::Conflict) means "someone else won the race, re-read and decide
/// again", [`NotFound`](StoreError::NotFound) means the addressed record does not exist,
/// [`Backend`](StoreError::Backend) is an I/O or driver failure that may succeed on retry, and
/// [`Corrupt`](StoreError::Corrupt) means stored data can no longer be decoded (a bug or a
/// tampered database; retrying will not help).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap lost (the stored value differed from the expected one), a lease was
    /// lost, or a uniqueness rule would be broken.
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicted, naming the record.
        what: String,
    },
    /// The addressed record does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The caller passed a value the store cannot represent (for example a timestamp outside
    /// the supported range or a lease that overflows).
    #[error("invalid input: {detail}")]
    Invalid {
        /// Which value, and why.
        detail: String,
    },
    /// Stored data could not be decoded.
    #[error("corrupt store data: {detail}")]
    Corrupt {
        /// Which record and field, and what was wrong.
        detail: String,
    },
    /// The backend (database driver, file system, thread pool) failed.
    #[error("store backend error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync + 'static>),
}

impl StoreError {
    /// Builds a [`StoreError::Conflict`].
    pub fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict { what: what.into() }
    }

    /// Builds a [`StoreError::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Builds a [`StoreError::Invalid`].
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid {
            detail: detail.into(),
        }
    }

    /// Builds a [`StoreError::Corrupt`].
    pub fn corrupt(detail: impl Into<String>) -> Self {
        Self::Corrupt {
            detail: detail.into(),
        }
    }

    /// Wraps a backend failure.
    pub fn backend(source: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        Self::Backend(source.into())
    }

    /// True for [`StoreError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// True for [`StoreError::Invalid`].
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }

    /// True for [`StoreError::Corrupt`].
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Corrupt { .. })
    }

    /// True for [`StoreError::Backend`]: the only kind worth retrying unchanged.
    pub fn is_backend(&self) -> bool {
        matches!(self, Self::Backend(_))
    }
}
