//! Error types: the library's own [`MockError`] and the API error bodies the simulator answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Errors of the mock library itself (starting, configuring, scripting), never of the simulated API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// Binding the listening socket failed.
    #[error("could not bind the mock server to {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is inconsistent (for example two administrations with one koppelsleutel).
    #[error("invalid mock configuration: {0}")]
    Config(String),
    /// A configuration file could not be read or parsed.
    #[error("could not load mock configuration from {path}: {message}")]
    ConfigFile {
        /// The file that was read.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The state file could not be read, parsed or written.
    #[error("simulator state file: {0}")]
    State(String),
    /// The administration named by a koppelsleutel does not exist.
    #[error("unknown administration (no administration has the given koppelsleutel)")]
    UnknownAdministration,
    /// A coupling click was refused (no webhook configured, not coupled, already coupled,
    /// unknown administration, a reference key over 500 characters).
    #[error("coupling: {0}")]
    Coupling(String),
    /// A payment could not be registered; the vector holds the API errors it would have produced.
    #[error("payment rejected: {}", .0.iter().map(|e| format!("{}: {}", e.code, e.message)).collect::<Vec<_>>().join("; "))]
    PaymentRejected(Vec<ApiErrorItem>),
}

/// One `{errorCode, message}` item of a SnelStart business-error body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiErrorItem {
    /// The code, e.g. `REL-0007`.
    pub code: &'static str,
    /// The literal Dutch message of the vendor's error list.
    pub message: &'static str,
}

/// Every error code the simulator emits, with its literal message (from the vendor's v2 list).
pub(crate) mod codes {
    macro_rules! codes {
        ($($name:ident = $code:literal, $msg:literal;)*) => {
            $(pub(crate) const $name: (&str, &str) = ($code, $msg);)*
        };
    }
    codes! {
        ALG_0100 = "ALG-0100", "Het ID dient leeg te zijn";
        ALG_0101 = "ALG-0101", "Het ID in het url en het ID van de data in het request komen niet overeen";
        ALG_0103 = "ALG-0103", "Ongeldig ID";
        ALG_0104 = "ALG-0104", "Ongeldig OData filter";
        ALG_0105 = "ALG-0105", "Het item is nonactief";
        ALG_0106 = "ALG-0106", "De data in het request is leeg";
        BLG_0001 = "BLG-0001", "Bijlage niet gevonden.";
        BLG_0006 = "BLG-0006", "Bestand is groter dan 10MB.";
        BLG_0007 = "BLG-0007", "Geen bestandsnaam opgegeven.";
        BLG_0008 = "BLG-0008", "Bijlage is leeg.";
        BLG_0011 = "BLG-0011", "Content is leeg.";
        BLG_0016 = "BLG-0016", "Bestandsnaam bevat niet-toegestane karakters.";
        BLG_0017 = "BLG-0017", "Bestandsnaam is te lang.";
        BOE_0001 = "BOE-0001", "Niet gevonden";
        BOE_0003 = "BOE-0003", "Het Id is gevonden maar de relatie is geen leverancier";
        BOE_0008 = "BOE-0008", "De grootboekrekening is verwijderd en staat op nonactief in de administratie";
        BOE_0019 = "BOE-0019", "De kostenplaats is niet gevonden";
        BOE_0021 = "BOE-0021", "Het factuurnummer bestaat al";
        BOE_0022 = "BOE-0022", "Bij de opgegeven grootboekrekening is een kostenplaats is verplicht";
        BOE_0023 = "BOE-0023", "Er zijn geen boekingsregels";
        BOE_0024 = "BOE-0024", "Het dagboek kas is verwijderd en staat op nonactief in de administratie";
        BOE_0025 = "BOE-0025", "Het dagboek kas is niet gevonden";
        BOE_0027 = "BOE-0027", "Het afgedragen en ontvangen bedrag zijn beide ongelijk aan nul";
        BOE_0026 = "BOE-0026", "De kostenplaats is verwijderd en staat op nonactief";
        BOE_0028 = "BOE-0028", "Een regelbedrag is nul";
        BOE_0033 = "BOE-0033", "De boekdatum mag niet meer dan 5 jaar voor het huidig boekjaar liggen";
        BOE_0037 = "BOE-0037", "Een grootboekrekening kon niet worden gevonden";
        BOE_0038 = "BOE-0038", "De leverancier kon niet worden gevonden";
        BOE_0039 = "BOE-0039", "De boeking is niet in balans";
        BOE_0054 = "BOE-0054", "De relatie is verwijderd en staat op nonactief";
        BOE_0058 = "BOE-0058", "Het factuurnummer is verplicht en mag maximaal 25 tekens bevatten.";
        BOE_0060 = "BOE-0060", "De opgegeven relatie is geen klant.";
        BOE_0062 = "BOE-0062", "Btwverlegd mag niet worden gecombineerd met andere btwsoorten.";
        BOE_0068 = "BOE-0068", "Het boekstuk mag maximaal 25 tekens lang zijn.";
        BOE_0069 = "BOE-0069", "De opgegeven BTW is niet geldig";
        BOE_0070 = "BOE-0070", "De opgegeven boekdatum is niet geldig";
        BOE_0071 = "BOE-0071", "Een omschrijving mag maximaal 250 tekens lang zijn.";
        BOE_0061 = "BOE-0061", "Er is een niet toegestane grootboekrekening gebruikt.";
        BOE_0075 = "BOE-0075", "In de boekingsregels mag niet worden geboekt op memoriaal of een balans dagboek";
        BOE_0077 = "BOE-0077", "Het dagboek van een boeking kan niet gewijzigd worden";
        BOE_0076 = "BOE-0076", "Debet of Credit van een boekingsregel moet 0 zijn";
        BOE_0078 = "BOE-0078", "De id kan niet gewijzigd worden";
        BOE_0082 = "BOE-0082", "Een btw-soort ontbreekt, of komt niet overeen met de btwsoort van de grootboekrekening.";
        BOE_0081 = "BOE-0081", "Er is geen grootboekrekening aanwezig voor de volgende grootboekfuncties.";
        BOE_0083 = "BOE-0083", "De factuur kan niet worden verwijderd omdat er betalingen zijn.";
        BOE_0084 = "BOE-0084", "De omschrijving is verplicht.";
        BOE_0085 = "BOE-0085", "De opgegeven grootboekfunctie is niet geldig.";
        BOE_0086 = "BOE-0086", "Er is al een grootboek met het opgegeven nummer.";
        BOE_0087 = "BOE-0087", "De opgegeven grootboekfunctie mag maar één keer voorkomen en is al door een ander grootboek in gebruik.";
        BOE_0088 = "BOE-0088", "De omschrijving bij een grootboekrekening mag maximaal 50 tekens lang zijn.";
        BOE_0094 = "BOE-0094", "Een journaalpost moet minstens twee journaalpostregels bevatten";
        BOE_0095 = "BOE-0095", "Het memoriaal dagboek is niet gevonden";
        BOE_0096 = "BOE-0096", "Het dagboek is niet gevonden";
        KPL_0004 = "KPL-0004", "De omschrijving is verplicht";
        KPL_0005 = "KPL-0005", "De omschrijving mag maximaal 50 karakters bevatten";
        KPL_0006 = "KPL-0006", "Het nummer is verplicht";
        KPL_0007 = "KPL-0007", "Het nummer moet tussen 1 en 999999999 liggen";
        KPL_0008 = "KPL-0008", "Dit nummer bestaat al";
        KPL_0009 = "KPL-0009", "Er kan geen nonactieve kostenplaats worden gemaakt";
        REL_0001 = "REL-0001", "RelatieSoort mag niet 'geen' zijn";
        REL_0002 = "REL-0002", "RelatieSoort dient klant te bevatten indien aanmanen aan staat";
        REL_0003 = "REL-0003", "Krediettermijn mag niet kleiner dan -365 of groter dan 1000 zijn";
        REL_0004 = "REL-0004", "RelatieSoort dient klant te bevatten indien Factuurkorting aan staat";
        REL_0005 = "REL-0005", "Relatie niet gevonden";
        REL_0006 = "REL-0006", "KvkNummer is ongeldig";
        REL_0007 = "REL-0007", "Naam moet gevuld zijn";
        REL_0008 = "REL-0008", "Relatiecode reeds in gebruik";
        REL_0009 = "REL-0009", "Iban mag niet leeg zijn wanneer bankieren aan staat of incassosoort is 'geen'";
        REL_0010 = "REL-0010", "Bic is ongeldig";
        REL_0011 = "REL-0011", "Iban is ongeldig";
        REL_0012 = "REL-0012", "MobieleTelefoon mag maximaal 25 karakters bevatten";
        REL_0013 = "REL-0013", "Telefoon mag maximaal 25 karakters bevatten";
        REL_0014 = "REL-0014", "Relatiesoort dient leverancier te bevatten indien bankieren aan staat";
        REL_0015 = "REL-0015", "WebSiteUrl dient een geldig URL te zijn";
        REL_0016 = "REL-0016", "RelatieSoort dient klant te bevatten indien IncassoSoort gevuld is";
        REL_0017 = "REL-0017", "Factuurrelatie bestaat niet";
        REL_0018 = "REL-0018", "Factuurrelatie is geen klant";
        REL_0020 = "REL-0020", "VestigingsAdres.Straat mag maximaal 50 karakters bevatten";
        REL_0021 = "REL-0021", "VestigingsAdres.Postcode mag maximaal 25 karakters bevatten";
        REL_0022 = "REL-0022", "VestigingsAdres.Plaats mag maximaal 50 karakters bevatten";
        REL_0023 = "REL-0023", "VestigingsAdres.Contactpersoon mag maximaal 50 karakters bevatten";
        REL_0025 = "REL-0025", "Correspondentie.Straat mag maximaal 50 karakters bevatten";
        REL_0026 = "REL-0026", "Correspondentie.Postcode mag maximaal 25 karakters bevatten";
        REL_0027 = "REL-0027", "Correspondentie.Plaats mag maximaal 50 karakters bevatten";
        REL_0028 = "REL-0028", "Correspondentie.Contactpersoon mag maximaal 50 karakters bevatten";
        REL_0047 = "REL-0047", "Het ID in het url en het ID van de relatie in het request komen niet overeen";
        REL_0048 = "REL-0048", "RelatieSoort mag niet 'eigen' bevatten";
        REL_0049 = "REL-0049", "Klant heeft openstaande facturen";
        REL_0051 = "REL-0051", "Klant is een factuurrelatie";
        REL_0053 = "REL-0053", "Leverancier heeft openstaande facturen";
        REL_0055 = "REL-0055", "CorrespondentieAdres.LandId niet gevonden";
        REL_0056 = "REL-0056", "VestigingsAdres.LandId niet gevonden";
        REL_0057 = "REL-0057", "BtwNummer mag maximaal 50 karakters bevatten";
        REL_0058 = "REL-0058", "BtwNummer moet minimaal 2 karakters bevatten";
        REL_0059 = "REL-0059", "BtwNummer mag alleen cijfers en letters bevatten";
        REL_0060 = "REL-0060", "Indien een van de velden van VestigingsAdres gevuld is, meegegeven dienen alle velden gevuld zijn, uitgezonderd Contactpersoon";
        REL_0061 = "REL-0061", "Email dient een geldig emailadres te zijn.";
        REL_0029 = "REL-0029", "AanmaningEmailVersturen.Email dient gevuld te zijn indien AanmaningEmailVersturen.ShouldSend aan staat";
        REL_0030 = "REL-0030", "AanmaningEmailVersturen.Email dient een geldig emailadres te zijn";
        REL_0031 = "REL-0031", "AanmaningEmailVersturen.CcEmail dient een geldig emailadres te zijn";
        REL_0032 = "REL-0032", "FactuurEmailVersturen.Email dient gevuld te zijn indien FactuurEmailVersturen.ShouldSend aan staat";
        REL_0033 = "REL-0033", "FactuurEmailVersturen.Email dient een geldig emailadres te zijn";
        REL_0034 = "REL-0034", "FactuurEmailVersturen.CcEmail dient een geldig emailadres te zijn";
        REL_0038 = "REL-0038", "BevestigingsEmailVersturen.Email dient gevuld te zijn indien BevestigingsEmailVersturen.ShouldSend aan staat";
        REL_0039 = "REL-0039", "BevestigingsEmailVersturen.Email dient een geldig emailadres te zijn";
        REL_0040 = "REL-0040", "BevestigingsEmailVersturen.CcEmail dient een geldig emailadres te zijn";
        REL_0044 = "REL-0044", "OfferteEmailVersturen.Email dient gevuld te zijn indien OfferteEmailVersturen.ShouldSend aan staat";
        REL_0045 = "REL-0045", "OfferteEmailVersturen.Email dient een geldig emailadres te zijn";
        REL_0046 = "REL-0046", "OfferteEmailVersturen.CcEmail dient een geldig emailadres te zijn";
        REL_0089 = "REL-0089", "E-mailadres voor Offerte-aanvragen moet ingevuld zijn als deze standaard gemaild moeten worden";
        REL_0090 = "REL-0090", "Het opgegeven e-mailadres voor Offerte-aanvragen is ongeldig";
        REL_0093 = "REL-0093", "Het opgegeven CC-e-mailadres voor Offerte-aanvragen is ongeldig";
        REL_0096 = "REL-0096", "E-mailadres voor Bestellingen moet ingevuld zijn als deze standaard gemaild moeten worden";
        REL_0097 = "REL-0097", "Het opgegeven e-mailadres voor Bestellingen is ongeldig";
        REL_0100 = "REL-0100", "Het opgegeven CC-e-mailadres voor Bestellingen is ongeldig";
        REL_0062 = "REL-0062", "RelatieSoort dient klant te bevatten indien Kredietlimiet ingevuld is.";
        REL_0063 = "REL-0063", "Het ID dient leeg te zijn.";
        REL_0064 = "REL-0064", "RelatieSoort mag niet aangepast worden.";
        REL_0065 = "REL-0065", "RelatieSoort kan niet zowel 'klant' als 'leverancier' zijn.";
        REL_0066 = "REL-0066", "De input is incompleet of incorrect. Controleer of de json valide is en de juiste properties bevat.";
        REL_0084 = "REL-0084", "Email bevat één of meerdere ongeldige emailadressen. U kunt meerdere emailadressen opgeven door ze te scheiden met een puntkomma(;).";
        REL_0085 = "REL-0085", "Email mag maximaal 250 karakters bevatten";
        REL_0086 = "REL-0086", "Oin moet exact 20 cijfers bevatten of null zijn";
        REL_0087 = "REL-0087", "De Btw landcode komt niet overeen met de landcode van het vestigingsadres";
        REL_0088 = "REL-0088", "Het opgegeven nummer is geen geldig btw-nummer";
    }
}

/// An error the simulated API answers with.
#[derive(Debug, Clone)]
pub(crate) enum ApiError {
    /// 400 with the SnelStart array of `{errorCode, message}`.
    Business(Vec<ApiErrorItem>),
    /// 400 model-state body (type errors, lengths the list has no code for).
    ModelState { key: String, message: String },
    /// 404 for an unknown id in the URL path.
    NotFound,
}

impl ApiError {
    pub(crate) fn one(code: (&'static str, &'static str)) -> Self {
        ApiError::Business(vec![item(code)])
    }
    pub(crate) fn model(key: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::ModelState {
            key: key.into(),
            message: message.into(),
        }
    }
}

pub(crate) fn item(code: (&'static str, &'static str)) -> ApiErrorItem {
    ApiErrorItem {
        code: code.0,
        message: code.1,
    }
}

/// Collects business errors; SnelStart reports several at once in one array.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<ApiErrorItem>);

impl Errors {
    pub(crate) fn push(&mut self, code: (&'static str, &'static str)) {
        let it = item(code);
        if !self.0.contains(&it) {
            self.0.push(it);
        }
    }
    pub(crate) fn check(&mut self, cond: bool, code: (&'static str, &'static str)) {
        if !cond {
            self.push(code);
        }
    }
    pub(crate) fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Business(self.0))
        }
    }
}

impl ApiError {
    /// The status and JSON body the API answers this error with.
    pub(crate) fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            ApiError::Business(items) => {
                let body: Vec<Value> = items
                    .iter()
                    .map(|i| json!({"errorCode": i.code, "message": i.message}))
                    .collect();
                (StatusCode::BAD_REQUEST, Value::Array(body))
            }
            ApiError::ModelState { key, message } => (
                StatusCode::BAD_REQUEST,
                json!({"message": "The request is invalid.", "modelState": {key: [message]}}),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({"Message": "No HTTP resource was found that matches the request URI."}),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        (status, axum::Json(body)).into_response()
    }
}
