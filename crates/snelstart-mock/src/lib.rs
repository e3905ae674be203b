//! # snelstart-mock
//!
//! A faithful local simulator of the SnelStart B2B API v2, for tests, examples and benchmarks
//! (what stripe-mock is to Stripe). It is stateful, checks SnelStart's business rules with the
//! literal error codes and Dutch messages, limits calls per administration, injects faults —
//! including the hardest one, *processed but response lost* — and lets tests inspect everything.
//!
//! ## A tour
//!
//! ```no_run
//! use snelstart_mock::{FaultKind, MockConfig, MockServer, ScriptedFault};
//!
//! # async fn tour() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start(MockConfig::new().with_seed_relations(25)).await?;
//! // Point your client at these:
//! let _api = server.base_url(); // http://127.0.0.1:PORT/v2
//! let _auth = server.auth_url(); // http://127.0.0.1:PORT/b2b/token
//! let _keys = (server.subscription_key(), server.client_key());
//!
//! // Make the next sales booking commit but lose its response.
//! server.script_faults([
//!     ScriptedFault::new(FaultKind::ProcessedButResponseLost).on("POST", "/v2/verkoopboekingen"),
//! ]);
//! // ... run your code ...
//! println!("writes so far: {}", server.stats().writes());
//! println!("{}", server.state_json());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The binary `snelstart-mock` serves the same until killed:
//! `snelstart-mock --addr 127.0.0.1:8080 --subscription-key SUB --client-key KEY
//! [--rate-limit-per-minute N] [--rate-limit-per-hour N] [--max-concurrent N]
//! [--fault-rate P --seed S] [--seed-relations N] [--config FILE]`, where `FILE` is the TOML
//! form of [`MockConfig`] (for example several `[[administrations]]`).
//!
//! ## What is simulated
//!
//! * **Token endpoint** `POST /b2b/token`: grants `clientkey` and `password` (the koppelsleutel
//!   is base64 of `username:password`), `expires_in` 3599, `{"error":"invalid_grant"}` for an
//!   unknown key. API calls check the subscription key (`Ocp-Apim-Subscription-Key` header or
//!   `subscription-key` query) before the bearer token, with the gateway's bodies.
//! * **Resources** under `/v2`: relaties (CRUD, OData, booking sub-lists), kostenplaatsen,
//!   grootboeken (list, get, create), btwtarieven, landen, dagboeken, companyInfo (GET/PUT),
//!   verkoop- and inkoopboekingen (create, get, update, delete), verkoop- and inkoopfacturen
//!   (OData), memoriaalboekingen (with allocation lines), bank- and kasboekingen (CRUD, OData;
//!   allocation lines pay sales and purchase invoices), grootboekmutaties (OData, `$apply`),
//!   documenten (upload per parent type, list, get, update, delete) and echo.
//! * **Rules** with SnelStart's codes: see the tests of this crate for one per rule.
//! * **Gateway**: per-administration limits (sliding minute and hour windows, concurrency) with
//!   the APIM 429 body and `Retry-After`; random (seeded) or scripted faults; latency; a switch
//!   that makes the whole service unavailable (503).
//! * **Inspection** (the subscription key in the `Ocp-Apim-Subscription-Key` header, as for
//!   the API; no token): `GET /_mock/stats`, `GET /_mock/state`,
//!   `POST /_mock/reset`, `POST /_mock/faults` (a [`ScriptedFault`] or an array of them, as
//!   JSON: `{"method":"POST","route":"/v2/relaties","nth":1,"kind":{"Status":503}}`),
//!   `POST /_mock/payments` (`{"factuurnummer"|"verkoopboekingId", "bedrag", "datum"}`) and
//!   `POST /_mock/availability` (`{"up": false}`), `GET /_mock/writers` (which key wrote each
//!   record, as [`AdministrationWriters`]: tenant isolation checked from the server's side).
//!   The same through [`MockServer`].
//! * **The coupling flow** (API.md §1.1): `POST /_mock/couplings`
//!   (`{"actionType": "Create" | "Regenerate" | "Delete", "referenceKey": "...",
//!   "administration": N}`, or [`MockServer::couple`]) plays the customer's activate click
//!   (and the regenerate and delete buttons): a fresh koppelsleutel opens administration `N`
//!   (after Regenerate or Delete the old one gets `invalid_grant` and its tokens a 401), and
//!   the webhook `{KoppelSleutel, ActionType, ReferenceKey}` is POSTed, signed, to the
//!   loopback URL of [`CouplingConfig`] ([`MockConfig::with_coupling_webhook`]). Coupling keys
//!   live in memory only (not in the state file; a reset forgets them).
//!
//! Without a socket, [`fuzzing::InProcess`] sends requests through the same router, and
//! [`fuzzing::odata_list`] runs the list endpoints' OData engine on given records (the entry
//! points of the fuzz targets).
//!
//! ## Choices where the sources are silent
//!
//! Each is documented at its place and switchable where it matters ([`ValidationConfig`]):
//! `$top` above 500 is `ALG-0104` (or clamped); a malformed id in the path is `ALG-0103`, an
//! unknown one 404; DELETE of a relation or cost centre is a soft delete (`nonactief: true`);
//! purchase invoice numbers are unique per supplier; VAT amounts may differ from rate × base by
//! one cent per line; an address without a country is in the Netherlands; unknown customers on
//! a sales booking give `REL-0005`, unknown suppliers `BOE-0038`; allocation amounts are
//! positive for payments (see the memoriaal module); amounts with more than two decimals and
//! names over 50 characters give a model-state 400 (the list has no code for them); route paths
//! are matched case-sensitively as written in the API definition.
//!
//! `$apply` (grootboekmutaties only) supports `aggregate(P with f as A)`, `groupby((F,..))` and
//! `groupby((F,..),aggregate(P with f as A))` with `P` ∈ `Saldo|Debet|Credit` and `f` ∈
//! `sum|min|max|average`. The response is a bare array with one object per group: the group
//! properties in camelCase (references stay `{id, uri}`) plus the alias as written, e.g.
//! `[{"kostenplaats": {"id": "…", "uri": "…"}, "Totaal": -100}]`.
//!
//! ## Seed data
//!
//! Each administration starts with landen (NL, BE, DE, FR, GB, US, LU, ES, IT, AT, DK, SE, PL,
//! IE, CH; NL has the vendor fixtures' id `050de499-cbf5-4a37-99b7-99281be9c951`), dagboeken
//! (Kas, Bank, Verkoop, Inkoop, Memoriaal, Beginbalans), the Dutch VAT history (Hoog 19 % until
//! 2012-09-30 and 21 % from 2012-10-01; Laag 6 % until 2018-12-31 and 9 % from 2019-01-01; Geen
//! and Overig 0 %), three kostenplaatsen (1 Algemeen, 10 Project Noordvleugel, 20 Project
//! Zuidas), companyInfo and optionally N realistic relations (relatiecode from 10001, valid IBAN,
//! VAT and KvK numbers). The chart of accounts — the mapping and the engine's default
//! configuration refer to these numbers:
//!
//! | nummer | omschrijving | grootboekfunctie | btwSoort allowed | kostenplaats verplicht |
//! |---|---|---|---|---|
//! | 100 | Inventaris | Diversen | – (balans) | no |
//! | 500 | Eigen vermogen | Diversen | – (balans) | no |
//! | 1000 | Kas | DagboekKas | – | no |
//! | 1100 | Bank | DagboekBank | – | no |
//! | 1300 | Debiteuren | DagboekVerkoop | – | no |
//! | 1500 | Af te dragen btw hoog | BtwAfTeDragenHoog | – | no |
//! | 1510 | Af te dragen btw laag | BtwAfteDragenLaag | – | no |
//! | 1520 | Te vorderen btw hoog | BtwTeVorderenHoog | – | no |
//! | 1530 | Te vorderen btw laag | BtwTeVorderenLaag | – | no |
//! | 1540 | Af te dragen btw verlegd | BtwAfTeDragenVerlegdInkopen | – | no |
//! | 1550 | Te vorderen btw verlegd | BtwTeVorderenVerlegdInkopen | – | no |
//! | 1560 | Af te dragen btw overig | BtwAfTeDragenOverig | – | no |
//! | 1570 | Te vorderen btw overig | BtwTeVorderenOverig | – | no |
//! | 1600 | Crediteuren | DagboekInkoop | – | no |
//! | 1900 | Tussenrekening betalingen | TussenrekeningBetalingen | – | no |
//! | 2000 | Memoriaal | DagboekMemoriaal | – | no |
//! | 2100 | Beginbalans | DagboekBalans | – | no |
//! | 4000 | Lonen en salarissen | Diversen | Geen | no |
//! | 4100 | Huisvestingskosten | InkopenKostenHoog | Hoog | no |
//! | 4200 | Autokosten | InkopenKostenAlleBtwTarieven | Geen, Laag, Hoog | no |
//! | 4300 | Kantoorkosten | InkopenKostenAlleBtwTarieven | Geen, Laag, Hoog | no |
//! | 4400 | Projectkosten | InkopenKostenAlleBtwTarieven | Geen, Laag, Hoog | **yes** |
//! | 4500 | Representatiekosten laag | InkopenKostenLaag | Laag | no |
//! | 7000 | Inkoopwaarde van de omzet | InkopenKostenAlleBtwTarieven | Geen, Laag, Hoog | no |
//! | 8000 | Omzet hoog | VerkopenOmzetHoog | Hoog | no |
//! | 8010 | Omzet laag | VerkopenOmzetLaag | Laag | no |
//! | 8020 | Omzet verlegd | VerkopenOmzetOnbelastVerlegd | Geen | no |
//! | 8030 | Omzet export buiten EU | VerkopenExportBuitenEU | Geen | no |
//! | 8040 | Leveringen binnen EU | VerkopenExportBinnenEU | Geen | no |
//! | 8050 | Omzet vrijgesteld van btw | VerkopenBtwVrij | Geen | no |
//! | 8060 | Omzet overig tarief | VerkopenOmzetOverig | Overig | no |
//! | 8100 | Omzet projecten hoog | VerkopenOmzetHoog | Hoog | **yes** |
//!
//! A booking line whose `btwSoort` is not in the ledger's list is `BOE-0082`; a line without
//! `btwSoort` is accepted only on ledgers whose list is empty or just `Geen`. Each
//! verkoopboeking creates a verkoopfactuur with its own id, `openstaandSaldo` = factuurbedrag −
//! allocations and `vervalDatum` = factuurdatum + (betalingstermijn ?? relation krediettermijn
//! ?? 0) days; inkoopboekingen likewise create inkoopfacturen. Every booking also writes its
//! double-entry grootboekmutaties (debtors/creditors, lines, VAT ledgers).
//!
//! Timestamps are Dutch local time without offset, fraction trimmed (`2023-06-29T21:44:48.51`);
//! `modifiedOn` is strictly increasing per server ([`MockConfig::with_start_time`] fixes its
//! start for deterministic runs). Money is a JSON number; nulls are serialized as `null`.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

mod clock;
mod config;
mod coupling;
mod error;
mod faults;
pub mod fuzzing;
mod handlers;
mod json;
mod limits;
mod odata;
mod persist;
mod seed;
mod server;
mod state;
mod stats;
mod table;
mod validate;
mod writers;

pub use config::{
    AdministrationConfig, CouplingConfig, DEFAULT_CLIENT_KEY, DEFAULT_SUBSCRIPTION_KEY,
    FaultConfig, MockConfig, RateLimitConfig, TopPolicy, ValidationConfig,
};
pub use coupling::{
    CouplingAction, CouplingClick, CouplingDelivery, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
pub use error::{ApiErrorItem, MockError};
pub use faults::{FaultKind, ScriptedFault};
pub use server::{MockServer, PaymentTarget};
pub use stats::{StatEntry, Stats};
pub use writers::{AdministrationWriters, RecordWriters};
