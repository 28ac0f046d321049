//! The customer's side of the token service (issue 13) in the bot: `/tokens` (balance,
//! subscription, the latest entries), the order of a package, the premium subscription and
//! the rerun of a completed order, and buying tokens (`tok:b`: the amounts, then the
//! provider, then the invoice whose payment link follows as a notification).
//!
//! Every step is a button whose callback data carries all it needs (`tok:q:<package>:<0|1>`
//! shows a package's price with or without the email add-on, `tok:c:...` places it), so the
//! flow keeps no dialogue state and survives a restart at any step; crm-lib decides every
//! price, balance check and refusal (`crm_lib::tokens`), this module picks the words.

use crm_lib::model::{Actor, ChatId, Date, Keyboard, Language, OrderId, PaymentProvider};
use crm_lib::payments;
use crm_lib::tokens::{self, TokenOrderRequest};
use crm_lib::{ErrorKind, Page, Tx};

use super::context::{Press, Replies};
use super::keyboards::{self, TokensPress};
use super::render::{self, tr, tr_with};

/// The most ledger entries `/tokens` shows.
const RECENT_ENTRIES: usize = 5;

/// The most entries the history shows.
const HISTORY_ENTRIES: usize = 15;

/// The customer talking, as the token flows need them.
pub(crate) struct Who<'a> {
    /// The customer acting.
    pub(crate) actor: &'a Actor,
    /// Their language.
    pub(crate) language: Language,
    /// Their private chat.
    pub(crate) chat: ChatId,
}

/// Whether the organization of `actor` runs the token service.
pub(crate) fn module_on(tx: &Tx<'_>, actor: &Actor) -> crm_lib::Result<bool> {
    Ok(crm_lib::org::organization_in(tx, actor).is_ok_and(|org| tokens::module_on(&org)))
}

/// Shows `text` in place of the pressed message when there is one, else as a new message.
fn show(
    who: &Who<'_>,
    press: Option<&Press<'_>>,
    text: &str,
    keyboard: Option<Keyboard>,
    out: &mut Replies,
) {
    match press.map(|press| (press.message_id, press.message_text.is_some())) {
        Some((Some(message_id), true)) => out.edit_text(who.chat, message_id, text, keyboard),
        _ => out.send(who.chat, text, keyboard),
    }
}

/// A ledger entry as one line: `+300 purchase · 300`.
fn entry_line(language: Language, entry: &crm_lib::model::LedgerEntry) -> String {
    tr_with(
        language,
        "tokens.bot.entry",
        &[
            ("date", &Date::of(entry.at)),
            ("amount", &format!("{:+}", entry.amount)),
            (
                "kind",
                &tr(language, &format!("tokens.kind.{}", entry.kind.as_str())),
            ),
            ("balance", &entry.balance_after),
            ("description", &entry.description),
        ],
    )
}

/// `/tokens`: the balance, the subscription and the latest entries, with the menu.
pub(crate) fn balance(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    press: Option<&Press<'_>>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let page = tokens::ledger_in(&*tx, who.actor, customer, Page::first(RECENT_ENTRIES))?;
    let mut text = tr_with(
        who.language,
        "tokens.bot.balance",
        &[("balance", &page.account.balance)],
    );
    text.push('\n');
    text.push_str(&match (page.subscriber, page.account.premium_until) {
        (true, Some(until)) => tr_with(
            who.language,
            "tokens.bot.premium_until",
            &[("date", &Date::of(until))],
        ),
        _ => tr(who.language, "tokens.bot.no_premium"),
    });
    if !page.entries.items.is_empty() {
        text.push_str("\n\n");
        text.push_str(&tr(who.language, "tokens.bot.recent"));
        for entry in &page.entries.items {
            text.push('\n');
            text.push_str(&entry_line(who.language, entry));
        }
    }
    show(
        who,
        press,
        &text,
        Some(keyboards::tokens_menu(who.language)),
        out,
    );
    Ok(())
}

/// The history: the latest [`HISTORY_ENTRIES`] entries.
fn history(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let page = tokens::ledger_in(&*tx, who.actor, customer, Page::first(HISTORY_ENTRIES))?;
    let mut text = tr(who.language, "tokens.bot.history");
    if page.entries.items.is_empty() {
        text.push('\n');
        text.push_str(&tr(who.language, "tokens.bot.history_empty"));
    }
    for entry in &page.entries.items {
        text.push('\n');
        text.push_str(&entry_line(who.language, entry));
    }
    show(
        who,
        Some(press),
        &text,
        Some(keyboards::tokens_menu(who.language)),
        out,
    );
    Ok(())
}

/// The start of an order: who it is for, when the customer keeps profiles (the people they
/// order for); else the packages at once.
pub(crate) fn start(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    press: Option<&Press<'_>>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let profiles: Vec<(u64, String)> = crm_lib::profiles::profiles_in(&*tx, who.actor, customer)?
        .into_iter()
        .filter(|profile| !profile.archived)
        .map(|profile| (profile.id.get(), profile.label))
        .collect();
    if profiles.is_empty() {
        return packages(tx, who, 0, press, out);
    }
    show(
        who,
        press,
        &tr(who.language, "tokens.bot.choose_profile"),
        Some(keyboards::token_profiles(who.language, &profiles)),
        out,
    );
    Ok(())
}

/// The packages to choose from, each with the customer's price, for `profile` (0: none).
pub(crate) fn packages(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    profile: u64,
    press: Option<&Press<'_>>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let offered = tokens::packages_in(&*tx, who.actor)?;
    if offered.is_empty() {
        show(
            who,
            press,
            &tr(who.language, "tokens.bot.no_packages"),
            None,
            out,
        );
        return Ok(());
    }
    let subscriber = tokens::quote_in(&*tx, who.actor, None, offered[0].id, false)?.subscriber;
    let choices: Vec<(u64, String)> = offered
        .iter()
        .map(|package| {
            (
                package.id,
                tr_with(
                    who.language,
                    "tokens.bot.package_button",
                    &[
                        ("name", &package.name.get(who.language)),
                        ("price", &package.price_for(subscriber)),
                    ],
                ),
            )
        })
        .collect();
    let lead = if subscriber {
        tr(who.language, "tokens.bot.choose_package_premium")
    } else {
        tr(who.language, "tokens.bot.choose_package")
    };
    show(
        who,
        press,
        &lead,
        Some(keyboards::token_packages(who.language, &choices, profile)),
        out,
    );
    Ok(())
}

/// A package's price for the customer, with the add-on toggle and Confirm.
fn quote(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    (package, email, profile): (u64, bool, u64),
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let quote = match tokens::quote_in(&*tx, who.actor, None, package, email) {
        Ok(quote) => quote,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => return packages(tx, who, profile, Some(press), out),
    };
    let settings = tokens::token_settings_in(&*tx, who.actor)?;
    let mut text = tr_with(
        who.language,
        "tokens.bot.quote",
        &[
            ("name", &quote.package.name.get(who.language)),
            ("units", &quote.package.units),
            ("price", &quote.package.price_for(quote.subscriber)),
        ],
    );
    text.push('\n');
    text.push_str(&tr_with(
        who.language,
        if email {
            "tokens.bot.addon_on"
        } else {
            "tokens.bot.addon_off"
        },
        &[(
            "price",
            &if quote.subscriber {
                settings.email_addon_subscriber_price
            } else {
                settings.email_addon_price
            },
        )],
    ));
    if quote.subscriber && quote.regular_cost > quote.cost {
        text.push('\n');
        text.push_str(&tr_with(
            who.language,
            "tokens.bot.saving",
            &[("saving", &(quote.regular_cost - quote.cost))],
        ));
    }
    text.push_str("\n\n");
    text.push_str(&tr_with(
        who.language,
        "tokens.bot.total",
        &[("cost", &quote.cost), ("balance", &quote.balance)],
    ));
    if !quote.enough {
        text.push('\n');
        text.push_str(&tr_with(
            who.language,
            "tokens.bot.not_enough",
            &[(
                "missing",
                &(i64::try_from(quote.cost).unwrap_or(i64::MAX) - quote.balance),
            )],
        ));
    }
    show(
        who,
        Some(press),
        &text,
        Some(keyboards::token_quote(
            who.language,
            package,
            email,
            profile,
            quote.enough,
        )),
        out,
    );
    Ok(())
}

/// Places the order and says where it stands, or why not.
fn confirm(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    (package, email, profile): (u64, bool, u64),
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let request = TokenOrderRequest {
        package,
        email_confirmation: email,
        profile: (profile != 0).then_some(profile),
        ..TokenOrderRequest::default()
    };
    let result = tx.place_token_order(who.actor, request);
    placed(tx, who, result, press, out)
}

/// Answers a placed order (or a rerun), or explains the refusal.
fn placed(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    result: crm_lib::Result<tokens::PlacedOrder>,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match result {
        Ok(placed) => {
            let text = tr_with(
                who.language,
                "tokens.bot.order_queued",
                &[
                    ("id", &placed.order.id),
                    ("title", &placed.order.title),
                    ("cost", &placed.token_order.cost),
                    ("balance", &placed.balance),
                    ("position", &placed.position),
                ],
            );
            show(
                who,
                Some(press),
                &text,
                Some(keyboards::tokens_menu(who.language)),
                out,
            );
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => return Err(error),
            ErrorKind::Conflict => {
                out.answer(
                    who.chat,
                    press.query_id,
                    Some(crm_lib_words(who.language, &error)),
                    true,
                );
            }
            _ => {
                out.answer(
                    who.chat,
                    press.query_id,
                    Some(tr(who.language, "bot.callback.stale")),
                    false,
                );
                return packages(tx, who, 0, Some(press), out);
            }
        },
    }
    Ok(())
}

/// A refusal in the customer's words: not enough tokens, or the open-order limit.
fn crm_lib_words(language: Language, error: &crm_lib::Error) -> String {
    if error.to_string().contains("insufficient balance") {
        tr(language, "tokens.bot.refused_balance")
    } else {
        tr(language, "tokens.bot.refused_limit")
    }
}

/// The subscription's offer, or its purchase.
fn subscribe(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    confirmed: bool,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    if confirmed {
        return match tx.buy_subscription(who.actor) {
            Ok(account) => {
                let until = account.premium_until.map(Date::of);
                let text = tr_with(
                    who.language,
                    "tokens.bot.subscribed",
                    &[
                        (
                            "date",
                            &until.map(|date| date.to_string()).unwrap_or_default(),
                        ),
                        ("balance", &account.balance),
                    ],
                );
                show(
                    who,
                    Some(press),
                    &text,
                    Some(keyboards::tokens_menu(who.language)),
                    out,
                );
                Ok(())
            }
            Err(error) if error.kind() == ErrorKind::Conflict => {
                out.answer(
                    who.chat,
                    press.query_id,
                    Some(tr(who.language, "tokens.bot.refused_balance")),
                    true,
                );
                Ok(())
            }
            Err(error) => Err(error),
        };
    }
    let settings = tokens::token_settings_in(&*tx, who.actor)?;
    let page = tokens::ledger_in(&*tx, who.actor, customer, Page::first(1))?;
    let mut text = tr_with(
        who.language,
        "tokens.bot.premium_offer",
        &[
            ("price", &settings.subscription_price),
            ("days", &settings.subscription_days),
            ("balance", &page.account.balance),
        ],
    );
    if let (true, Some(until)) = (page.subscriber, page.account.premium_until) {
        text.push_str("\n\n");
        text.push_str(&tr_with(
            who.language,
            "tokens.bot.premium_extends",
            &[("date", &Date::of(until))],
        ));
    }
    show(
        who,
        Some(press),
        &text,
        Some(keyboards::token_subscribe(who.language)),
        out,
    );
    Ok(())
}

/// A button of the token flows.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    pressed: TokensPress,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    if !module_on(tx, who.actor)? {
        out.answer(
            who.chat,
            press.query_id,
            Some(tr(who.language, "bot.callback.stale")),
            false,
        );
        return Ok(());
    }
    match pressed {
        TokensPress::Menu => balance(tx, who, customer, Some(press), out),
        TokensPress::History => history(tx, who, customer, press, out),
        TokensPress::New => start(tx, who, customer, Some(press), out),
        TokensPress::ForProfile(profile) => packages(tx, who, profile, Some(press), out),
        TokensPress::Quote {
            package,
            email,
            profile,
        } => quote(tx, who, (package, email, profile), press, out),
        TokensPress::Confirm {
            package,
            email,
            profile,
        } => confirm(tx, who, (package, email, profile), press, out),
        TokensPress::Subscribe => subscribe(tx, who, customer, false, press, out),
        TokensPress::SubscribeConfirm => subscribe(tx, who, customer, true, press, out),
        TokensPress::Rerun(order) => {
            let result = tx.rerun_order(who.actor, OrderId::new(order));
            placed(tx, who, result, press, out)
        }
        TokensPress::Buy => buy(tx, who, press, out),
        TokensPress::BuyAmount(tokens) => buy_amount(tx, who, tokens, press, out),
        TokensPress::BuyWith { tokens, provider } => {
            buy_with(tx, who, customer, tokens, provider, press, out)
        }
    }
}

/// "Buy tokens": the amounts offered, with their prices.
fn buy(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let offer = payments::payment_offer_in(&*tx, who.actor)?;
    if !offer.oxapay && offer.stars_per_token == 0 {
        out.answer(
            who.chat,
            press.query_id,
            Some(tr(who.language, "payments.bot.unavailable")),
            true,
        );
        return Ok(());
    }
    let amounts: Vec<(u64, String)> = offer
        .amounts
        .iter()
        .map(|tokens| {
            let label = tr_with(
                who.language,
                "payments.bot.amount_button",
                &[
                    ("tokens", tokens),
                    (
                        "price",
                        &render::price(tokens.saturating_mul(offer.token_price), &offer.currency),
                    ),
                ],
            );
            (*tokens, label)
        })
        .collect();
    let text = tr_with(
        who.language,
        "payments.bot.choose_amount",
        &[("price", &render::price(offer.token_price, &offer.currency))],
    );
    show(
        who,
        Some(press),
        &text,
        Some(keyboards::buy_amounts(who.language, &amounts)),
        out,
    );
    Ok(())
}

/// The providers to pay `tokens` with.
fn buy_amount(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    tokens: u64,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let offer = payments::payment_offer_in(&*tx, who.actor)?;
    let mut providers = Vec::new();
    if offer.oxapay {
        providers.push(PaymentProvider::OxaPay);
    }
    if offer.stars_per_token > 0 {
        providers.push(PaymentProvider::Stars);
    }
    if !offer.amounts.contains(&tokens) || providers.is_empty() {
        out.answer(
            who.chat,
            press.query_id,
            Some(tr(who.language, "bot.callback.stale")),
            false,
        );
        return buy(tx, who, press, out);
    }
    let text = tr_with(
        who.language,
        "payments.bot.choose_provider",
        &[
            ("tokens", &tokens),
            (
                "price",
                &render::price(tokens.saturating_mul(offer.token_price), &offer.currency),
            ),
        ],
    );
    show(
        who,
        Some(press),
        &text,
        Some(keyboards::buy_providers(who.language, tokens, &providers)),
        out,
    );
    Ok(())
}

/// Asks crm-lib for the invoice; its link follows as a notification once the provider
/// created it.
fn buy_with(
    tx: &mut Tx<'_>,
    who: &Who<'_>,
    customer: crm_lib::model::CustomerId,
    tokens: u64,
    provider: PaymentProvider,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match tx.request_invoice(who.actor, customer, tokens, provider) {
        Ok(invoice) => {
            let key = match provider {
                PaymentProvider::OxaPay => "payments.bot.creating",
                PaymentProvider::Stars => "payments.bot.stars_follows",
            };
            let text = tr_with(
                who.language,
                key,
                &[("id", &invoice.id), ("tokens", &invoice.tokens)],
            );
            show(who, Some(press), &text, None, out);
            Ok(())
        }
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(_) => {
            out.answer(
                who.chat,
                press.query_id,
                Some(tr(who.language, "payments.bot.unavailable")),
                true,
            );
            Ok(())
        }
    }
}

/// Telegram asks whether a Stars invoice may be paid (`pre_checkout_query`): crm-lib checks
/// the invoice, amount and currency; the answer (`answerPreCheckoutQuery`) goes out at once.
pub(crate) fn on_pre_checkout(
    tx: &mut Tx<'_>,
    ctx: &super::context::Ctx<'_>,
    query: &teloxide::types::PreCheckoutQuery,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some(telegram) = super::context::telegram_id(&query.from) else {
        return Ok(());
    };
    let chat = ChatId::from(telegram);
    let Some(customer) = tx.system().customer_by_telegram(ctx.org, telegram)? else {
        out.answer_pre_checkout(
            chat,
            &query.id.0,
            Some(tr(
                super::context::guess_language(&query.from),
                "payments.bot.precheckout_refused",
            )),
        );
        return Ok(());
    };
    let actor = Actor::customer(ctx.org, customer.id);
    let result = tx.pre_checkout(
        &actor,
        &query.invoice_payload,
        u64::from(query.total_amount),
        &query.currency,
    );
    match result {
        Ok(()) => out.answer_pre_checkout(chat, &query.id.0, None),
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => out.answer_pre_checkout(
            chat,
            &query.id.0,
            Some(tr(customer.language, "payments.bot.precheckout_refused")),
        ),
    }
    Ok(())
}

/// A Stars payment arrived (`successful_payment`): credited in the update's transaction,
/// once per `telegram_payment_charge_id`; the ledger tells the customer the new balance.
pub(crate) fn on_successful_payment(
    tx: &mut Tx<'_>,
    ctx: &super::context::Ctx<'_>,
    telegram: crm_lib::model::TelegramUserId,
    chat: ChatId,
    payment: &teloxide::types::SuccessfulPayment,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some(customer) = tx.system().customer_by_telegram(ctx.org, telegram)? else {
        return Ok(());
    };
    let actor = Actor::customer(ctx.org, customer.id);
    match tx.stars_paid(
        &actor,
        &payment.invoice_payload,
        &payment.telegram_payment_charge_id.0,
        u64::from(payment.total_amount),
    ) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(error) => {
            // Telegram took the Stars but the invoice does not take them (a payment of a
            // closed invoice): staff see it in the log and refund it from the payments page.
            tracing::warn!(%error, "a Stars payment was not credited");
            out.send(
                chat,
                &tr(customer.language, "payments.bot.precheckout_refused"),
                None,
            );
            Ok(())
        }
    }
}

/// The token lines of an order's details (its cost, place in the queue, rerun), and whether
/// it may be run again; `None` for an order without a token side.
pub(crate) fn order_lines(
    tx: &Tx<'_>,
    who: &Who<'_>,
    order: OrderId,
) -> crm_lib::Result<Option<(String, bool)>> {
    if !module_on(tx, who.actor)? {
        return Ok(None);
    }
    let Some(view) = tokens::token_order_in(tx, who.actor, order)? else {
        return Ok(None);
    };
    let mut text = tr_with(
        who.language,
        "tokens.bot.order_cost",
        &[("cost", &view.token_order.cost)],
    );
    if let Some(position) = view.position {
        text.push('\n');
        text.push_str(&tr_with(
            who.language,
            "tokens.bot.order_position",
            &[("position", &position)],
        ));
    }
    if view.token_order.refund.is_some() {
        text.push('\n');
        text.push_str(&tr(who.language, "tokens.bot.order_refunded"));
    }
    Ok(Some((text, view.may_rerun)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_lib::model::LedgerKind;

    /// Whether a ledger kind is a credit the customer is told of.
    fn told(kind: LedgerKind) -> bool {
        matches!(
            kind,
            LedgerKind::Purchase | LedgerKind::Adjustment | LedgerKind::Bonus
        )
    }

    #[test]
    fn every_ledger_kind_has_its_words_in_every_language() {
        for language in Language::all() {
            for kind in LedgerKind::ALL {
                let key = format!("tokens.kind.{}", kind.as_str());
                assert_ne!(tr(language, &key), key, "{key} in {language:?}");
                if told(kind) {
                    let key = format!("tokens.bot.credited.{}", kind.as_str());
                    assert_ne!(tr(language, &key), key, "{key} in {language:?}");
                }
            }
        }
    }
}
