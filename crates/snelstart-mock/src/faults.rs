//! Scripted and random faults.

use serde::{Deserialize, Serialize};

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer this status (e.g. 500, 502, 503) without processing the request.
    Status(u16),
    /// Drop the connection without processing the request and without a response.
    ConnectionReset,
    /// Process the request (a write commits) and then drop the connection without a response:
    /// the client cannot know whether its call took effect.
    ProcessedButResponseLost,
    /// Answer the gateway's 429 with this `Retry-After` (seconds) without processing.
    RateLimited {
        /// Seconds in the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Process the request and, when the answer is a JSON array (a list page), make the item
    /// at `index` malformed (its `uri` becomes a number, a type no model accepts; its `id`
    /// stays readable): what a client sees when SnelStart sends one record it cannot decode.
    MalformedListItem {
        /// The position on the page (0-based); past the end nothing changes.
        index: usize,
    },
    /// Process the request and add a property `name` (a string) to the answer object, or to
    /// every object of a list page: what a client sees after SnelStart adds a field to its API
    /// (API drift).
    NewProperty {
        /// The property's name.
        name: String,
    },
}

/// A fault to inject on the `nth` request (1-based, counted from when it was scripted) that
/// matches `method` and `route`. Each scripted fault fires once.
///
/// ```
/// use snelstart_mock::{FaultKind, ScriptedFault};
/// let f = ScriptedFault::new(FaultKind::ProcessedButResponseLost).on("POST", "/v2/verkoopboekingen");
/// assert_eq!(f.nth, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScriptedFault {
    /// HTTP method to match (`None` = any).
    #[serde(default)]
    pub method: Option<String>,
    /// Route template to match, with or without `/v2`, e.g. `/relaties/{id}` (`None` = any
    /// API route).
    #[serde(default)]
    pub route: Option<String>,
    /// Fire on the nth matching request (1 = the next one).
    #[serde(default = "one")]
    pub nth: u32,
    /// What happens.
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}

impl ScriptedFault {
    /// A fault on the next API request of any route.
    pub fn new(kind: FaultKind) -> Self {
        ScriptedFault {
            method: None,
            route: None,
            nth: 1,
            kind,
        }
    }

    /// Only requests with this method and route template.
    pub fn on(mut self, method: &str, route: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.route = Some(route.to_owned());
        self
    }

    /// Fire on the nth matching request instead of the first.
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = n.max(1);
        self
    }

    pub(crate) fn matches(&self, method: &str, route: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .route
                .as_deref()
                .is_none_or(|r| r == route || route.strip_prefix("/v2") == Some(r))
    }
}

/// Scripted faults with their hit counters.
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) pending: Vec<(ScriptedFault, u32)>,
}

impl Script {
    /// The fault to fire for this request, if any; counts the request for every matching fault.
    pub(crate) fn take(&mut self, method: &str, route: &str) -> Option<FaultKind> {
        let mut fire = None;
        for (i, (f, seen)) in self.pending.iter_mut().enumerate() {
            if f.matches(method, route) {
                *seen += 1;
                if *seen >= f.nth && fire.is_none() {
                    fire = Some(i);
                }
            }
        }
        fire.map(|i| self.pending.remove(i).0.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_counts_matching_requests_only() {
        let mut s = Script::default();
        s.pending.push((
            ScriptedFault::new(FaultKind::Status(503))
                .on("POST", "/relaties")
                .nth(2),
            0,
        ));
        assert_eq!(s.take("GET", "/v2/relaties"), None);
        assert_eq!(s.take("POST", "/v2/relaties"), None);
        assert_eq!(s.take("POST", "/v2/relaties"), Some(FaultKind::Status(503)));
        assert_eq!(s.take("POST", "/v2/relaties"), None);
    }

    #[test]
    fn json_form() {
        let f: ScriptedFault = serde_json::from_str(
            r#"{"method":"POST","route":"/v2/relaties","kind":{"Status":502}}"#,
        )
        .unwrap();
        assert_eq!(f.kind, FaultKind::Status(502));
        let f: ScriptedFault =
            serde_json::from_str(r#"{"kind":"ProcessedButResponseLost"}"#).unwrap();
        assert_eq!(f.nth, 1);
    }
}
