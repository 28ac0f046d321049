//! The delivery side of webhooks: what the appliance's sender reads ([`DueWebhook`], its
//! [`WebhookRequest`]), what it reports ([`WebhookOutcome`]) and the bookkeeping that follows
//! (the retry schedule, the attempts kept, retention). Every call here is reached through
//! the system handle ([`crate::system`]): no person acts in them.

use std::ops::Bound;

use super::{
    ATTEMPTS_KEPT, ERROR_MAX_CHARS, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    RETRY_SCHEDULE_MS, cut, delivery_key, endpoint_key, load_delivery, sign,
};
use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::System;
use crate::{Error, Result, Tx, View};

impl Tx<'_> {
    /// Records an attempt's outcome (see [`System::webhook_attempted`]).
    pub(crate) fn webhook_attempted(
        &mut self,
        org: OrgId,
        id: WebhookDeliveryId,
        outcome: WebhookOutcome,
    ) -> Result<WebhookDelivery> {
        let before = load_delivery(self, org, id)?;
        if before.state != WebhookDeliveryState::Pending {
            return Err(Error::conflict(format!(
                "webhook delivery {id} is no longer pending"
            )));
        }
        let endpoint_enabled = self
            .get::<WebhookEndpoint>(
                tables::WEBHOOK_ENDPOINTS,
                &endpoint_key(org, before.endpoint),
            )?
            .is_some_and(|endpoint| endpoint.enabled);
        let mut after = before.clone();
        let succeeded = outcome
            .status
            .is_some_and(|status| (200..300).contains(&status));
        after.attempts.push(WebhookAttempt {
            at: outcome.at,
            status: outcome.status,
            error: outcome
                .error
                .as_deref()
                .map(|error| cut(error.trim(), ERROR_MAX_CHARS)),
            duration_ms: outcome.duration_ms,
            redelivery: before.redelivering,
        });
        if after.attempts.len() > ATTEMPTS_KEPT {
            let extra = after.attempts.len() - ATTEMPTS_KEPT;
            after.attempts.drain(..extra);
        }
        if !before.redelivering {
            after.scheduled_attempts = before.scheduled_attempts.saturating_add(1);
        }
        let next_wait = usize::try_from(after.scheduled_attempts)
            .ok()
            .and_then(|step| RETRY_SCHEDULE_MS.get(step));
        after.state = match (succeeded, before.redelivering, next_wait) {
            (true, _, _) => WebhookDeliveryState::Succeeded,
            (false, false, Some(wait)) if endpoint_enabled => {
                after.next_attempt_at = outcome.at.plus_millis(*wait);
                WebhookDeliveryState::Pending
            }
            _ => WebhookDeliveryState::Failed,
        };
        after.redelivering = false;
        self.update_record(&delivery_key(org, id), &before, &after)?;
        Ok(after)
    }

    /// Deletes finished deliveries queued before `older_than` (see
    /// [`System::prune_webhook_deliveries`]).
    pub(crate) fn prune_webhook_deliveries(
        &mut self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let mut pruned = 0u64;
        let mut left = limit;
        for org in crate::services::retention::orgs_to_prune(self, org)? {
            if left == 0 {
                break;
            }
            let mut doomed: Vec<WebhookDelivery> = Vec::new();
            self.for_each_prefix(tables::WEBHOOK_DELIVERIES, &Key::org(org), |_, value| {
                let delivery: WebhookDelivery = crate::store::codec::decode(value)?;
                if delivery.state == WebhookDeliveryState::Pending
                    || delivery.created_at >= older_than
                {
                    return Ok(false);
                }
                doomed.push(delivery);
                Ok(doomed.len() < left)
            })?;
            for delivery in &doomed {
                self.delete_record(&delivery_key(org, delivery.id), delivery)?;
            }
            left -= doomed.len();
            pruned += doomed.len() as u64;
        }
        Ok(pruned)
    }
}

/// What the adapter reports of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOutcome {
    /// When the request was sent (the retry schedule counts from it).
    pub at: Timestamp,
    /// The HTTP status of the answer, if one came; 2xx is success.
    pub status: Option<u16>,
    /// What went wrong without an answer (kept to 500 characters).
    pub error: Option<String>,
    /// How long the request took, in milliseconds.
    pub duration_ms: u32,
}

/// A delivery due for an attempt, with what the adapter needs to make its request.
#[derive(Clone, PartialEq, Eq)]
pub struct DueWebhook {
    /// Its organization.
    pub org: OrgId,
    /// The delivery.
    pub id: WebhookDeliveryId,
    /// The endpoint's URL, or `None` when the endpoint is disabled or gone (report any
    /// failure: the delivery fails without retries).
    pub url: Option<String>,
    /// The `webhook-id` header.
    pub message_id: String,
    /// The body.
    pub body: String,
    secret: String,
}

impl std::fmt::Debug for DueWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("DueWebhook")
            .field("org", &self.org)
            .field("id", &self.id)
            .field("url", &self.url)
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// One HTTP request of a webhook attempt: POST `body` to `url` with `headers` and
/// `content-type: application/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where to POST.
    pub url: String,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature` (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
}

impl DueWebhook {
    /// The request of an attempt made at `at`: the timestamp header in whole seconds, the
    /// signature over `{id}.{timestamp}.{body}` with the endpoint's current secret. `None`
    /// when the endpoint is disabled or gone.
    ///
    /// # Errors
    /// Invalid input on `secret` when the stored secret does not decode (never for a secret
    /// crm-lib generated).
    pub fn request(&self, at: Timestamp) -> Result<Option<WebhookRequest>> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let seconds = at.0.div_euclid(1000);
        let signature = sign(&self.secret, &self.message_id, seconds, &self.body)?;
        Ok(Some(WebhookRequest {
            url: url.clone(),
            headers: vec![
                (HEADER_ID, self.message_id.clone()),
                (HEADER_TIMESTAMP, seconds.to_string()),
                (HEADER_SIGNATURE, signature),
            ],
            body: self.body.clone(),
        }))
    }
}

/// Deliveries due by `now` across every organization, earliest due first, at most `limit`.
pub(crate) fn due_webhooks_in(
    view: &impl View,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<DueWebhook>> {
    let mut due: Vec<Vec<u8>> = Vec::new();
    if limit == 0 {
        return Ok(Vec::new());
    }
    let upper = Key::empty().i64(now.0).u64(u64::MAX).u64(u64::MAX);
    // A disabled organization's deliveries wait (issue 14), passed over without counting.
    let disabled = crate::services::tenants::disabled_in(view)?;
    view.scan(
        tables::WEBHOOK_DUE,
        (Bound::Unbounded, Bound::Included(upper.as_slice())),
        false,
        |key, _| {
            if !disabled.contains(&OrgId(keys::read_u64(key, 8))) {
                due.push(key.to_vec());
            }
            Ok(due.len() < limit)
        },
    )?;
    let mut out = Vec::with_capacity(due.len());
    for key in due {
        let org = OrgId(keys::read_u64(&key, 8));
        let id = WebhookDeliveryId(keys::read_u64(&key, 16));
        let delivery = view
            .get::<WebhookDelivery>(tables::WEBHOOK_DELIVERIES, &delivery_key(org, id))?
            .ok_or_else(|| crate::store::dangling("webhook_due", &key))?;
        let endpoint = view
            .get::<WebhookEndpoint>(
                tables::WEBHOOK_ENDPOINTS,
                &endpoint_key(org, delivery.endpoint),
            )?
            .filter(|endpoint| endpoint.enabled);
        out.push(DueWebhook {
            org,
            id,
            url: endpoint.as_ref().map(|endpoint| endpoint.url.clone()),
            message_id: delivery.message_id,
            body: delivery.payload,
            secret: endpoint.map(|endpoint| endpoint.secret).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The moment the earliest pending delivery is due, if any (the sender sleeps until then).
fn next_webhook_due_in(view: &impl View) -> Result<Option<Timestamp>> {
    // A disabled organization's deliveries are not due: the sender would wake for nothing.
    let disabled = crate::services::tenants::disabled_in(view)?;
    let mut next = None;
    view.for_each_prefix(tables::WEBHOOK_DUE, &Key::empty(), |key, _| {
        if disabled.contains(&OrgId(keys::read_u64(key, 8))) {
            return Ok(true);
        }
        next = Some(Timestamp(keys::read_i64(key, 0)));
        Ok(false)
    })?;
    Ok(next)
}

impl System<'_> {
    /// Deliveries due by `now` across every organization, earliest first, at most `limit`,
    /// each with its request's makings. One index scan and two point reads per delivery.
    ///
    /// # Errors
    /// Storage, also when a due entry has no delivery.
    pub fn due_webhooks(&self, now: Timestamp, limit: usize) -> Result<Vec<DueWebhook>> {
        self.crm.read(|view| due_webhooks_in(view, now, limit))
    }

    /// When the earliest pending delivery is due, if any delivery is pending.
    ///
    /// # Errors
    /// Storage only.
    pub fn next_webhook_due(&self) -> Result<Option<Timestamp>> {
        self.crm.read(next_webhook_due_in)
    }

    /// Records an attempt's outcome: a 2xx status succeeds the delivery; any other outcome
    /// schedules the next attempt on [`RETRY_SCHEDULE_MS`] from `outcome.at`, or fails the
    /// delivery after the last one (a redelivery, or an endpoint disabled or deleted, fails
    /// at once). The attempt is kept in the delivery log. No audit entry: delivery is
    /// bookkeeping. One write transaction of its own; blocks until durable.
    ///
    /// # Errors
    /// Not found; conflict when the delivery is no longer pending.
    pub fn webhook_attempted(
        &self,
        org: OrgId,
        id: WebhookDeliveryId,
        outcome: WebhookOutcome,
    ) -> Result<WebhookDelivery> {
        self.crm
            .write(move |tx| tx.webhook_attempted(org, id, outcome))
    }

    /// Deletes finished (succeeded or failed) deliveries, with their attempts, queued before
    /// `older_than`, oldest first, at most `limit`, of `org` or (with `None`) every
    /// organization. Delivery ids grow with time, so each organization's scan stops at the
    /// first pending or too new delivery (as [`System::prune_outbox`] does). Call it again
    /// until it returns less than `limit`. One write transaction; no audit entry.
    ///
    /// # Errors
    /// Storage only.
    pub fn prune_webhook_deliveries(
        &self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        self.crm
            .write(move |tx| tx.prune_webhook_deliveries(org, older_than, limit))
    }
}
