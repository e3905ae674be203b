//! Relations (`/relaties`): customers and suppliers.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Document;
use crate::wire::{self, Reference, WireList, api_enum};
use crate::{LandId, RelatieId};

api_enum! {
    /// The kind of a relation (an element of `relatiesoort`).
    ///
    /// On write a relation is exactly one of `Klant` or `Leverancier` (REL-0065), never
    /// empty/`Geen` (REL-0001) nor `Eigen` (REL-0048), and the kind cannot change after
    /// creation (REL-0064). Data entered in SnelStart itself may still carry both.
    pub enum Relatiesoort {
        /// No kind; refused on write.
        Geen = ("Geen", 0),
        /// A customer.
        Klant = ("Klant", 1),
        /// A supplier.
        Leverancier = ("Leverancier", 2),
        /// The administration's own company; read-only.
        Eigen = ("Eigen", 3),
    }
}

api_enum! {
    /// How payment reminders are sent (`aanmaningsoort`); anything but `Nee` only for customers
    /// (REL-0002).
    pub enum Aanmaningsoort {
        /// No reminders.
        Nee = ("Nee", 0),
        /// Reminders in the business style.
        Onderneming = ("Onderneming", 1),
        /// Reminders in the consumer style (with the statutory notice).
        Consument = ("Consument", 2),
    }
}

api_enum! {
    /// The SEPA direct-debit scheme (`incassoSoort`); anything but `Geen` only for customers
    /// (REL-0016) and it requires an IBAN (REL-0009).
    pub enum IncassoSoort {
        /// No direct debit.
        Geen = ("Geen", 0),
        /// SEPA Core (consumers).
        Core = ("Core", 1),
        /// SEPA B2B.
        B2B = ("B2B", 2),
    }
}

/// A postal address (`AdresModel`).
///
/// When any field of the `vestigingsAdres` is filled, all except `contactpersoon` must be
/// (REL-0060).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Adres {
    /// Full name of the contact at this address; at most 50 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contactpersoon: Option<String>,
    /// Street **including** the house number (there is no separate field); at most 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub straat: Option<String>,
    /// Postal code; at most 25 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// City; at most 50 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaats: Option<String>,
    /// The country (from `GET /landen`); SnelStart assumes Nederland when absent. An unknown
    /// id gives REL-0055/REL-0056.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land: Option<Reference<LandId>>,
}

impl Adres {
    /// A complete address (contact person left empty).
    pub fn new(
        straat: impl Into<String>,
        postcode: impl Into<String>,
        plaats: impl Into<String>,
        land: Option<LandId>,
    ) -> Self {
        Adres {
            contactpersoon: None,
            straat: Some(straat.into()),
            postcode: Some(postcode.into()),
            plaats: Some(plaats.into()),
            land: land.map(Reference::new),
        }
    }
}

/// Whether and where a kind of document is e-mailed to the relation (`EmailVersturenModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct EmailVersturen {
    /// Send this document by e-mail; requires `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_send: Option<bool>,
    /// The address(es), several separated by `;`; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Carbon-copy address(es), several separated by `;`; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_email: Option<String>,
}

impl EmailVersturen {
    /// Send to `email`.
    pub fn new(email: impl Into<String>) -> Self {
        EmailVersturen {
            should_send: Some(true),
            email: Some(email.into()),
            cc_email: None,
        }
    }
}

/// One custom field value as listed on a relation (`ExtraVeldRelatieModel`); read-only,
/// change them with [`ops::relaties::put_custom_fields`](crate::ops::relaties::put_custom_fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExtraVeld {
    /// The field name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    /// The value as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waarde: Option<String>,
}

impl ExtraVeld {
    /// A name/value pair.
    pub fn new(naam: impl Into<String>, waarde: impl Into<String>) -> Self {
        ExtraVeld {
            naam: Some(naam.into()),
            waarde: Some(waarde.into()),
        }
    }
}

/// A relation as read (`RelatieModel`, `GET /relaties` and `GET /relaties/{id}`).
///
/// To change one, convert it with [`RelatieWrite::from`] (which drops the read-only fields),
/// adjust, and send it with [`ops::relaties::update`](crate::ops::relaties::update); a `PUT`
/// replaces the whole relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct Relatie {
    /// The kinds of the relation (normally exactly one).
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub relatiesoort: WireList<Relatiesoort>,
    /// When SnelStart last changed the relation; the change marker for polling.
    #[serde(
        default,
        with = "wire::option_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub modified_on: Option<NaiveDateTime>,
    /// The relation number (unique, REL-0008).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatiecode: Option<i32>,
    /// The full name; at most 50 characters, required (REL-0007).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    /// The establishment address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vestigings_adres: Option<Adres>,
    /// The correspondence address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correspondentie_adres: Option<Adres>,
    /// Phone; at most 25 characters (REL-0013).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefoon: Option<String>,
    /// Mobile phone; at most 25 characters (REL-0012).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobiele_telefoon: Option<String>,
    /// Fax (read model only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// Main e-mail address(es), several separated by `;`; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// VAT number; 2 to 50 letters and digits, prefix matching the address country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_nummer: Option<String>,
    /// Default invoice discount (percentage); customers only (REL-0004). The vendor types it
    /// as a `double`; it is kept as an exact decimal and still travels as a JSON number.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuurkorting: Option<Decimal>,
    /// Payment term in days; −365 to 1000 (REL-0003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub krediettermijn: Option<i32>,
    /// Payment orders ("Betaalopdracht"); suppliers only (REL-0014), requires an IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bankieren: Option<bool>,
    /// Inactive (deleted) relations cannot be booked on (BOE-0054); treat as deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactief: Option<bool>,
    /// Credit limit in euros; customers only (REL-0062). Vendor type `double`, kept as an
    /// exact decimal.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub krediet_limiet: Option<Decimal>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// Chamber of Commerce number; at most 12 characters, must be valid (REL-0006).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvk_nummer: Option<String>,
    /// Government organisation id; exactly 20 digits (REL-0086).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oin: Option<String>,
    /// Website; a valid URL of at most 100 characters (REL-0015).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// How reminders are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aanmaningsoort: Option<Aanmaningsoort>,
    /// E-mail settings for quotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerte_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for order confirmations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bevestigings_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for payment reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aanmaning_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for quotation requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerte_aanvraag_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for purchase orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bestelling_email_versturen: Option<EmailVersturen>,
    /// Attach the UBL file to invoice e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubl_bestand_als_bijlage: Option<bool>,
    /// IBAN; at most 50 characters, must be valid (REL-0011).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BIC; at most 15 characters (REL-0010).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The direct-debit scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incasso_soort: Option<IncassoSoort>,
    /// The customer invoices for this relation are sent to (REL-0017, REL-0018).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_relatie: Option<Reference<RelatieId>>,
    /// Link to this relation's purchase bookings; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inkoop_boekingen_uri: Option<String>,
    /// Link to this relation's sales bookings; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verkoop_boekingen_uri: Option<String>,
    /// Attachments; read-only.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub documents: WireList<Document>,
    /// The id.
    pub id: RelatieId,
    /// The relative uri (`/relaties/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Custom field values; read-only here.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub extra_velden_klant: WireList<ExtraVeld>,
}

impl Relatie {
    /// A relation with only its id and name set.
    pub fn new(id: RelatieId, naam: impl Into<String>) -> Self {
        Relatie {
            relatiesoort: WireList::absent(),
            modified_on: None,
            relatiecode: None,
            naam: Some(naam.into()),
            vestigings_adres: None,
            correspondentie_adres: None,
            telefoon: None,
            mobiele_telefoon: None,
            fax: None,
            email: None,
            btw_nummer: None,
            factuurkorting: None,
            krediettermijn: None,
            bankieren: None,
            nonactief: None,
            krediet_limiet: None,
            memo: None,
            kvk_nummer: None,
            oin: None,
            website_url: None,
            aanmaningsoort: None,
            offerte_email_versturen: None,
            bevestigings_email_versturen: None,
            factuur_email_versturen: None,
            aanmaning_email_versturen: None,
            offerte_aanvraag_email_versturen: None,
            bestelling_email_versturen: None,
            ubl_bestand_als_bijlage: None,
            iban: None,
            bic: None,
            incasso_soort: None,
            factuur_relatie: None,
            inkoop_boekingen_uri: None,
            verkoop_boekingen_uri: None,
            documents: WireList::absent(),
            id,
            uri: None,
            extra_velden_klant: WireList::absent(),
        }
    }

    /// Whether the relation is inactive ("deleted" in SnelStart; BOE-0054 on booking). Only an
    /// explicit `nonactief: true` is: SnelStart sends `null`/nothing for relations that were
    /// never deactivated. The one place this rule lives for the mapping and the engine.
    pub fn is_inactive(&self) -> bool {
        self.nonactief == Some(true)
    }

    /// Whether the relation is a customer.
    pub fn is_klant(&self) -> bool {
        self.relatiesoort.contains(&Relatiesoort::Klant)
    }

    /// Whether the relation is a supplier.
    pub fn is_leverancier(&self) -> bool {
        self.relatiesoort.contains(&Relatiesoort::Leverancier)
    }
}

/// A relation as written (`RelatieWriteModel`): the body of `POST /relaties` and
/// `PUT /relaties/{id}`.
///
/// It carries none of the read-only properties (`id`, `uri`, `modifiedOn`, the booking links,
/// `documents`, `extraVeldenKlant`) and no `fax`. On update the operation adds the path id to
/// the body itself. A `PUT` replaces the whole relation: start from [`RelatieWrite::from`] a
/// freshly read [`Relatie`] to keep the fields you do not change.
///
/// ```
/// use snelstart_client::models::{RelatieWrite, Relatiesoort};
/// let mut r = RelatieWrite::default();
/// r.relatiesoort = Some(vec![Relatiesoort::Klant]);
/// r.naam = Some("Fietsenmakerij Het Wiel".into());
/// assert_eq!(r, RelatieWrite::new(Relatiesoort::Klant, "Fietsenmakerij Het Wiel"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct RelatieWrite {
    /// The kind: exactly one of `Klant`/`Leverancier` (REL-0065, REL-0001), unchangeable
    /// after creation (REL-0064).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatiesoort: Option<Vec<Relatiesoort>>,
    /// The relation number; `None` lets SnelStart assign the next one. Must be unique
    /// (REL-0008 "Relatiecode reeds in gebruik").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatiecode: Option<i32>,
    /// The full name; required (REL-0007), at most 50 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    /// The establishment address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vestigings_adres: Option<Adres>,
    /// The correspondence address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correspondentie_adres: Option<Adres>,
    /// Phone; at most 25 characters (REL-0013).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telefoon: Option<String>,
    /// Mobile phone; at most 25 characters (REL-0012).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobiele_telefoon: Option<String>,
    /// Main e-mail address(es), several separated by `;`; at most 250 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// VAT number; 2 to 50 letters and digits, prefix matching the address country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btw_nummer: Option<String>,
    /// Default invoice discount (percentage); customers only (REL-0004). Vendor type
    /// `double`, kept as an exact decimal (a JSON number on the wire).
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub factuurkorting: Option<Decimal>,
    /// Payment term in days; −365 to 1000 (REL-0003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub krediettermijn: Option<i32>,
    /// Payment orders; suppliers only (REL-0014), requires an IBAN (REL-0009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bankieren: Option<bool>,
    /// Inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonactief: Option<bool>,
    /// Credit limit in euros; customers only (REL-0062). Vendor type `double`, kept as an
    /// exact decimal.
    #[serde(
        default,
        with = "wire::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub krediet_limiet: Option<Decimal>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// Chamber of Commerce number; at most 12 characters (REL-0006).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvk_nummer: Option<String>,
    /// Government organisation id; exactly 20 digits (REL-0086).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oin: Option<String>,
    /// Website; a valid URL of at most 100 characters (REL-0015).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// How reminders are sent; anything but `Nee` only for customers (REL-0002).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aanmaningsoort: Option<Aanmaningsoort>,
    /// E-mail settings for quotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerte_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for order confirmations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bevestigings_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for payment reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aanmaning_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for quotation requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offerte_aanvraag_email_versturen: Option<EmailVersturen>,
    /// E-mail settings for purchase orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bestelling_email_versturen: Option<EmailVersturen>,
    /// Attach the UBL file to invoice e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubl_bestand_als_bijlage: Option<bool>,
    /// IBAN; at most 50 characters, must be valid (REL-0011).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BIC; at most 15 characters (REL-0010).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The direct-debit scheme; customers only (REL-0016).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incasso_soort: Option<IncassoSoort>,
    /// The customer invoices for this relation are sent to (REL-0017, REL-0018).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factuur_relatie: Option<Reference<RelatieId>>,
}

impl RelatieWrite {
    /// A new relation of one kind with a name; everything else empty.
    pub fn new(soort: Relatiesoort, naam: impl Into<String>) -> Self {
        RelatieWrite {
            relatiesoort: Some(vec![soort]),
            naam: Some(naam.into()),
            ..RelatieWrite::default()
        }
    }
}

impl From<&Relatie> for RelatieWrite {
    /// Everything writable of a relation as read, for a read-modify-write `PUT`.
    fn from(r: &Relatie) -> Self {
        RelatieWrite {
            relatiesoort: r.relatiesoort.as_option().cloned(),
            relatiecode: r.relatiecode,
            naam: r.naam.clone(),
            vestigings_adres: r.vestigings_adres.clone(),
            correspondentie_adres: r.correspondentie_adres.clone(),
            telefoon: r.telefoon.clone(),
            mobiele_telefoon: r.mobiele_telefoon.clone(),
            email: r.email.clone(),
            btw_nummer: r.btw_nummer.clone(),
            factuurkorting: r.factuurkorting,
            krediettermijn: r.krediettermijn,
            bankieren: r.bankieren,
            nonactief: r.nonactief,
            krediet_limiet: r.krediet_limiet,
            memo: r.memo.clone(),
            kvk_nummer: r.kvk_nummer.clone(),
            oin: r.oin.clone(),
            website_url: r.website_url.clone(),
            aanmaningsoort: r.aanmaningsoort.clone(),
            offerte_email_versturen: r.offerte_email_versturen.clone(),
            bevestigings_email_versturen: r.bevestigings_email_versturen.clone(),
            factuur_email_versturen: r.factuur_email_versturen.clone(),
            aanmaning_email_versturen: r.aanmaning_email_versturen.clone(),
            offerte_aanvraag_email_versturen: r.offerte_aanvraag_email_versturen.clone(),
            bestelling_email_versturen: r.bestelling_email_versturen.clone(),
            ubl_bestand_als_bijlage: r.ubl_bestand_als_bijlage,
            iban: r.iban.clone(),
            bic: r.bic.clone(),
            incasso_soort: r.incasso_soort.clone(),
            factuur_relatie: r.factuur_relatie.clone(),
        }
    }
}

impl From<Relatie> for RelatieWrite {
    fn from(r: Relatie) -> Self {
        RelatieWrite::from(&r)
    }
}
