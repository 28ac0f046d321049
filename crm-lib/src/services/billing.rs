//! Billing (C0de seed): payment methods with a details template, payment details sent to a
//! customer for an order, and the assignee's payout after the organization's commission.

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::chat::{MESSAGE_MAX_CHARS, check_reachable, write_message};
use super::customers::{load_customer, save_customer};
use super::orders::order_in;
use super::team::load_user;
use super::{Resolved, clean_text, load_org, require, resolve};

fn method_key(org: OrgId, method: PaymentMethodId) -> Key {
    Key::org(org).u64(method.0)
}

fn load_method(view: &impl View, org: OrgId, method: PaymentMethodId) -> Result<PaymentMethod> {
    view.get(tables::PAYMENT_METHODS, &method_key(org, method))?
        .ok_or_else(|| Error::not_found(PaymentMethodId::LABEL, method))
}

/// Fills a payment method's template: `{amount}` as the customer reads it in `language`
/// ([`Money::format`]: `1,500.00`, `1 500,00`), `{currency}` (`USD`) and `{order}` (the
/// order number). See [`render_payment_message`] for the sender's saved details.
pub fn render_payment_details(
    template: &str,
    amount: Money,
    currency: &str,
    order: OrderId,
    language: Language,
) -> String {
    render_payment_message(template, amount, currency, order, language, None)
}

/// The placeholder of a payment method's template that the sender's saved payment details
/// for that method fill.
pub const DETAILS_PLACEHOLDER: &str = "{details}";

/// The message [`Tx::send_payment_info`] sends: the template filled as
/// [`render_payment_details`] fills it, with `{details}` replaced by `details` (the sender's
/// saved payment details for the method; empty when `None`). A template without `{details}`
/// gets the details appended after a blank line, so a method written before saved details
/// existed still carries them. Placeholders are filled in one pass: text that a filled-in
/// value brings (a `{order}` inside someone's details) stays as it is.
pub fn render_payment_message(
    template: &str,
    amount: Money,
    currency: &str,
    order: OrderId,
    language: Language,
    details: Option<&str>,
) -> String {
    let amount = amount.format(language);
    let order = order.to_string();
    let details_text = details.unwrap_or_default();
    let mut out = String::with_capacity(template.len() + details_text.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let filled = [
            ("{amount}", amount.as_str()),
            ("{currency}", currency),
            ("{order}", order.as_str()),
            (DETAILS_PLACEHOLDER, details_text),
        ]
        .into_iter()
        .find(|(placeholder, _)| tail.starts_with(placeholder));
        match filled {
            Some((placeholder, value)) => {
                out.push_str(value);
                rest = &tail[placeholder.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    if let Some(details) = details.filter(|details| !details.is_empty())
        && !template.contains(DETAILS_PLACEHOLDER)
    {
        out.push_str("\n\n");
        out.push_str(details);
    }
    out
}

/// The longest saved payment details, in characters.
pub const SAVED_DETAILS_MAX_CHARS: usize = 1000;

/// What the assignee receives for an order of `price` (C0de seed): the commission is
/// `price * commission_bps / 10000` rounded down, plus the fixed fee, capped at the price;
/// the payout is the rest. A price of zero or less yields no commission. Amounts in minor
/// units.
pub fn payout(settings: &OrgSettings, price: Money) -> Payout {
    let base = i128::from(price.0.max(0));
    let percentage = base * i128::from(settings.commission_bps) / 10_000;
    let fixed = i128::from(settings.commission_fixed.0.max(0));
    let commission = (percentage + fixed).min(base);
    // `commission <= base <= i64::MAX`, so the conversion cannot fail.
    let commission = Money(i64::try_from(commission).unwrap_or(i64::MAX));
    Payout {
        price,
        commission,
        payout: Money(price.0.max(0) - commission.0),
    }
}

/// Writes a new, active payment method whose name and template were checked, with its audit
/// entry.
fn insert_method(
    tx: &Tx<'_>,
    actor: &Actor,
    name: String,
    template: String,
) -> Result<PaymentMethod> {
    let id = PaymentMethodId(tx.next_id(actor.org, "payment_method")?);
    let method = PaymentMethod {
        id,
        name,
        template,
        active: true,
    };
    tx.put(tables::PAYMENT_METHODS, &method_key(actor.org, id), &method)?;
    tx.audit(
        actor,
        AuditAction::PaymentMethodCreated,
        Subject::PaymentMethod(id),
        AuditDetail::Text(method.name.clone()),
    )?;
    Ok(method)
}

/// The name and template of the payment method every new organization starts with, in the
/// organization's language (the locale files' `billing.default_method.*`, see
/// [`crate::i18n`]): a bank transfer naming the amount, the currency and the order as the
/// payment reference. Without one, nobody could send payment details until an
/// administrator had created a method; administrators add methods with their own account
/// details and may switch this one off. A language whose locale file lacks either text reads
/// the default language's.
pub fn default_payment_method(language: Language) -> DefaultPaymentMethod {
    DefaultPaymentMethod {
        name: crate::i18n::tr(language, "billing.default_method.name"),
        template: crate::i18n::tr(language, "billing.default_method.template"),
    }
}

/// The payment method a new organization starts with, in one language (see
/// [`default_payment_method`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPaymentMethod {
    /// The method's name (`Bank transfer`).
    pub name: String,
    /// Its details template, naming `{amount}`, `{currency}` and `{order}`.
    pub template: String,
}

/// Creates [`default_payment_method`] for the new organization `org` (as the system, in the
/// organization's creation transaction).
pub(crate) fn create_default_payment_method(
    tx: &Tx<'_>,
    org: OrgId,
    language: Language,
) -> Result<PaymentMethod> {
    let DefaultPaymentMethod { name, template } = default_payment_method(language);
    insert_method(tx, &Actor::system(org), name, template)
}

impl Tx<'_> {
    /// Creates a payment method (active). Needs `manage_billing`. Name 1-64 characters, unique
    /// within the organization ignoring case; template 1-2000 characters, with `{amount}`,
    /// `{currency}`, `{order}` and the sender's saved `{details}` filled in when sent (see
    /// [`render_payment_message`]).
    ///
    /// # Errors
    /// Permission denied; invalid input on `name` or `template`; conflict when the name is
    /// taken.
    pub fn create_payment_method(
        &mut self,
        actor: &Actor,
        name: &str,
        template: &str,
    ) -> Result<PaymentMethod> {
        require(self, actor, Permission::ManageBilling)?;
        let name = clean_text("name", name, 1, 64)?;
        let template = clean_text("template", template, 1, 2000)?;
        let lower = name.to_lowercase();
        if payment_methods_in(self, actor.org)?
            .iter()
            .any(|method| method.name.to_lowercase() == lower)
        {
            return Err(Error::conflict(format!(
                "a payment method named {name:?} exists"
            )));
        }
        insert_method(self, actor, name, template)
    }

    /// Turns a payment method on or off; an inactive method cannot be sent. Needs
    /// `manage_billing`. Writes nothing when the state is already as asked.
    ///
    /// # Errors
    /// Permission denied; not found.
    pub fn set_payment_method_active(
        &mut self,
        actor: &Actor,
        method: PaymentMethodId,
        active: bool,
    ) -> Result<PaymentMethod> {
        require(self, actor, Permission::ManageBilling)?;
        let mut record = load_method(self, actor.org, method)?;
        if record.active == active {
            return Ok(record);
        }
        record.active = active;
        self.put(
            tables::PAYMENT_METHODS,
            &method_key(actor.org, method),
            &record,
        )?;
        self.audit(
            actor,
            if active {
                AuditAction::PaymentMethodActivated
            } else {
                AuditAction::PaymentMethodDeactivated
            },
            Subject::PaymentMethod(method),
            AuditDetail::Text(record.name.clone()),
        )?;
        Ok(record)
    }

    /// Sends payment details for an order to its customer (C0de seed): renders the method's
    /// template with the sender's saved payment details for the method (in place of
    /// `{details}`, or appended; see [`render_payment_message`]), records what was sent, queues the Telegram notification, and adds the
    /// details to the order's chat as an outbound message (delivered by that notification,
    /// so no second chat delivery is queued).
    ///
    /// Rules: a staff user with `send_payment_info` who may see the order; the order's stage
    /// allows payment (SPEC section 2: in progress and later); the method is active; the
    /// amount is a positive amount (`1500`, `1 500,50`); a template with `{details}` needs the
    /// sender to have saved details for the method; the rendered details fit one Telegram
    /// message (4096 characters); the customer is reachable.
    ///
    /// # Errors
    /// Permission denied; not found (order, method); conflict naming the stage, an inactive
    /// method, missing saved details or an unreachable customer; invalid input on `amount` or
    /// `template`.
    pub fn send_payment_info(
        &mut self,
        actor: &Actor,
        order: OrderId,
        method: PaymentMethodId,
        amount: Money,
    ) -> Result<PaymentInfo> {
        let resolved = require(self, actor, Permission::SendPaymentInfo)?;
        let user = resolved
            .user_id()
            .ok_or_else(|| Error::forbidden("only staff users send payment details"))?;
        let org = load_org(self, actor.org)?;
        let record = order_in(self, actor, order)?;
        let stage = org.pipeline.stage(record.stage).ok_or_else(|| {
            Error::corrupt(format!("stage {} is not in the pipeline", record.stage))
        })?;
        if !stage.payment_allowed {
            // Name the stages that do take them (the studio: in progress, testing, completed;
            // not before the work starts, nor once the order is delivered).
            let allowed: Vec<&str> = org
                .pipeline
                .stages
                .iter()
                .filter(|stage| stage.payment_allowed)
                .map(|stage| stage.name(Language::EN))
                .collect();
            return Err(Error::conflict(format!(
                "order {order} is {}; payment details can be sent only in {}",
                stage.name(Language::EN),
                if allowed.is_empty() {
                    "no stage of this pipeline".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        let method = load_method(self, actor.org, method)?;
        if !method.active {
            return Err(Error::conflict(format!(
                "payment method {:?} is inactive",
                method.name
            )));
        }
        if amount.0 <= 0 {
            return Err(Error::invalid("amount", "must be more than zero"));
        }
        let mut customer = load_customer(self, actor.org, record.customer)?;
        let currency = org.settings.currency.clone();
        let saved = match &resolved {
            Resolved::Staff(sender, _) => sender.payment_details.get(method.id),
            _ => None,
        };
        if saved.is_none() && method.template.contains(DETAILS_PLACEHOLDER) {
            return Err(Error::conflict(format!(
                "payment method {:?} sends the sender's saved payment details, and you have none for it; save them on your profile page first",
                method.name
            )));
        }
        let details = render_payment_message(
            &method.template,
            amount,
            &currency,
            order,
            customer.language,
            saved,
        );
        let chars = details.chars().count();
        if chars > MESSAGE_MAX_CHARS {
            return Err(Error::invalid(
                "template",
                format!(
                    "the details of {:?} would be {chars} characters, over Telegram's {MESSAGE_MAX_CHARS}",
                    method.name
                ),
            ));
        }
        check_reachable(&customer)?;

        let id = PaymentInfoId(self.next_id(actor.org, "payment_info")?);
        let info = PaymentInfo {
            id,
            order,
            method: method.id,
            amount,
            details: details.clone(),
            sent_by: user,
            sent_at: self.now(),
        };
        self.put(
            tables::PAYMENT_INFOS,
            &Key::org(actor.org).u64(order.0).u64(id.0),
            &info,
        )?;
        let message = Message {
            id: MessageId(self.next_id(actor.org, "message")?),
            customer: record.customer,
            order: Some(order),
            direction: Direction::Outbound,
            author: Author::Staff(user),
            text: details.clone(),
            attachments: Vec::new(),
            telegram_message_id: None,
            delivery: DeliveryState::Pending,
            created_at: self.now(),
            content: None,
            reply_to: None,
            edits: Vec::new(),
            deleted_at: None,
            media_group: None,
        };
        self.enqueue(
            actor.org,
            Recipient::Customer(record.customer),
            OutboxPayload::Notify(Event::PaymentInfo {
                order,
                title: record.title.clone(),
                method: method.name.clone(),
                amount,
                currency: currency.clone(),
                details: details.clone(),
                message: message.id,
            }),
        )?;
        write_message(self, actor.org, &message)?;
        customer.last_activity_at = self.now();
        save_customer(self, actor.org, &customer)?;
        self.audit(
            actor,
            AuditAction::PaymentSent,
            Subject::Order(order),
            AuditDetail::Payment {
                method: method.name.clone(),
                amount,
            },
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        self.changed(actor.org, Subject::Message(message.id), ChangeKind::Created)?;
        Ok(info)
    }
}

impl Tx<'_> {
    /// Saves the actor's own payment details for one payment method (C0de seed: "programmers
    /// can save reusable payment details for different payment methods"); they fill the
    /// message whenever the actor sends payment details with that method (see
    /// [`Tx::send_payment_info`]). An empty text removes what was saved; saving what is saved
    /// already changes nothing and writes nothing. Any active staff user may save their own;
    /// the audit entry names the method, never the details.
    ///
    /// Rules: the method exists (active or not, so details may wait for a method switched off
    /// for now); the text is at most [`SAVED_DETAILS_MAX_CHARS`] characters without control
    /// characters other than line breaks and tabs.
    ///
    /// # Errors
    /// Permission denied for anyone but an active staff user; not found (method); invalid
    /// input on `details`.
    pub fn save_payment_details(
        &mut self,
        actor: &Actor,
        method: PaymentMethodId,
        details: &str,
    ) -> Result<User> {
        let Resolved::Staff(user, _) = resolve(self, actor)? else {
            return Err(Error::forbidden("only staff users save payment details"));
        };
        let method = load_method(self, actor.org, method)?;
        let text = if details.trim().is_empty() {
            String::new()
        } else {
            clean_text("details", details, 1, SAVED_DETAILS_MAX_CHARS)?
        };
        let mut record = *user;
        let removed = text.is_empty();
        if !record.payment_details.set(method.id, text) {
            return Ok(record);
        }
        self.put(
            tables::USERS,
            &Key::org(actor.org).u64(record.id.get()),
            &record,
        )?;
        self.audit(
            actor,
            AuditAction::UserPaymentDetailsChanged,
            Subject::User(record.id),
            AuditDetail::Text(format!(
                "{} for {}",
                if removed { "removed" } else { "saved" },
                method.name
            )),
        )?;
        Ok(record)
    }
}

/// One payment method with the actor's saved details for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedDetailsRow {
    /// The method.
    pub method: PaymentMethod,
    /// What the actor saved for it, if anything.
    pub details: Option<String>,
}

/// The actor's saved payment details: every payment method (active or not) by id, with what
/// the actor saved for it. For active staff users, about themselves.
///
/// # Errors
/// Permission denied for anyone but an active staff user.
pub fn own_payment_details_in(view: &impl View, actor: &Actor) -> Result<Vec<SavedDetailsRow>> {
    let Resolved::Staff(user, _) = resolve(view, actor)? else {
        return Err(Error::forbidden("only staff users save payment details"));
    };
    let user = load_user(view, actor.org, user.id)?;
    Ok(payment_methods_in(view, actor.org)?
        .into_iter()
        .map(|method| SavedDetailsRow {
            details: user.payment_details.get(method.id).map(str::to_string),
            method,
        })
        .collect())
}

/// Every payment method of `org` (active or not), by id.
///
/// # Errors
/// Storage only.
pub(crate) fn payment_methods_in(view: &impl View, org: OrgId) -> Result<Vec<PaymentMethod>> {
    view.records_with_prefix(tables::PAYMENT_METHODS, &Key::org(org))
}

/// The payment details sent for an order, oldest first, for whoever may see the order (its
/// customer included: the details were sent to them).
///
/// # Errors
/// Not found (also when the actor may not see the order).
pub fn payment_infos_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
) -> Result<Vec<PaymentInfo>> {
    order_in(view, actor, order)?;
    view.records_with_prefix(tables::PAYMENT_INFOS, &Key::org(actor.org).u64(order.0))
}

/// The assignee's payout for an order at its agreed price (see [`payout`]). Staff who may see
/// the order and the system; customers are refused (the commission is internal).
///
/// # Errors
/// Not found; permission denied for customers; conflict when the order has no price yet.
pub fn order_payout_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Payout> {
    if matches!(actor.who, ActorRef::Customer(_)) {
        return Err(Error::forbidden("customers do not see payouts"));
    }
    let record = order_in(view, actor, order)?;
    let price = record
        .price
        .ok_or_else(|| Error::conflict(format!("order {order} has no agreed price yet")))?;
    let org = load_org(view, actor.org)?;
    Ok(payout(&org.settings, price))
}

impl Crm {
    /// See [`Tx::create_payment_method`].
    ///
    /// # Errors
    /// See [`Tx::create_payment_method`].
    pub fn create_payment_method(
        &self,
        actor: &Actor,
        name: &str,
        template: &str,
    ) -> Result<PaymentMethod> {
        let (actor, name, template) = (actor.clone(), name.to_string(), template.to_string());
        self.write(move |tx| tx.create_payment_method(&actor, &name, &template))
    }

    /// See [`Tx::set_payment_method_active`].
    ///
    /// # Errors
    /// See [`Tx::set_payment_method_active`].
    pub fn set_payment_method_active(
        &self,
        actor: &Actor,
        method: PaymentMethodId,
        active: bool,
    ) -> Result<PaymentMethod> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_payment_method_active(&actor, method, active))
    }

    /// See [`billing_methods_in`].
    ///
    /// # Errors
    /// See [`billing_methods_in`].
    pub fn payment_methods(&self, actor: &Actor) -> Result<Vec<PaymentMethod>> {
        self.read(|view| billing_methods_in(view, actor))
    }

    /// See [`Tx::send_payment_info`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::send_payment_info`].
    pub fn send_payment_info(
        &self,
        actor: &Actor,
        order: OrderId,
        method: PaymentMethodId,
        amount: Money,
    ) -> Result<PaymentInfo> {
        let actor = actor.clone();
        self.write(move |tx| tx.send_payment_info(&actor, order, method, amount))
    }

    /// See [`Tx::save_payment_details`].
    ///
    /// # Errors
    /// See [`Tx::save_payment_details`].
    pub fn save_payment_details(
        &self,
        actor: &Actor,
        method: PaymentMethodId,
        details: &str,
    ) -> Result<User> {
        let (actor, details) = (actor.clone(), details.to_string());
        self.write(move |tx| tx.save_payment_details(&actor, method, &details))
    }

    /// See [`own_payment_details_in`].
    ///
    /// # Errors
    /// See [`own_payment_details_in`].
    pub fn own_payment_details(&self, actor: &Actor) -> Result<Vec<SavedDetailsRow>> {
        self.read(|view| own_payment_details_in(view, actor))
    }

    /// See [`payment_infos_in`].
    ///
    /// # Errors
    /// See [`payment_infos_in`].
    pub fn payment_infos(&self, actor: &Actor, order: OrderId) -> Result<Vec<PaymentInfo>> {
        self.read(|view| payment_infos_in(view, actor, order))
    }

    /// See [`order_payout_in`].
    ///
    /// # Errors
    /// See [`order_payout_in`].
    pub fn order_payout(&self, actor: &Actor, order: OrderId) -> Result<Payout> {
        self.read(|view| order_payout_in(view, actor, order))
    }
}

/// Every payment method (active or not), by id, for those who manage billing (the payment
/// methods page).
///
/// # Errors
/// Permission denied without `manage_billing`.
pub fn billing_methods_in(view: &impl View, actor: &Actor) -> Result<Vec<PaymentMethod>> {
    require(view, actor, Permission::ManageBilling)?;
    payment_methods_in(view, actor.org)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(bps: u32, fixed: i64) -> OrgSettings {
        OrgSettings {
            locale: Language::EN,
            currency: "USD".into(),
            open_order_limit: 2,
            commission_bps: bps,
            commission_fixed: Money(fixed),
            bot_token: None,
            time_zone: DEFAULT_TIME_ZONE.to_string(),
        }
    }

    #[test]
    fn commission_rounds_down_and_adds_the_fixed_fee() {
        // 10% of 999 minor units is 99.9, rounded down to 99; plus a fee of 50.
        let result = payout(&settings(1000, 50), Money(999));
        assert_eq!(result.commission, Money(149));
        assert_eq!(result.payout, Money(850));
        assert_eq!(result.price, Money(999));
    }

    #[test]
    fn commission_is_capped_at_the_price() {
        let result = payout(&settings(5000, 10_000), Money(300));
        assert_eq!(result.commission, Money(300));
        assert_eq!(result.payout, Money(0));
    }

    #[test]
    fn zero_commission_pays_everything() {
        let result = payout(&settings(0, 0), Money(123_456));
        assert_eq!(result.commission, Money(0));
        assert_eq!(result.payout, Money(123_456));
    }

    #[test]
    fn huge_prices_do_not_overflow() {
        let result = payout(&settings(10_000, 0), Money(i64::MAX));
        assert_eq!(result.commission, Money(i64::MAX));
        assert_eq!(result.payout, Money(0));
    }

    #[test]
    fn templates_fill_every_placeholder() {
        assert_eq!(
            render_payment_details(
                "Pay {amount} {currency} for #{order}; ref {order}",
                Money(150_050),
                "EUR",
                OrderId(42),
                Language::EN
            ),
            "Pay 1,500.50 EUR for #42; ref 42"
        );
        assert_eq!(
            render_payment_details(
                "Оплатите {amount} {currency}",
                Money(2_500_050),
                "RUB",
                OrderId(42),
                Language::RU
            ),
            "Оплатите 25\u{a0}000,50 RUB",
            "the amount as the customer reads it"
        );
    }

    #[test]
    fn the_default_payment_method_names_amount_currency_and_order_in_every_language() {
        assert_eq!(default_payment_method(Language::EN).name, "Bank transfer");
        assert_eq!(
            default_payment_method(Language::RU).name,
            "Банковский перевод"
        );
        for language in Language::all() {
            let DefaultPaymentMethod { name, template } = default_payment_method(language);
            assert!(!name.is_empty());
            for placeholder in ["{amount}", "{currency}", "{order}"] {
                assert!(template.contains(placeholder), "{template}");
            }
            assert!(template.chars().count() <= 2000);
        }
    }
}
