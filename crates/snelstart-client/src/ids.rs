//! One id type per SnelStart resource.
//!
//! SnelStart identifies every record by a GUID. Wrapping each in its own type means a
//! [`RelatieId`] can never be passed where a [`GrootboekId`] is expected. All of them print and
//! parse as the lower-case hyphenated GUID the API uses, and serialize as a JSON string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The error returned when a string is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a valid {kind} (expected a GUID like 00000000-0000-0000-0000-000000000000)"
)]
pub struct ParseIdError {
    kind: &'static str,
    value: String,
}

impl ParseIdError {
    /// The id type that failed to parse, e.g. `"RelatieId"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $resource:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// The API collection this id belongs to, as used in paths and `uri` values.
            pub const RESOURCE: &'static str = $resource;

            /// Wraps a GUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The GUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// A fresh random id (useful for tests and simulators; SnelStart assigns real ids).
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The relative `uri` SnelStart gives this record, e.g. `/relaties/{id}`.
            pub fn uri(&self) -> String {
                format!("/{}/{}", $resource, self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| ParseIdError {
                    kind: stringify!($name),
                    value: s.to_owned(),
                })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// Id of a relation (`/relaties`): a customer or supplier.
    RelatieId,
    "relaties"
);
id_type!(
    /// Id of a cost centre (`/kostenplaatsen`).
    KostenplaatsId,
    "kostenplaatsen"
);
id_type!(
    /// Id of a ledger account (`/grootboeken`).
    GrootboekId,
    "grootboeken"
);
id_type!(
    /// Id of a sales booking (`/verkoopboekingen`).
    VerkoopboekingId,
    "verkoopboekingen"
);
id_type!(
    /// Id of a purchase booking (`/inkoopboekingen`).
    InkoopboekingId,
    "inkoopboekingen"
);
id_type!(
    /// Id of a sales invoice, the open item a sales booking creates (`/verkoopfacturen`).
    VerkoopfactuurId,
    "verkoopfacturen"
);
id_type!(
    /// Id of a purchase invoice, the open item a purchase booking creates (`/inkoopfacturen`).
    InkoopfactuurId,
    "inkoopfacturen"
);
id_type!(
    /// Id of an attachment (`/documenten`).
    DocumentId,
    "documenten"
);
id_type!(
    /// Id of a journal entry (`/memoriaalboekingen`).
    MemoriaalboekingId,
    "memoriaalboekingen"
);
id_type!(
    /// Id of a bank booking (`/bankboekingen`).
    BankboekingId,
    "bankboekingen"
);
id_type!(
    /// Id of a cash booking (`/kasboekingen`).
    KasboekingId,
    "kasboekingen"
);
id_type!(
    /// Id of a ledger mutation (`/grootboekmutaties`).
    GrootboekmutatieId,
    "grootboekmutaties"
);
id_type!(
    /// Id of a country (`/landen`).
    LandId,
    "landen"
);
id_type!(
    /// Id of a journal (`/dagboeken`).
    DagboekId,
    "dagboeken"
);
id_type!(
    /// Id of a recurring direct-debit mandate (`/relaties/{id}/doorlopendeincassomachtigingen`).
    IncassoMachtigingId,
    "doorlopendeincassomachtigingen"
);
id_type!(
    /// Id of a sales order (`/verkooporders`); only seen as a reference on sales invoices.
    VerkoopOrderId,
    "verkooporders"
);
id_type!(
    /// Id of the administration itself (`companyInfo.administratieIdentifier`).
    AdministratieId,
    "companyInfo"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_lower_case_hyphenated() {
        let id: RelatieId = "A1B2C3D4-0000-4000-8000-00000000000F".parse().unwrap();
        assert_eq!(id.to_string(), "a1b2c3d4-0000-4000-8000-00000000000f");
        assert_eq!(id.uri(), "/relaties/a1b2c3d4-0000-4000-8000-00000000000f");
        assert_eq!(
            format!("{id:?}"),
            "RelatieId(a1b2c3d4-0000-4000-8000-00000000000f)"
        );
    }

    #[test]
    fn rejects_non_guid_and_names_the_type() {
        let err = "not-a-guid".parse::<GrootboekId>().unwrap_err();
        assert_eq!(err.kind(), "GrootboekId");
        assert!(err.to_string().contains("not-a-guid"));
    }

    #[test]
    fn serializes_as_plain_string() {
        let id = KostenplaatsId::from_uuid(Uuid::nil());
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"00000000-0000-0000-0000-000000000000\""
        );
    }
}
