//! The webhook use cases staff run (`manage_settings`): add, change, rotate the secret,
//! delete, send a test event, redeliver; each with its audit entry and change, and the same
//! in a transaction of its own on [`Crm`].

use serde_json::json;

use super::{
    ENDPOINTS_MAX, WebhookInput, all_endpoints, body, checked_input, delivery_key, endpoint_key,
    generate_secret, load_delivery, load_endpoint, queue, webhook_deliveries_in,
    webhook_delivery_in, webhook_in, webhooks_in,
};
use crate::model::*;
use crate::services::require;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Page, Paged, Result, Tx, View};

impl Tx<'_> {
    /// Adds an endpoint with a new signing secret. Needs `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; invalid input on `url`, `description` or `events`; conflict past
    /// [`ENDPOINTS_MAX`] endpoints.
    pub fn create_webhook(
        &mut self,
        actor: &Actor,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint> {
        require(self, actor, Permission::ManageSettings)?;
        let (url, description, events) = checked_input(&input)?;
        if all_endpoints(self, actor.org)?.len() >= ENDPOINTS_MAX {
            return Err(Error::conflict(format!(
                "an organization keeps at most {ENDPOINTS_MAX} webhook endpoints"
            )));
        }
        let secret = generate_secret()?;
        let id = WebhookEndpointId(self.next_id(actor.org, "webhook_endpoint")?);
        let endpoint = WebhookEndpoint {
            id,
            url,
            description,
            events,
            enabled: input.enabled,
            secret,
            created_at: self.now(),
            updated_at: self.now(),
        };
        self.insert_record(&endpoint_key(actor.org, id), &endpoint)?;
        self.audit(
            actor,
            AuditAction::WebhookCreated,
            Subject::Webhook(id),
            AuditDetail::Text(endpoint.url.clone()),
        )?;
        self.changed(actor.org, Subject::Webhook(id), ChangeKind::Created)?;
        Ok(endpoint)
    }

    /// Replaces an endpoint's URL, description, events and enabled flag (its secret stays).
    /// Needs `manage_settings`. Saving what is already there changes nothing.
    ///
    /// # Errors
    /// As [`Tx::create_webhook`]; not found.
    pub fn update_webhook(
        &mut self,
        actor: &Actor,
        id: WebhookEndpointId,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_endpoint(self, actor.org, id)?;
        let (url, description, events) = checked_input(&input)?;
        if before.url == url
            && before.description == description
            && before.events == events
            && before.enabled == input.enabled
        {
            return Ok(before);
        }
        let after = WebhookEndpoint {
            url,
            description,
            events,
            enabled: input.enabled,
            updated_at: self.now(),
            ..before.clone()
        };
        self.update_record(&endpoint_key(actor.org, id), &before, &after)?;
        self.audit(
            actor,
            AuditAction::WebhookUpdated,
            Subject::Webhook(id),
            AuditDetail::Text(after.url.clone()),
        )?;
        self.changed(actor.org, Subject::Webhook(id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Replaces an endpoint's signing secret with a new one; messages sent from now on are
    /// signed with it. Needs `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; not found.
    pub fn rotate_webhook_secret(
        &mut self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_endpoint(self, actor.org, id)?;
        let after = WebhookEndpoint {
            secret: generate_secret()?,
            updated_at: self.now(),
            ..before.clone()
        };
        self.update_record(&endpoint_key(actor.org, id), &before, &after)?;
        self.audit(
            actor,
            AuditAction::WebhookSecretRotated,
            Subject::Webhook(id),
            AuditDetail::Text(after.url.clone()),
        )?;
        self.changed(actor.org, Subject::Webhook(id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Deletes an endpoint with its deliveries (pending ones are not sent). Needs
    /// `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; not found.
    pub fn delete_webhook(&mut self, actor: &Actor, id: WebhookEndpointId) -> Result<()> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_endpoint(self, actor.org, id)?;
        let deliveries: Vec<WebhookDelivery> = self.records_by_index(
            actor.org,
            tables::WEBHOOK_DELIVERIES_BY_ENDPOINT,
            &Key::org(actor.org).u64(id.0),
            tables::WEBHOOK_DELIVERIES,
        )?;
        for delivery in &deliveries {
            self.delete_record(&delivery_key(actor.org, delivery.id), delivery)?;
        }
        self.delete_record(&endpoint_key(actor.org, id), &before)?;
        self.audit(
            actor,
            AuditAction::WebhookDeleted,
            Subject::Webhook(id),
            AuditDetail::Text(before.url.clone()),
        )?;
        self.changed(actor.org, Subject::Webhook(id), ChangeKind::Deleted)?;
        Ok(())
    }

    /// Queues a `webhook.test` message to this endpoint only (whatever it subscribes to).
    /// Needs `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; not found; conflict when the endpoint is disabled.
    pub fn test_webhook(
        &mut self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<WebhookDeliveryId> {
        require(self, actor, Permission::ManageSettings)?;
        let endpoint = load_endpoint(self, actor.org, id)?;
        if !endpoint.enabled {
            return Err(Error::conflict(format!(
                "webhook endpoint {id} is disabled; enable it to send a test event"
            )));
        }
        let body = body(
            WebhookEventType::Test,
            self.now(),
            json!({ "endpoint_id": id.get(), "message": "a test event from the CRM" }),
        );
        let delivery = queue(self, actor.org, id, WebhookEventType::Test, body)?;
        self.audit(
            actor,
            AuditAction::WebhookTested,
            Subject::Webhook(id),
            AuditDetail::Text(endpoint.url.clone()),
        )?;
        self.changed(actor.org, Subject::Webhook(id), ChangeKind::Updated)?;
        Ok(delivery)
    }

    /// Sends a delivery again: one more attempt of the same message (same `webhook-id` and
    /// body), due at once, with no retries after it. Needs `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; not found; conflict while the delivery is still pending or when
    /// its endpoint is disabled.
    pub fn redeliver_webhook(
        &mut self,
        actor: &Actor,
        id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_delivery(self, actor.org, id)?;
        let endpoint = load_endpoint(self, actor.org, before.endpoint)?;
        if before.state == WebhookDeliveryState::Pending {
            return Err(Error::conflict(format!(
                "webhook delivery {id} is still pending"
            )));
        }
        if !endpoint.enabled {
            return Err(Error::conflict(format!(
                "webhook endpoint {} is disabled; enable it to redeliver",
                endpoint.id
            )));
        }
        let after = WebhookDelivery {
            state: WebhookDeliveryState::Pending,
            redelivering: true,
            next_attempt_at: self.now(),
            ..before.clone()
        };
        self.update_record(&delivery_key(actor.org, id), &before, &after)?;
        self.audit(
            actor,
            AuditAction::WebhookRedelivered,
            Subject::Webhook(endpoint.id),
            AuditDetail::Text(after.message_id.clone()),
        )?;
        self.changed(
            actor.org,
            Subject::Webhook(endpoint.id),
            ChangeKind::Updated,
        )?;
        Ok(after)
    }
}

impl Crm {
    /// See [`Tx::create_webhook`].
    ///
    /// # Errors
    /// See [`Tx::create_webhook`].
    pub fn create_webhook(&self, actor: &Actor, input: WebhookInput) -> Result<WebhookEndpoint> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_webhook(&actor, input))
    }

    /// See [`Tx::update_webhook`].
    ///
    /// # Errors
    /// See [`Tx::update_webhook`].
    pub fn update_webhook(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_webhook(&actor, id, input))
    }

    /// See [`Tx::rotate_webhook_secret`].
    ///
    /// # Errors
    /// See [`Tx::rotate_webhook_secret`].
    pub fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint> {
        let actor = actor.clone();
        self.write(move |tx| tx.rotate_webhook_secret(&actor, id))
    }

    /// See [`Tx::delete_webhook`].
    ///
    /// # Errors
    /// See [`Tx::delete_webhook`].
    pub fn delete_webhook(&self, actor: &Actor, id: WebhookEndpointId) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| tx.delete_webhook(&actor, id))
    }

    /// See [`Tx::test_webhook`].
    ///
    /// # Errors
    /// See [`Tx::test_webhook`].
    pub fn test_webhook(&self, actor: &Actor, id: WebhookEndpointId) -> Result<WebhookDeliveryId> {
        let actor = actor.clone();
        self.write(move |tx| tx.test_webhook(&actor, id))
    }

    /// See [`Tx::redeliver_webhook`].
    ///
    /// # Errors
    /// See [`Tx::redeliver_webhook`].
    pub fn redeliver_webhook(
        &self,
        actor: &Actor,
        id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery> {
        let actor = actor.clone();
        self.write(move |tx| tx.redeliver_webhook(&actor, id))
    }

    /// See [`webhooks_in`].
    ///
    /// # Errors
    /// See [`webhooks_in`].
    pub fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookEndpoint>> {
        self.read(|view| webhooks_in(view, actor))
    }

    /// See [`webhook_in`].
    ///
    /// # Errors
    /// See [`webhook_in`].
    pub fn webhook(&self, actor: &Actor, id: WebhookEndpointId) -> Result<WebhookEndpoint> {
        self.read(|view| webhook_in(view, actor, id))
    }

    /// See [`webhook_deliveries_in`].
    ///
    /// # Errors
    /// See [`webhook_deliveries_in`].
    pub fn webhook_deliveries(
        &self,
        actor: &Actor,
        endpoint: WebhookEndpointId,
        page: Page,
    ) -> Result<Paged<WebhookDelivery>> {
        self.read(|view| webhook_deliveries_in(view, actor, endpoint, page))
    }

    /// See [`webhook_delivery_in`].
    ///
    /// # Errors
    /// See [`webhook_delivery_in`].
    pub fn webhook_delivery(
        &self,
        actor: &Actor,
        id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery> {
        self.read(|view| webhook_delivery_in(view, actor, id))
    }
}
