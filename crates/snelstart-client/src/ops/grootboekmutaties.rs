//! `/grootboekmutaties`: ledger postings, and server-side aggregation over them with `$apply`.
//! Scope `boekhouden:read`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::GrootboekmutatieId;
use crate::error::{Error, NotSentError};
use crate::models::Grootboekmutatie;
use crate::odata::{Filter, Property, Query};
use crate::request::{ListRequest, Method, Request};

/// `GET /grootboekmutaties` (OData, at most 500 per page).
pub fn list(query: Query) -> ListRequest<Grootboekmutatie> {
    ListRequest::new("grootboekmutaties", "grootboekmutaties", query)
}

/// `GET /grootboekmutaties/{id}`.
pub fn get(id: GrootboekmutatieId) -> Request<Grootboekmutatie> {
    Request::new(
        Method::Get,
        "grootboekmutaties/{id}",
        format!("grootboekmutaties/{id}"),
    )
}

/// `GET /grootboekmutaties?$filter=…&$apply=…`: totals computed by SnelStart.
///
/// The filter runs first, then `apply`. Example: saldo per cost centre for one ledger:
///
/// ```
/// use snelstart_client::odata::{Filter, Property};
/// use snelstart_client::ops::grootboekmutaties::{self, Aggregate, Apply};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let apply = Apply::group_by([Property::new("Kostenplaats")?])
///     .aggregate(Aggregate::sum_of_saldo(Property::new("Totaal")?));
/// let filter = Filter::eq(Property::new("Grootboek/Id")?, uuid::Uuid::nil());
/// let request = grootboekmutaties::aggregate(Some(filter), &apply)?;
/// assert_eq!(
///     request.query()[1],
///     ("$apply".to_owned(), "groupby((Kostenplaats),aggregate(Saldo with sum as Totaal))".to_owned())
/// );
/// # Ok(()) }
/// ```
///
/// **Assumed response shape** (SnelStart does not document it): a bare JSON array with one
/// object per group, holding the group-by properties and the aggregate aliases, as ASP.NET
/// Web API OData produces. [`AggregateRow`] therefore keeps the raw object and offers lenient
/// typed accessors (any property casing; a group value as a nested `{Id}` object or a plain
/// id).
///
/// # Errors
///
/// [`NotSentError::InvalidRequest`] when `apply` neither groups nor aggregates.
pub fn aggregate(
    filter: Option<Filter>,
    apply: &Apply,
) -> Result<Request<Vec<AggregateRow>>, Error> {
    if apply.is_empty() {
        return Err(NotSentError::InvalidRequest {
            route: "grootboekmutaties",
            message: "an $apply needs at least one groupby property or aggregate".to_owned(),
        }
        .into());
    }
    let mut query = Query::new();
    if let Some(filter) = filter {
        query = query.filter(filter);
    }
    Ok(
        Request::new(Method::Get, "grootboekmutaties", "grootboekmutaties")
            .odata(&query)
            .query_param("$apply", apply.to_string()),
    )
}

/// The amount an aggregate is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggregateField {
    /// `Saldo` (debet − credit).
    Saldo,
    /// `Debet`.
    Debet,
    /// `Credit`.
    Credit,
}

impl AggregateField {
    fn as_str(self) -> &'static str {
        match self {
            AggregateField::Saldo => "Saldo",
            AggregateField::Debet => "Debet",
            AggregateField::Credit => "Credit",
        }
    }
}

/// How the amounts of a group are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggregateMethod {
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `average`.
    Average,
}

impl AggregateMethod {
    fn as_str(self) -> &'static str {
        match self {
            AggregateMethod::Sum => "sum",
            AggregateMethod::Min => "min",
            AggregateMethod::Max => "max",
            AggregateMethod::Average => "average",
        }
    }
}

/// One `<field> with <method> as <alias>` term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregate {
    field: AggregateField,
    method: AggregateMethod,
    alias: Property,
}

impl Aggregate {
    /// `field with method as alias`; the alias follows the property-name rules, which keeps it
    /// from injecting anything into the expression.
    pub fn new(field: AggregateField, method: AggregateMethod, alias: Property) -> Self {
        Aggregate {
            field,
            method,
            alias,
        }
    }

    /// `Saldo with sum as alias`, the common case.
    pub fn sum_of_saldo(alias: Property) -> Self {
        Aggregate::new(AggregateField::Saldo, AggregateMethod::Sum, alias)
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} with {} as {}",
            self.field.as_str(),
            self.method.as_str(),
            self.alias
        )
    }
}

/// An `$apply` expression on grootboekmutaties: optional `groupby` properties and aggregates.
///
/// Renders `aggregate(…)`, `groupby((…))` or `groupby((…),aggregate(…))`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Apply {
    group_by: Vec<Property>,
    aggregates: Vec<Aggregate>,
}

impl Apply {
    /// Groups by these properties, e.g. `Kostenplaats`, `Dagboek`, `Grootboek`.
    pub fn group_by(properties: impl IntoIterator<Item = Property>) -> Self {
        Apply {
            group_by: properties.into_iter().collect(),
            aggregates: Vec::new(),
        }
    }

    /// Aggregates over everything that passes the filter.
    pub fn totals(aggregate: Aggregate) -> Self {
        Apply::default().aggregate(aggregate)
    }

    /// Adds an aggregate.
    pub fn aggregate(mut self, aggregate: Aggregate) -> Self {
        self.aggregates.push(aggregate);
        self
    }

    /// Whether the expression has neither groups nor aggregates (and cannot be sent).
    pub fn is_empty(&self) -> bool {
        self.group_by.is_empty() && self.aggregates.is_empty()
    }
}

impl fmt::Display for Apply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join(",");
        let aggregates = join(&mut self.aggregates.iter().map(ToString::to_string));
        if self.group_by.is_empty() {
            return write!(f, "aggregate({aggregates})");
        }
        let groups = join(&mut self.group_by.iter().map(ToString::to_string));
        if self.aggregates.is_empty() {
            write!(f, "groupby(({groups}))")
        } else {
            write!(f, "groupby(({groups}),aggregate({aggregates}))")
        }
    }
}

/// One row of an `$apply` answer: the raw JSON object plus lenient typed accessors (see
/// [`aggregate`] for the assumed shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AggregateRow {
    fields: serde_json::Map<String, serde_json::Value>,
}

impl AggregateRow {
    /// Wraps a JSON object.
    pub fn new(fields: serde_json::Map<String, serde_json::Value>) -> Self {
        AggregateRow { fields }
    }

    /// The raw object.
    pub fn fields(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.fields
    }

    /// A property by name, matched exactly first and then ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.fields.get(name).or_else(|| {
            self.fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// An aggregate value (a JSON number or numeric string) as an exact decimal.
    pub fn decimal(&self, alias: &str) -> Option<Decimal> {
        match self.get(alias)? {
            serde_json::Value::Number(n) => {
                let text = n.to_string();
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .ok()
            }
            serde_json::Value::String(s) => Decimal::from_str(s.trim()).ok(),
            _ => None,
        }
    }

    /// The id of a group-by property, given as `{"Id": …}` / `{"id": …}` or as the bare GUID.
    pub fn group_id(&self, property: &str) -> Option<Uuid> {
        match self.get(property)? {
            serde_json::Value::String(s) => Uuid::parse_str(s).ok(),
            serde_json::Value::Object(o) => o
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                .and_then(|(_, v)| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Property {
        Property::new(s).unwrap()
    }

    #[test]
    fn apply_renders_the_three_forms() {
        let totals = Apply::totals(Aggregate::new(
            AggregateField::Debet,
            AggregateMethod::Max,
            p("Hoogste"),
        ))
        .aggregate(Aggregate::sum_of_saldo(p("Totaal")));
        assert_eq!(
            totals.to_string(),
            "aggregate(Debet with max as Hoogste,Saldo with sum as Totaal)"
        );
        let groups = Apply::group_by([p("Kostenplaats"), p("Dagboek")]);
        assert_eq!(groups.to_string(), "groupby((Kostenplaats,Dagboek))");
        let both = Apply::group_by([p("Grootboek")]).aggregate(Aggregate::new(
            AggregateField::Credit,
            AggregateMethod::Average,
            p("Gemiddeld"),
        ));
        assert_eq!(
            both.to_string(),
            "groupby((Grootboek),aggregate(Credit with average as Gemiddeld))"
        );
    }

    #[test]
    fn empty_apply_is_refused() {
        let err = aggregate(None, &Apply::default()).unwrap_err();
        assert!(err.to_string().contains("$apply"), "{err}");
    }

    #[test]
    fn aggregate_rows_are_read_leniently() {
        let rows: Vec<AggregateRow> = serde_json::from_str(
            r#"[{"Kostenplaats":{"Id":"abb9c97b-9c1f-4503-9c85-099db9a0c6d7"},"Totaal":1297.2},
                {"grootboek":"2aac7eec-819a-4a28-9dc9-464d1fdfae69","totaal":"-0.10"}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].decimal("Totaal"), Some(Decimal::new(12972, 1)));
        assert_eq!(
            rows[0].group_id("Kostenplaats").unwrap().to_string(),
            "abb9c97b-9c1f-4503-9c85-099db9a0c6d7"
        );
        assert_eq!(rows[1].decimal("Totaal"), Some(Decimal::new(-10, 2)));
        assert_eq!(
            rows[1].group_id("Grootboek").unwrap().to_string(),
            "2aac7eec-819a-4a28-9dc9-464d1fdfae69"
        );
        assert_eq!(rows[1].decimal("Missing"), None);
    }
}
