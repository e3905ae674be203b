//! Pure business rules between a CRM and SnelStart: the mapping configuration, pre-flight
//! validation, conversion of CRM records into SnelStart payloads, contact collapse and
//! duplicate matching. No async, no I/O.
//!
//! * [`config`]: the [`MappingConfig`](config::MappingConfig) document (TOML/JSON), its
//!   validation (also against a chart of accounts), diff and backup.
//! * [`convert`]: relations, projects and invoices → SnelStart write models.
//! * [`contacts`]: choosing the one contact SnelStart keeps.
//! * [`booking`]: invoices and credit notes → booking plans (VAT per kind, totals).
//! * [`preflight`]: every problem of a record at once, typed, with field paths, and the table
//!   of SnelStart's refusals each check prevents.
//! * [`notices`]: what a configured policy changed or derived in a record ([`Notice`]).
//! * [`matching`]: is a CRM relation already in SnelStart?
//!
//! # Tour
//!
//! ```
//! use chrono::NaiveDate;
//! use crm_model::{InvoiceLine, Money, Relation, RelationKind, SalesInvoice, VatCategory};
//! use mapping::config::{ChartOfAccounts, LedgerInfo, LineVatKind, MappingConfig};
//! use mapping::booking::BookingContext;
//! use mapping::convert::{relation_to_relaties, sales_invoice_to_verkoopboeking};
//! use snelstart_client::{GrootboekId, RelatieId};
//!
//! // The mapping (normally loaded with `MappingConfig::from_toml_str`) and the chart of
//! // accounts (normally `ChartOfAccounts::from_snelstart(&grootboeken, &kostenplaatsen)`).
//! let config = MappingConfig::default_for_mock();
//! let chart = ChartOfAccounts::new(
//!     [
//!         LedgerInfo::new(GrootboekId::new_random(), 8000, &[LineVatKind::Hoog]),
//!         LedgerInfo::new(GrootboekId::new_random(), 8010, &[LineVatKind::Laag]),
//!     ],
//!     [],
//! );
//! assert!(config.validate().is_empty());
//!
//! // A relation: pre-flight problems, or the SnelStart relation(s) to create.
//! let relation = Relation::new("crm-1", RelationKind::Customer, "Bakkerij De Korst B.V.");
//! let relaties = relation_to_relaties(&relation, &config, |_| None)?;
//! assert_eq!(relaties[0].naam.as_deref(), Some("Bakkerij De Korst B.V."));
//!
//! // An invoice: VAT summed per kind and rounded once, factuurbedrag = net + VAT.
//! let date = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
//! let lines = vec![
//!     InvoiceLine::net("Taart", Money::from_cents(1250), VatCategory::Laag),
//!     InvoiceLine::net("Advies", Money::from_cents(10_000), VatCategory::Hoog),
//! ];
//! let invoice = SalesInvoice::new("inv-1", "F2024-001", date, "crm-1", lines);
//! // The administration's current financial year (companyInfo.huidigBoekjaar) bounds the date.
//! let context = BookingContext::new(2024);
//! let booking = sales_invoice_to_verkoopboeking(
//!     &invoice,
//!     &config,
//!     &chart,
//!     &context,
//!     RelatieId::new_random(),
//! )?;
//! // 112.50 net + 21.00 VAT hoog + 1.13 VAT laag (9 % of 12.50 = 1.125, half away from zero).
//! assert_eq!(booking.factuurbedrag, Some("134.63".parse()?));
//! assert!(booking.is_balanced());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod booking;
pub mod config;
pub mod contacts;
pub mod convert;
pub mod matching;
pub mod notices;
pub mod preflight;
mod text;

pub use notices::Notice;
