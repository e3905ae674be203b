//! Typed models of the SnelStart B2B API v2.
//!
//! One module per resource, all re-exported here flat. Every type mirrors the vendor schema of
//! the same Dutch noun (`RelatieModel` is [`Relatie`], `VerkoopBoekingModel` is
//! [`Verkoopboeking`], ...) with the exact JSON property names and JSON types; the contract test
//! (`tests/contract.rs`) checks that against the vendor definition.
//!
//! Conventions shared by every model:
//!
//! - **Ids** are the per-resource newtypes of [`crate::ids`], **references** to other records are
//!   [`Reference`](crate::wire::Reference) values (`{id, uri}`).
//! - **Money** is [`rust_decimal::Decimal`], read from any JSON number (or numeric string) and
//!   written as a JSON number. This includes `factuurkorting` and `kredietLimiet`, which the
//!   vendor types as `double`: they are percentages and euro amounts, and a float would
//!   silently change them.
//! - **Dates** are [`chrono::NaiveDateTime`] in SnelStart's offset-less form; date-only fields
//!   are midnight.
//! - **Nullable** fields are `Option`; `null` and an absent property both read as `None`, and
//!   `None` is left out on write (SnelStart treats an absent property as `null`). Booleans
//!   read `null` as `false`.
//! - **Write models** (the bodies of `POST`/`PUT`: [`RelatieWrite`], the bookings and their
//!   lines, [`Memoriaalboeking`], [`DocumentContent`], ...) have every property optional, lists
//!   included (`Option<Vec<_>>`), so they derive `Default` and a body is built by assigning
//!   only what matters; the `new(...)` constructors fill what SnelStart requires. **Read-only
//!   models** ([`Relatie`], [`Verkoopfactuur`], [`Grootboekmutatie`], ...) carry their id as a
//!   plain id and read `null` lists as empty `Vec`s.
//! - **Unknown properties are ignored** on read, so a field SnelStart adds later never breaks
//!   decoding; enums keep unknown values in an `Unknown(String)` variant.
//! - **Read-only** properties (`id`, `uri`, `modifiedOn`, `documents`, ...) are never required
//!   on write. Models used for both reading and writing (bookings, cost centres, ledgers) leave
//!   them out when they are `None`/empty; [`RelatieWrite`] does not have them at all.
//! - Every struct is `#[non_exhaustive]`: build one with its `new(...)` constructor (required
//!   fields) or `Default`, then assign the public fields.

mod bankboeking;
mod btw;
mod company_info;
mod custom_fields;
mod dagboek;
mod document;
mod grootboek;
mod grootboekmutatie;
mod incasso;
mod inkoopboeking;
mod inkoopfactuur;
mod kasboeking;
mod kostenplaats;
mod land;
mod memoriaalboeking;
mod relatie;
mod verkoopboeking;
mod verkoopfactuur;

pub use bankboeking::*;
pub use btw::*;
pub use company_info::*;
pub use custom_fields::*;
pub use dagboek::*;
pub use document::*;
pub use grootboek::*;
pub use grootboekmutatie::*;
pub use incasso::*;
pub use inkoopboeking::*;
pub use inkoopfactuur::*;
pub use kasboeking::*;
pub use kostenplaats::*;
pub use land::*;
pub use memoriaalboeking::*;
pub use relatie::*;
pub use verkoopboeking::*;
pub use verkoopfactuur::*;

/// Reads `null` as the type's default: SnelStart writes `null` for lists and flags that were
/// never set, where the Rust side wants an empty `Vec` or `false` rather than an `Option`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}
