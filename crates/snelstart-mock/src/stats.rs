//! Request counts per method, route template and status.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One counter of [`Stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatEntry {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Route template, e.g. `/v2/relaties/{id}`.
    pub route: String,
    /// Response status (0 when the connection was dropped without a response).
    pub status: u16,
    /// How many requests ended like this.
    pub count: u64,
}

/// A snapshot of the request counters (`GET /_mock/stats` returns the same as JSON, which
/// deserializes into this type again: a simulator in another process is read the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// All counters, ordered by route, method and status.
    pub entries: Vec<StatEntry>,
}

/// The live counters: route → method → status → count. Nested so that counting a request
/// looks its route and method up by reference and allocates only for a new combination.
#[derive(Debug, Default)]
pub(crate) struct Counters(BTreeMap<String, BTreeMap<String, BTreeMap<u16, u64>>>);

impl Counters {
    pub(crate) fn count(&mut self, route: &str, method: &str, status: u16) {
        let methods = match self.0.get_mut(route) {
            Some(m) => m,
            None => self.0.entry(route.to_owned()).or_default(),
        };
        let statuses = match methods.get_mut(method) {
            Some(s) => s,
            None => methods.entry(method.to_owned()).or_default(),
        };
        *statuses.entry(status).or_insert(0) += 1;
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

impl Stats {
    /// A snapshot ordered by route, method and status.
    pub(crate) fn from_map(counters: &Counters) -> Stats {
        let mut entries = Vec::new();
        for (route, methods) in &counters.0 {
            for (method, statuses) in methods {
                for (status, count) in statuses {
                    entries.push(StatEntry {
                        method: method.clone(),
                        route: route.clone(),
                        status: *status,
                        count: *count,
                    });
                }
            }
        }
        Stats { entries }
    }

    /// Requests with this method and route template (any status). The route may be given with
    /// or without the `/v2` prefix.
    pub fn count(&self, method: &str, route: &str) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.method.eq_ignore_ascii_case(method) && same_route(&e.route, route))
            .map(|e| e.count)
            .sum()
    }

    /// Requests with this method, route template and status.
    pub fn count_status(&self, method: &str, route: &str, status: u16) -> u64 {
        self.entries
            .iter()
            .filter(|e| {
                e.method.eq_ignore_ascii_case(method)
                    && same_route(&e.route, route)
                    && e.status == status
            })
            .map(|e| e.count)
            .sum()
    }

    /// Write calls (POST, PUT, DELETE) on the API (`/v2/...`), whatever their outcome.
    pub fn writes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| {
                e.route.starts_with("/v2/")
                    && matches!(e.method.as_str(), "POST" | "PUT" | "DELETE")
            })
            .map(|e| e.count)
            .sum()
    }

    /// Successful (2xx) write calls on the API.
    pub fn successful_writes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| {
                e.route.starts_with("/v2/")
                    && matches!(e.method.as_str(), "POST" | "PUT" | "DELETE")
                    && (200..300).contains(&e.status)
            })
            .map(|e| e.count)
            .sum()
    }

    /// All counted API and token requests.
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.count).sum()
    }

    /// Responses with this status, any route.
    pub fn with_status(&self, status: u16) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.status == status)
            .map(|e| e.count)
            .sum()
    }
}

fn same_route(stored: &str, asked: &str) -> bool {
    stored == asked || stored.strip_prefix("/v2") == Some(asked)
}
