//! Errors, split by the stage at which a request failed.
//!
//! | variant | what happened | may the request have changed data? |
//! |---|---|---|
//! | [`Error::NotSent`] | configuration or request invalid; nothing left this process | no |
//! | [`Error::Auth`] | the token endpoint refused the koppelsleutel or could not be reached | no |
//! | [`Error::Transport`] | the network failed; [`TransportError::may_have_reached_server`] says whether the request could have arrived | only if it may have reached the server |
//! | [`Error::Api`] | SnelStart (or its gateway) answered with an error status | no (SnelStart rejects atomically) |
//! | [`Error::Decode`] | a success response did not match the model; the JSON path is named | yes: the operation succeeded |
//! | [`Error::Redirect`] | the server answered with a redirect (3xx); it is never followed, so no key reaches the `Location` | no |
//! | [`Error::TooLarge`] | the response body exceeded the client's cap and was not read | only for a 2xx answer to a POST/PUT/DELETE |
//!
//! Callers should use the predicates ([`Error::is_retryable`], [`Error::outcome_uncertain`],
//! [`Error::is_rate_limited`], [`Error::retry_after`], [`Error::error_codes`],
//! [`Error::known_codes`]) rather than matching on messages.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::request::Method;

/// A boxed underlying cause. The concrete types (reqwest, serde_json, ...) are deliberately not
/// part of this crate's public API.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Any failure of a SnelStart call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing was sent: the configuration or the request is invalid.
    #[error(transparent)]
    NotSent(#[from] NotSentError),
    /// No token could be obtained.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The network failed before a complete response arrived.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// SnelStart answered with an error status.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A success response could not be decoded into the expected model.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The server answered with a redirect, which the client never follows (the keys would
    /// travel to the `Location`).
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The response body was larger than the client accepts.
    #[error(transparent)]
    TooLarge(#[from] TooLargeError),
}

impl Error {
    /// Whether trying the same request again later can succeed: rate limiting, server
    /// errors, gateway errors and network failures. Business-rule rejections (400) are not.
    ///
    /// This says nothing about whether a retry is *safe*; see [`Error::outcome_uncertain`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NotSent(e) => matches!(e, NotSentError::BudgetTimeout { .. }),
            Error::Auth(e) => e.is_retryable(),
            Error::Transport(_) => true,
            Error::Api(e) => e.is_retryable(),
            Error::Decode(_) | Error::Redirect(_) | Error::TooLarge(_) => false,
        }
    }

    /// Whether the request may have been carried out although no success response arrived.
    ///
    /// True for a non-idempotent request (POST) that failed in transport after it may have
    /// reached SnelStart, and for a 5xx answer to a POST from the gateway (the backend may
    /// have committed before the gateway gave up). A caller that sees this must not simply
    /// repeat a create: look the record up by its natural key (relatiecode, kostenplaats
    /// nummer, factuurnummer) first.
    pub fn outcome_uncertain(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_reached_server,
            Error::Api(e) => e.method == Method::Post && matches!(e.status, 500 | 502 | 504),
            // A decode error follows a success status: the operation did happen.
            Error::Decode(_) => true,
            // An unread success body of a write: the operation did happen.
            Error::TooLarge(e) => e.method != Method::Get && (200..300).contains(&e.status),
            _ => false,
        }
    }

    /// Whether SnelStart throttled the call (HTTP 429).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::Api(e) if e.status == 429)
    }

    /// How long SnelStart asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Auth(AuthError::Refused { status, .. }) => Some(*status),
            Error::Decode(e) => Some(e.status),
            Error::Redirect(e) => Some(e.status),
            Error::TooLarge(e) => Some(e.status),
            _ => None,
        }
    }

    /// The SnelStart error codes in the response (`REL-0008`, `BOE-0021`, ...), in order.
    pub fn error_codes(&self) -> Vec<&ErrorCode> {
        match self {
            Error::Api(e) => e.errors.iter().filter_map(|i| i.code.as_ref()).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the response carried this error code.
    pub fn has_code(&self, code: KnownCode) -> bool {
        self.known_codes().contains(&code)
    }

    /// The well-known error codes in the response, typed.
    pub fn known_codes(&self) -> Vec<KnownCode> {
        self.error_codes()
            .into_iter()
            .filter_map(ErrorCode::known)
            .collect()
    }

    /// The API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a request was never sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotSentError {
    /// The client configuration is unusable (bad URL, empty key, ...).
    #[error("invalid client configuration: {message}")]
    Configuration {
        /// What is wrong.
        message: String,
    },
    /// The request itself is invalid (for example an OData `$top` above the maximum).
    #[error("invalid request for {route}: {message}")]
    InvalidRequest {
        /// The route template.
        route: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request body could not be serialized.
    #[error("the body for {route} could not be serialized")]
    InvalidBody {
        /// The route template.
        route: &'static str,
        /// The serializer's error.
        #[source]
        source: BoxError,
    },
    /// A list was not walked further because it reached the client's page cap (a backstop
    /// against a server that never returns a short page).
    #[error(
        "{route}: stopped after {pages} pages (the page cap); narrow the filter or raise the cap"
    )]
    PageCapReached {
        /// The route template.
        route: &'static str,
        /// Pages read.
        pages: u32,
    },
    /// The client-side rate budget could not grant a call within the configured wait limit.
    #[error("the rate budget had no room for {route} within {waited:?}")]
    BudgetTimeout {
        /// The route template.
        route: &'static str,
        /// How long we waited.
        waited: Duration,
    },
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint answered with an error (`invalid_grant` for a wrong or revoked
    /// koppelsleutel).
    #[error("the token endpoint refused the credentials (HTTP {status}{}{})",
        .error.as_deref().map(|e| format!(", {e}")).unwrap_or_default(),
        .description.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Refused {
        /// HTTP status of the token response.
        status: u16,
        /// The OAuth `error` field, e.g. `invalid_grant`.
        error: Option<String>,
        /// The OAuth `error_description`, if any.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or did not answer.
    #[error("the token endpoint could not be reached")]
    Unreachable {
        /// The transport failure.
        #[source]
        source: BoxError,
    },
    /// The token endpoint answered 200 with something that is not a token.
    #[error("the token endpoint answered with an unreadable token: {message}")]
    InvalidResponse {
        /// What was wrong.
        message: String,
    },
    /// The token endpoint answered with a redirect. It is not followed: the koppelsleutel
    /// would be posted again to the `Location`.
    #[error("the token endpoint answered HTTP {status} redirecting to {}; redirects are never followed",
        .location_host.as_deref().unwrap_or("an unnamed location"))]
    Redirected {
        /// The HTTP status (301, 302, 303, 307, 308, ...).
        status: u16,
        /// The host named by the `Location` header (never the full URL).
        location_host: Option<String>,
    },
    /// The token endpoint's answer was larger than the token body cap.
    #[error("the token endpoint's answer is larger than {limit} bytes; it was not read")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The koppelsleutel cannot be used with the chosen grant (for the `password` grant it
    /// must be base64 of `username:password`).
    #[error("the koppelsleutel is not usable for the {grant} grant: {message}")]
    InvalidKoppelsleutel {
        /// The grant type.
        grant: &'static str,
        /// What was wrong (never the key itself).
        message: String,
    },
}

impl AuthError {
    fn is_retryable(&self) -> bool {
        match self {
            AuthError::Unreachable { .. } => true,
            AuthError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Where in the exchange a transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportStage {
    /// No connection could be made: the request certainly did not arrive.
    Connect,
    /// The request was (being) sent, but no response or only a partial one arrived.
    AfterSend,
    /// The configured timeout expired.
    Timeout,
}

/// The network failed.
#[derive(Debug, thiserror::Error)]
#[error("{method} {route} failed in transport ({stage:?}){}",
    if *.may_have_reached_server { "; the request may have reached SnelStart" } else { "" })]
pub struct TransportError {
    /// The method of the failed request.
    pub method: Method,
    /// The route template of the failed request.
    pub route: &'static str,
    /// Where it failed.
    pub stage: TransportStage,
    /// Whether the request may have reached SnelStart and been processed.
    pub may_have_reached_server: bool,
    /// The underlying error.
    #[source]
    pub source: BoxError,
}

/// A SnelStart error code such as `REL-0008`: three upper-case letters, a dash, four digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(String);

impl ErrorCode {
    /// Wraps a code as SnelStart sent it.
    pub fn new(code: impl Into<String>) -> Self {
        ErrorCode(code.into())
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The typed view of this code, when it is one the sync cares about.
    pub fn known(&self) -> Option<KnownCode> {
        KnownCode::ALL.iter().copied().find(|k| k.code() == self.0)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! known_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal ),* $(,)?) => {
        /// Error codes with a meaning the sync acts on. The full list is in SnelStart's
        /// documentation; unlisted codes are still available as [`ErrorCode`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum KnownCode {
            $( $(#[$doc])* $variant, )*
        }

        impl KnownCode {
            /// Every known code.
            pub const ALL: &'static [KnownCode] = &[ $( KnownCode::$variant, )* ];

            /// The code as SnelStart writes it.
            pub fn code(self) -> &'static str {
                match self { $( KnownCode::$variant => $code, )* }
            }
        }

        impl fmt::Display for KnownCode {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

known_codes! {
    /// `ALG-0100`: an id was given on create.
    IdMustBeEmpty = "ALG-0100",
    /// `ALG-0101`: the id in the body differs from the id in the URL.
    IdMismatch = "ALG-0101",
    /// `ALG-0102`: unknown server error.
    UnknownError = "ALG-0102",
    /// `ALG-0103`: invalid id.
    InvalidId = "ALG-0103",
    /// `ALG-0104`: invalid OData filter.
    InvalidODataFilter = "ALG-0104",
    /// `ALG-0105`: a referenced item is inactive.
    ItemInactive = "ALG-0105",
    /// `ALG-0106`: the request body is empty.
    EmptyRequest = "ALG-0106",
    /// `REL-0005`: relation not found.
    RelatieNotFound = "REL-0005",
    /// `REL-0006`: invalid KvK number.
    InvalidKvkNummer = "REL-0006",
    /// `REL-0007`: the name is missing.
    NaamRequired = "REL-0007",
    /// `REL-0008`: the relatiecode is already in use (a retried create already succeeded, or
    /// another relation has the number).
    DuplicateRelatiecode = "REL-0008",
    /// `REL-0011`: invalid IBAN.
    InvalidIban = "REL-0011",
    /// `REL-0064`: the kind of a relation cannot change.
    RelatiesoortUnchangeable = "REL-0064",
    /// `REL-0065`: a relation cannot be both customer and supplier.
    RelatiesoortBoth = "REL-0065",
    /// `REL-0088`: invalid VAT number.
    InvalidBtwNummer = "REL-0088",
    /// `KPL-0001`: cost centre not found.
    KostenplaatsNotFound = "KPL-0001",
    /// `KPL-0008`: the cost-centre number already exists.
    DuplicateKostenplaatsNummer = "KPL-0008",
    /// `BOE-0008`: the ledger is inactive.
    GrootboekInactive = "BOE-0008",
    /// `BOE-0019`: the cost centre was not found.
    BookingKostenplaatsNotFound = "BOE-0019",
    /// `BOE-0021`: the invoice number already exists (a retried create already succeeded).
    DuplicateFactuurnummer = "BOE-0021",
    /// `BOE-0022`: the ledger requires a cost centre.
    KostenplaatsRequired = "BOE-0022",
    /// `BOE-0026`: the cost centre is inactive.
    KostenplaatsInactive = "BOE-0026",
    /// `BOE-0037`: a ledger could not be found.
    GrootboekNotFound = "BOE-0037",
    /// `BOE-0039`: the booking does not balance.
    Unbalanced = "BOE-0039",
    /// `BOE-0042`: the booking date is in a locked period.
    PeriodLocked = "BOE-0042",
    /// `BOE-0051`: the period was locked or reviewed by the accountant.
    PeriodLockedByAccountant = "BOE-0051",
    /// `BOE-0054`: the relation is inactive.
    RelatieInactive = "BOE-0054",
    /// `BOE-0060`: the relation is not a customer.
    NotACustomer = "BOE-0060",
    /// `BOE-0003`: the relation is not a supplier.
    NotASupplier = "BOE-0003",
    /// `BOE-0062`: reverse-charge VAT mixed with other VAT kinds.
    VerlegdMixed = "BOE-0062",
    /// `BOE-0069`: the VAT given is not valid.
    InvalidBtw = "BOE-0069",
    /// `BOE-0082`: a VAT kind is missing or does not match the ledger's.
    BtwSoortMismatch = "BOE-0082",
    /// `BOE-0083`: an invoice with payments cannot be deleted.
    HasPayments = "BOE-0083",
    /// `BOE-0089`: the ledger was not found.
    GrootboekNotFound2 = "BOE-0089",
    /// `BLG-0006`: the file is larger than 10 MB.
    AttachmentTooLarge = "BLG-0006",
    /// `BLG-0007`: the file name is missing.
    AttachmentNameRequired = "BLG-0007",
}

/// One entry of a SnelStart error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorItem {
    /// The code (`REL-0008`), when the body carried one.
    pub code: Option<ErrorCode>,
    /// The message as SnelStart wrote it (Dutch for business rules).
    pub message: String,
}

/// SnelStart, or the gateway in front of it, answered with an error status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct ApiError {
    /// The method of the failed request.
    pub method: Method,
    /// The route template of the failed request.
    pub route: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The request id header, when the response carried one.
    pub request_id: Option<String>,
    /// `Retry-After`, when present.
    pub retry_after: Option<Duration>,
    /// The decoded error entries; never empty (the raw body is used when nothing else fits).
    pub errors: Vec<ApiErrorItem>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} answered HTTP {}",
            self.method, self.route, self.status
        )?;
        for (i, item) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            if let Some(code) = &item.code {
                write!(f, "{code} ")?;
            }
            f.write_str(&item.message)?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Decodes an error body in any of the shapes SnelStart and its gateway use: an array of
    /// `{errorCode, message}`, ASP.NET model state `{message, modelState}`, a plain
    /// `{Message}`/`{message}`, the gateway's `{statusCode, message}`, or non-JSON text.
    pub fn from_response(
        method: Method,
        route: &'static str,
        status: u16,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> ApiError {
        ApiError {
            method,
            route,
            status,
            request_id,
            retry_after,
            errors: decode_error_items(status, body),
        }
    }

    fn is_retryable(&self) -> bool {
        matches!(self.status, 408 | 429 | 500 | 502 | 503 | 504)
    }
}

/// Turns any known error body shape into a list of items (never empty).
pub(crate) fn decode_error_items(status: u16, body: &[u8]) -> Vec<ApiErrorItem> {
    use serde_json::Value;

    fn text(v: &Value) -> Option<String> {
        v.as_str().map(str::to_owned)
    }
    fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    fn item_from_object(obj: &serde_json::Map<String, Value>) -> Option<ApiErrorItem> {
        let code = field(obj, "errorCode").and_then(text).map(ErrorCode::new);
        let message = field(obj, "message")
            .or_else(|| field(obj, "description"))
            .and_then(text);
        if code.is_none() && message.is_none() {
            return None;
        }
        Some(ApiErrorItem {
            code,
            message: message.unwrap_or_default(),
        })
    }

    let fallback = || {
        let raw = String::from_utf8_lossy(body);
        let raw = raw.trim();
        let message = if raw.is_empty() {
            format!("HTTP {status} without a body")
        } else {
            // Keep error values small: bodies can be large HTML pages from proxies.
            raw.chars().take(500).collect()
        };
        vec![ApiErrorItem {
            code: None,
            message,
        }]
    };

    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return fallback();
    };
    let items: Vec<ApiErrorItem> = match &value {
        Value::Array(entries) => entries
            .iter()
            .filter_map(|e| match e {
                Value::Object(obj) => item_from_object(obj),
                Value::String(s) => Some(ApiErrorItem {
                    code: None,
                    message: s.clone(),
                }),
                _ => None,
            })
            .collect(),
        Value::Object(obj) => {
            let mut items = Vec::new();
            if let Some(Value::Object(state)) = field(obj, "modelState") {
                for (key, messages) in state {
                    let list = match messages {
                        Value::Array(list) => list.iter().filter_map(text).collect::<Vec<_>>(),
                        other => text(other).into_iter().collect(),
                    };
                    for m in list {
                        items.push(ApiErrorItem {
                            code: None,
                            message: format!("{key}: {m}"),
                        });
                    }
                }
            }
            if items.is_empty() {
                items.extend(item_from_object(obj));
            }
            items
        }
        Value::String(s) => vec![ApiErrorItem {
            code: None,
            message: s.clone(),
        }],
        _ => Vec::new(),
    };
    if items.is_empty() { fallback() } else { items }
}

/// The server answered with a redirect (3xx). The client never follows redirects: the
/// subscription key and the token would go along to whatever host the `Location` names.
#[derive(Debug, thiserror::Error)]
#[error("{method} {route} answered HTTP {status} redirecting to {}; redirects are never followed",
    .location_host.as_deref().unwrap_or("an unnamed location"))]
pub struct RedirectError {
    /// The method of the request.
    pub method: Method,
    /// The route template of the request.
    pub route: &'static str,
    /// The HTTP status (301, 302, 303, 307, 308, ...).
    pub status: u16,
    /// The host (with the port when the URL names one) of the `Location` header, resolved
    /// against the request URL (`None` when the header is missing or unreadable). Never the
    /// full URL.
    pub location_host: Option<String>,
}

/// A response body was larger than the client's cap (see
/// `ClientBuilder::max_response_bytes`); reading stopped at the cap.
#[derive(Debug, thiserror::Error)]
#[error(
    "{method} {route} answered HTTP {status} with a body larger than {limit} bytes; it was not read"
)]
pub struct TooLargeError {
    /// The method of the request.
    pub method: Method,
    /// The route template of the request.
    pub route: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The cap in bytes.
    pub limit: usize,
}

/// One item of a list page that did not decode. The other items of the page did and were
/// returned: a list is read item by item (see [`Client::list`](crate::Client)), so one malformed
/// record never hides the rest. Collected by the client; read them with
/// `Client::decode_problems` / `Client::take_decode_problems`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {route}: item {index} was skipped, it did not decode at `{path}`: {message}")]
pub struct ItemDecodeProblem {
    /// The method of the list request.
    pub method: Method,
    /// The route template of the list (the operation), e.g. `verkoopfacturen`.
    pub route: &'static str,
    /// The item's position in the whole list (`$skip` of its page + its index on the page).
    pub index: u32,
    /// The JSON path of the offending value within the page, e.g. `[3].vestigingsAdres.land.id`.
    pub path: String,
    /// The decoder's message.
    pub message: String,
    /// The item's `id`, when it has a readable one.
    pub id: Option<String>,
}

/// A success response did not match the expected model.
#[derive(Debug, thiserror::Error)]
#[error(
    "{method} {route} answered HTTP {status} but the body did not decode at `{path}`: {message}"
)]
pub struct DecodeError {
    /// The method of the request.
    pub method: Method,
    /// The route template of the request.
    pub route: &'static str,
    /// The (success) HTTP status.
    pub status: u16,
    /// The JSON path of the offending value, e.g. `[3].vestigingsAdres.land.id`.
    pub path: String,
    /// The decoder's message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(body: &str) -> Vec<ApiErrorItem> {
        decode_error_items(400, body.as_bytes())
    }

    #[test]
    fn decodes_business_error_arrays() {
        let got = items(
            r#"[{"errorCode":"REL-0008","message":"Relatiecode reeds in gebruik"},
                {"errorCode":"BOE-0082","message":"x"}]"#,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].code.as_ref().unwrap().as_str(), "REL-0008");
        assert_eq!(
            got[0].code.as_ref().unwrap().known(),
            Some(KnownCode::DuplicateRelatiecode)
        );
        assert_eq!(got[1].message, "x");
    }

    #[test]
    fn decodes_model_state_gateway_plain_and_text() {
        let ms = items(
            r#"{"message":"The request is invalid.","modelState":{"model.Naam":["too long","bad"]}}"#,
        );
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].message, "model.Naam: too long");
        let gw = items(
            r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 12 seconds."}"#,
        );
        assert_eq!(
            gw[0].message,
            "Rate limit is exceeded. Try again in 12 seconds."
        );
        let plain = items(r#"{"Message":"Authorization has been denied for this request."}"#);
        assert_eq!(
            plain[0].message,
            "Authorization has been denied for this request."
        );
        let text = items("<html>Bad gateway</html>");
        assert_eq!(text[0].message, "<html>Bad gateway</html>");
        let empty = items("");
        assert_eq!(empty[0].message, "HTTP 400 without a body");
    }
}
