//! Purchases per project: purchase bookings summed per kostenplaats by SnelStart itself
//! (`grootboekmutaties` with `$apply`), reported per linked CRM project.

use std::collections::HashMap;

use crm_model::Money;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde::Serialize;
use snelstart_client::models::DagboekSoort;
use snelstart_client::odata::Filter;
use snelstart_client::ops;
use snelstart_client::ops::grootboekmutaties::{self, Aggregate, Apply};
use uuid::Uuid;

use super::property;
use crate::SyncEngine;
use crate::crm::{CrmSink, CrmSource, SinkEvent};
use crate::engine::context::read_complete;
use crate::error::EngineError;
use crate::store::{EntityKind, StateKey, Store, StoreError, stream_links};

/// Purchases booked on one CRM project's cost centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProjectPurchases {
    /// The CRM project.
    pub crm_id: String,
    /// The kostenplaats.
    pub snelstart_id: Uuid,
    /// The kostenplaats nummer, when the link holds it.
    pub nummer: Option<String>,
    /// Σ of the purchase bookings' ledger lines on the cost centre (excluding VAT; credit
    /// notes subtract).
    pub total: Money,
}

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Purchases per linked CRM project: the purchase journals' ledger lines summed per
    /// kostenplaats by SnelStart (`grootboekmutaties` with `$apply`, one call plus one for the
    /// journals), in CRM-id order. Projects without purchases have a total of zero. Reads only;
    /// delivers nothing (see [`SyncEngine::read_back`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::SnelStart`], [`EngineError::Store`].
    pub async fn project_purchases(&self) -> Result<Vec<ProjectPurchases>, EngineError> {
        let totals = self.purchase_totals_per_kostenplaats().await?;
        let mut out = Vec::new();
        let mut links = std::pin::pin!(stream_links(
            &self.inner.store,
            self.inner.admin.clone(),
            EntityKind::CostCentre,
            500,
        ));
        while let Some(link) = links.try_next().await? {
            let total = totals.get(&link.snelstart_id).copied().unwrap_or_default();
            out.push(ProjectPurchases {
                crm_id: link.crm_id,
                snelstart_id: link.snelstart_id,
                nummer: link.natural_key,
                total: Money::round_from(total),
            });
        }
        Ok(out)
    }

    async fn purchase_totals_per_kostenplaats(
        &self,
    ) -> Result<HashMap<Uuid, Decimal>, snelstart_client::Error> {
        let client = &self.inner.client;
        // A journal left out would make the totals wrong.
        let journals: Vec<Uuid> = read_complete(client, ops::dagboeken::list())
            .await?
            .into_iter()
            .filter(|d| d.soort == Some(DagboekSoort::Inkoop))
            .map(|d| d.id.as_uuid())
            .collect();
        let Some(filter) = journals
            .iter()
            .map(|id| Filter::eq(property("Dagboek/Id"), *id))
            .reduce(Filter::or)
        else {
            return Ok(HashMap::new());
        };
        let apply = Apply::group_by([property("Kostenplaats")])
            .aggregate(Aggregate::sum_of_saldo(property("Totaal")));
        let rows = client
            .execute(grootboekmutaties::aggregate(Some(filter), &apply)?)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| Some((row.group_id("Kostenplaats")?, row.decimal("Totaal")?)))
            .collect())
    }

    /// Delivers the purchases of every project whose figure changed since it was last
    /// delivered; returns the figures and how many events the sink accepted.
    pub(super) async fn deliver_project_purchases(
        &self,
    ) -> Result<(Vec<ProjectPurchases>, u64), EngineError> {
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let projects = self.project_purchases().await?;
        let mut delivered = 0;
        for project in &projects {
            let name = StateKey::read_back_of("project_purchases", project.crm_id.clone());
            let previous = store.state(admin, &name).await?;
            let fingerprint = format!("v1|{}|{}", project.snelstart_id, project.total);
            if previous.as_deref() == Some(fingerprint.as_str())
                || (previous.is_none() && project.total.is_zero())
            {
                continue;
            }
            let event = SinkEvent::ProjectPurchases {
                crm_id: project.crm_id.clone(),
                snelstart_id: project.snelstart_id,
                total: project.total,
            };
            if let Err(e) = self.inner.sink.deliver(event).await {
                // The cursor stays, so the next run offers it again.
                tracing::warn!(error = %e, project = %project.crm_id, "the CRM sink refused project purchases; retried next run");
                metrics::counter!("sync_readback_refused_total").increment(1);
                continue;
            }
            metrics::counter!("sync_readback_events_total", "event" => "project_purchases")
                .increment(1);
            delivered += 1;
            match store
                .put_state(admin, &name, previous.as_deref(), &fingerprint, self.now())
                .await
            {
                Ok(()) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((projects, delivered))
    }
}
