//! Typed models of the SnelStart B2B API v2.
//!
//! One module per resource, all re-exported here flat. Every type mirrors the vendor schema of
//! the same Dutch noun (`RelatieModel` is [`Relatie`], `VerkoopBoekingModel` is
//! [`Verkoopboeking`], ...) with the exact JSON property names and JSON types; the contract test
//! (`tests/contract.rs`) checks that against the vendor definition, and `tests/round_trip.rs`
//! decodes and re-encodes 3,480 response bodies generated from it (every value exact, `null`
//! and absent never coming back as a value, `[]` as `[]`).
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
//!   `None` is left out on write (SnelStart treats an absent property as `null`). No default
//!   is invented on the way in and written back on the way out: see the table below for the
//!   few documented exceptions.
//! - **Write models** (the bodies of `POST`/`PUT`: [`RelatieWrite`], the bookings and their
//!   lines, [`Memoriaalboeking`], [`DocumentContent`], ...) have every property optional, lists
//!   included (`Option<Vec<_>>`), so they derive `Default` and a body is built by assigning
//!   only what matters; the `new(...)` constructors fill what SnelStart requires. **Read-only
//!   models** ([`Relatie`], [`Verkoopfactuur`], [`Grootboekmutatie`], ...) carry their id as a
//!   plain id. Their lists are [`WireList`](crate::wire::WireList)s: they read like a `Vec`,
//!   but remember whether SnelStart sent `null`/nothing or `[]`, and write back exactly that.
//! - **Unknown properties are ignored** on read, so a field SnelStart adds later never breaks
//!   decoding; enums keep unknown values in an `Unknown(String)` variant.
//! - **Read-only** properties (`id`, `uri`, `modifiedOn`, `documents`, ...) are never required
//!   on write. Models used for both reading and writing (bookings, cost centres, ledgers) leave
//!   them out when they are `None`/empty; [`RelatieWrite`] does not have them at all.
//! - Every struct is `#[non_exhaustive]`: build one with its `new(...)` constructor (required
//!   fields) or `Default`, then assign the public fields.
//!
//! ## Required or optional, and why
//!
//! The vendor definition marks almost nothing `required` (19 of 237 schemas have a `required`
//! list, all of them request bodies). The rule here: **a property is optional (`Option`, or a
//! `WireList` for lists) unless the client cannot do anything sensible without it**. The
//! contract test `null_absent_and_empty_lists_follow_the_wire` checks, for every model, that a
//! `null` and an absent variant of every optional property decode, that `[]` is written back as
//! `[]`, and that `null`/absent never comes back as a value, except for the rows below.
//!
//! | field(s) | on the Rust side | why |
//! |---|---|---|
//! | every reference, string, date, amount, enum | `Option<_>` | the definition does not require them; SnelStart sends `null` for unset values |
//! | every list of a read model (`relatiesoort`, `documents`, `extraVeldenKlant`, `rgsCode`, `btwSoort`, `verkoopOrders`, `factureerBuitenlandsBtwRanges`, custom fields) | `WireList<_>` | `null`/absent and `[]` are different values and both come back as they came |
//! | flags nobody in the sync reads (`markering`, `gewijzigdDoorAccountant`, `readOnly`, `forcePersist`, `shouldSend`, the companyInfo switches) | `Option<bool>` | `null` is not `false` |
//! | `GrootboekMutatieModel.debet` / `credit` / `saldo` | `Option<Decimal>` | `null` and absent read the same (`None`), never `0` |
//! | `id` of read models (`Relatie`, `Verkoopfactuur`, `Inkoopfactuur`, `Grootboekmutatie`, `Document`, `DocumentListItem`, `Land`, `Dagboek`, `DoorlopendeIncassoMachtiging`) | required | a record without an id cannot be linked or read back; in a list such an item is skipped and reported ([`ItemDecodeProblem`](crate::error::ItemDecodeProblem)), a single GET fails naming `id` |
//! | `BtwTarief.btwPercentage` / `btwSoort` / `datumVanaf` | required | a VAT rate without them is no rate |
//! | `Relatie.relatiecode`, `Grootboek.nummer`, `Kostenplaats.nummer`, `Dagboek.nummer`, the numbers of a foreign-VAT range | `Option<i32>` / `Option<i64>` | SnelStart assigns or may omit them; `0` is a value, not "unset", so a read-modify-write never PUTs `nummer: 0` |
//! | `nonactief`, `bankieren`, `ublBestandAlsBijlage`, `kostenplaatsVerplicht`, `factureerBuitenlandsBtw`, `markering`, `gewijzigdDoorAccountant` (read and write models alike) | `Option<bool>` | `null` is not `false`: what was not sent is not written back. What an absent flag *means* is decided in one place per model: [`Relatie::is_inactive`], [`Grootboek::is_inactive`], [`Grootboek::requires_kostenplaats`], [`Kostenplaats::is_inactive`], [`Dagboek::is_inactive`] (only an explicit `true` counts) |
//!
//! No optional property reads `null`/absent as a value: the contract test has no exceptions.

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

/// Reads `null` as the type's default; only for the lists of a request body the client never reads
/// back from SnelStart ([`RelatieUpdatedCustomFields`]).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}
