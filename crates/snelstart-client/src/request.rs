//! Requests as data.
//!
//! Every SnelStart operation is a value: a [`Request<T>`] knows its method, path, query, body and
//! the type its response decodes into. Nothing is sent until a [`Client`](crate::Client) executes
//! it, and there is exactly one execute path, which adds the token, the subscription key, the rate
//! budget, retries, error decoding and a tracing span.
//!
//! The typed operations in [`ops`](crate::ops) build these values; [`Request::raw`] is the escape
//! hatch for endpoints this crate does not type yet.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ItemDecodeProblem, NotSentError};
use crate::odata::Query;

/// The HTTP methods the SnelStart API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: read, safe to repeat.
    Get,
    /// `POST`: create; **not** idempotent on SnelStart (there is no idempotency key).
    Post,
    /// `PUT`: full replacement of a resource; idempotent.
    Put,
    /// `DELETE`: idempotent (a repeated delete answers 404, which callers may treat as done).
    Delete,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether sending the same request twice has the same effect as sending it once.
    ///
    /// This decides whether a request whose outcome is unknown (a timeout, a dropped
    /// connection) may be retried blindly. Only `POST` is not.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response body that carries nothing of interest (`DELETE` answers `{}` or an empty body).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty)
    }
}

/// One API operation, ready to be executed by a [`Client`](crate::Client).
///
/// `T` is what the response body decodes into. The path is relative to the API base URL
/// (`relaties/…`, not `/v2/relaties/…`).
#[must_use = "a request does nothing until a client executes it"]
pub struct Request<T> {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    route: &'static str,
    /// For a list answer: decodes it item by item (see [`Request::item_by_item`]).
    items: Option<ItemDecoder<T>>,
    _output: PhantomData<fn() -> T>,
}

/// Decodes a list body item by item: the good items, a problem per bad item, and how many
/// items the body had.
pub(crate) type ItemDecoder<T> =
    fn(Method, &'static str, u16, &[u8], u32) -> Result<(T, Vec<ItemDecodeProblem>, usize), Error>;

impl<T> Clone for Request<T> {
    fn clone(&self) -> Self {
        Request {
            method: self.method,
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            route: self.route,
            items: self.items,
            _output: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Request<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is left out on purpose: it may hold personal data (names, IBANs) that
        // should not end up in logs by accident.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("has_body", &self.body.is_some())
            .field("item_by_item", &self.items.is_some())
            .finish()
    }
}

impl<T: DeserializeOwned> Request<T> {
    /// A request without a body.
    ///
    /// `route` is the path template used in tracing spans and metrics (for example
    /// `"relaties/{id}"`), so that ids don't blow up label cardinality.
    pub fn new(method: Method, route: &'static str, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            route,
            items: None,
            _output: PhantomData,
        }
    }

    /// A request with a JSON body.
    ///
    /// # Errors
    ///
    /// [`NotSentError::InvalidBody`] when `body` cannot be serialized to JSON.
    pub fn with_body<B: Serialize + ?Sized>(
        method: Method,
        route: &'static str,
        path: impl Into<String>,
        body: &B,
    ) -> Result<Self, Error> {
        let value = serde_json::to_value(body).map_err(|e| NotSentError::InvalidBody {
            route,
            source: Box::new(e),
        })?;
        Ok(Request::new(method, route, path).body_value(value))
    }

    /// Replaces the body with an already serialized JSON value.
    pub fn body_value(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Adds one query parameter (`$filter`, `$top`, ...). Values are percent-encoded on send.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds the parameters of an OData query.
    pub fn odata(mut self, query: &Query) -> Self {
        self.query.extend(query.to_params());
        self
    }
}

impl<I: DeserializeOwned> Request<Vec<I>> {
    /// Decodes the answer item by item, as [`Client::list`](crate::Client::list) does with an
    /// OData page: an item that does not fit the model is skipped and recorded as an
    /// [`ItemDecodeProblem`] (read them with
    /// [`Client::decode_problems`](crate::Client::decode_problems)), the good items are
    /// returned. An answer that is not a JSON array still fails. Every plain list operation of
    /// [`ops`](crate::ops) is built this way (not the `$apply` aggregate of
    /// `grootboekmutaties`: a total with a row left out would be a wrong total).
    pub fn item_by_item(mut self) -> Self {
        self.items = Some(crate::decoding::decode_page::<I>);
        self
    }

    /// Whether the answer is decoded item by item.
    pub fn is_item_by_item(&self) -> bool {
        self.items.is_some()
    }
}

impl Request<serde_json::Value> {
    /// The escape hatch: any method and path, JSON in and out.
    ///
    /// Use it for endpoints this crate has not typed yet; it goes through the same execute
    /// path (auth, rate budget, retries, error decoding) as every typed operation.
    pub fn raw(method: Method, path: impl Into<String>) -> Self {
        Request::new(method, "raw", path)
    }
}

impl<T> Request<T> {
    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path relative to the API base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path template, for spans and metrics.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// The query parameters, not yet encoded.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The JSON body, if any.
    pub fn body(&self) -> Option<&serde_json::Value> {
        self.body.as_ref()
    }

    /// The item-by-item decoder of a list answer, if set.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn item_decoder(&self) -> Option<ItemDecoder<T>> {
        self.items
    }
}

/// An OData list operation (`GET /relaties`, `/verkoopfacturen`, ...) that a client can walk
/// page by page.
///
/// [`Client::list`](crate::Client) turns it into a stream of items; [`ListRequest::page`] gives
/// one page as a plain [`Request`].
#[must_use = "a request does nothing until a client executes it"]
pub struct ListRequest<T> {
    route: &'static str,
    path: String,
    query: Query,
    _output: PhantomData<fn() -> T>,
}

impl<T> Clone for ListRequest<T> {
    fn clone(&self) -> Self {
        ListRequest {
            route: self.route,
            path: self.path.clone(),
            query: self.query.clone(),
            _output: PhantomData,
        }
    }
}

impl<T> fmt::Debug for ListRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListRequest")
            .field("path", &self.path)
            .field("query", &self.query.to_params())
            .finish()
    }
}

impl<T: DeserializeOwned> ListRequest<T> {
    /// A list operation on `path` with an OData query.
    pub fn new(route: &'static str, path: impl Into<String>, query: Query) -> Self {
        ListRequest {
            route,
            path: path.into(),
            query,
            _output: PhantomData,
        }
    }

    /// The OData query (filter, order, select; `$top`/`$skip` are the paging defaults).
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The route template.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// The path relative to the API base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The page request for `$skip=skip&$top=top` (other query options kept).
    ///
    /// `top` is clamped to the endpoint maximum, so a page request can always be sent.
    pub fn page(&self, skip: u32, top: u32) -> Request<Vec<T>> {
        let top = top.clamp(1, self.query.max_top());
        let mut query = self.query.clone().skip(skip);
        query = query.clone().top(top).unwrap_or(query);
        Request::new(Method::Get, self.route, self.path.clone())
            .odata(&query)
            .item_by_item()
    }

    /// The request exactly as the query says (its own `$top`/`$skip`, or SnelStart's defaults).
    pub fn single(&self) -> Request<Vec<T>> {
        Request::new(Method::Get, self.route, self.path.clone())
            .odata(&self.query)
            .item_by_item()
    }
}
