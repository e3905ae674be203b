//! # snelstart-client
//!
//! A typed, safe, rate-limit-aware client for the [SnelStart](https://www.snelstart.nl) B2B API
//! v2, the accounting package of many Dutch small and mid-sized businesses.
//!
//! ## A tour
//!
//! **Authenticate.** A partner *subscription key* and the administration's *koppelsleutel*
//! give a bearer token, which the client fetches, caches and refreshes itself. The secrets
//! never appear in `Debug` output, errors or logs.
//!
//! ```no_run
//! use snelstart_client::{Client, budget::BudgetConfig};
//! # fn main() -> Result<(), snelstart_client::Error> {
//! let client = Client::builder()
//!     .subscription_key("…from the developer portal…")
//!     .koppelsleutel("…from SnelStart Web, Koppelingen…")
//!     .rate_budget(BudgetConfig::test_key()) // 100/min, 1,000/h, 5 at once
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! **List with a filter.** OData lists are streams that page by themselves; the filter builder
//! only produces what SnelStart accepts (UpperCamelCase properties, v3 literals).
//!
//! ```no_run
//! # use snelstart_client::{Client, ops, odata::{Filter, Property, Query}};
//! # use futures::TryStreamExt;
//! # async fn tour(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let query = Query::new().filter(Filter::relatiesoort_is("Klant")
//!     .and(Filter::contains(Property::new("Naam")?, "Bakkerij")));
//! let mut customers = std::pin::pin!(client.list(ops::relaties::list(query)));
//! while let Some(relatie) = customers.try_next().await? {
//!     println!("{:?} {:?}", relatie.relatiecode, relatie.naam);
//! }
//! # Ok(()) }
//! ```
//!
//! **Create a relation**, and handle the one case that needs thought: a create whose
//! response was lost may have happened, so look it up by its natural key before trying again.
//!
//! ```no_run
//! # use snelstart_client::{Client, ops, models::{RelatieWrite, Relatiesoort}, odata::{Filter, Property, Query}};
//! # async fn tour(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let mut relatie = RelatieWrite::default();
//! relatie.relatiesoort = Some(vec![Relatiesoort::Klant]);
//! relatie.relatiecode = Some(10042);
//! relatie.naam = Some("Bakkerij De Gouden Korst B.V.".into());
//! match client.execute(ops::relaties::create(&relatie)?).await {
//!     Ok(created) => println!("created {}", created.id),
//!     Err(e) if e.outcome_uncertain() => {
//!         let query = Query::new().filter(Filter::eq(Property::new("Relatiecode")?, 10042));
//!         let found = client.list_all(ops::relaties::list(query)).await?;
//!         println!("after a lost response: {} found", found.len());
//!     }
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(()) }
//! ```
//!
//! **Book an invoice.** Lines are net amounts on a ledger with a VAT kind; the VAT lines hold
//! the VAT per kind; `factuurbedrag` is the total including VAT.
//!
//! ```no_run
//! # use snelstart_client::{Client, ops, models::*, RelatieId, GrootboekId, Reference};
//! # use rust_decimal::Decimal;
//! # async fn tour(client: Client, klant: RelatieId, omzet_hoog: GrootboekId) -> Result<(), Box<dyn std::error::Error>> {
//! let mut boeking = Verkoopboeking::default();
//! boeking.factuurnummer = Some("2024-0001".into());
//! boeking.klant = Some(Reference::new(klant));
//! boeking.factuurdatum = chrono::NaiveDate::from_ymd_opt(2024, 11, 12).unwrap().and_hms_opt(0, 0, 0);
//! let mut regel = VerkoopboekingRegel::default();
//! regel.grootboek = Some(Reference::new(omzet_hoog));
//! regel.bedrag = Some(Decimal::new(100000, 2));
//! regel.btw_soort = Some(BtwSoort::Hoog);
//! boeking.boekingsregels = Some(vec![regel]);
//! let mut btw = VerkoopboekingBtwRegel::default();
//! btw.btw_soort = Some(VerkoopBtwSoort::VerkopenHoog);
//! btw.btw_bedrag = Some(Decimal::new(21000, 2));
//! boeking.btw = Some(vec![btw]);
//! boeking.factuurbedrag = Some(Decimal::new(121000, 2));
//! let booked = client.execute(ops::verkoopboekingen::create(&boeking)?).await?;
//! # Ok(()) }
//! ```
//!
//! **Read open items.** Each sales booking has a sales invoice whose `openstaandSaldo` drops
//! as payments are allocated.
//!
//! ```no_run
//! # use snelstart_client::{Client, ops, odata::{Filter, Property, Query}};
//! # use rust_decimal::Decimal;
//! # async fn tour(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let open = Query::new().filter(Filter::ne(Property::new("OpenstaandSaldo")?, Decimal::ZERO));
//! for factuur in client.list_all(ops::verkoopfacturen::list(open)).await? {
//!     println!("{:?}: {:?} open", factuur.factuurnummer, factuur.openstaand_saldo);
//! }
//! # Ok(()) }
//! ```
//!
//! ## What happens on every call
//!
//! One execute path ([`Client::execute`]) adds the `Ocp-Apim-Subscription-Key` header and the
//! bearer token (refreshed 60 s before expiry; one transparent retry after a 401), waits for
//! room in the administration's [rate budget](budget), retries what is safe to retry
//! ([`retry`]), decodes every error body shape SnelStart and its gateway produce ([`error`]),
//! and records a tracing span and `metrics` counters:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `snelstart_client_requests_total` | counter | method, route, status (0 = no response) |
//! | `snelstart_client_request_duration_seconds` | histogram | method, route |
//! | `snelstart_client_retries_total` | counter | route |
//! | `snelstart_client_rate_limited_total` | counter | route |
//! | `snelstart_client_item_decode_problems_total` | counter | route (list items skipped, see [`Client::decode_problems`]) |
//! | `snelstart_client_api_drift_total` | counter | route (a new kind of unknown property or enum value, see [`drift`]) |
//!
//! ## Features
//!
//! - `http` (default): the client. Without it the crate is only the pure part (models, ids,
//!   OData, errors, the retry classifier), with no async runtime and no I/O.

pub mod decoding;
pub mod drift;
pub mod error;
pub mod ids;
pub mod models;
pub mod odata;
pub mod ops;
pub mod request;
pub mod retry;
pub mod wire;

#[cfg(feature = "http")]
mod auth;
#[cfg(feature = "http")]
pub mod budget;
#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
pub mod paging;

#[cfg(all(test, feature = "http"))]
mod fuzz_tests;

#[cfg(feature = "http")]
pub use auth::Grant;
#[cfg(feature = "http")]
pub use client::{
    Client, ClientBuilder, DEFAULT_AUTH_URL, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES,
    MAX_KEPT_DECODE_PROBLEMS, MAX_TOKEN_RESPONSE_BYTES,
};
pub use error::Error;
pub use ids::*;
pub use request::{Empty, ListRequest, Method, Request};
pub use wire::Reference;
