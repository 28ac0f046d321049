//! The per-day aggregates the dashboard reads (`analytics_days`), kept in the write
//! transactions that change what they count, so that a dashboard over a million orders reads
//! a few thousand entries instead of the orders.
//!
//! An entry is `org | metric (u8) | local day (i64, days since 1970-01-01 in the
//! organization's time zone) | sub (u64: the package of [`Metric::PackageOrders`], else 0)`
//! -> a signed count or sum (i64, big-endian two's complement); an entry whose value falls to
//! 0 is removed, so the table holds exactly the non-zero figures.
//!
//! **The invariant.** The stored entries of an organization equal [`expected`]: the sum over
//! its orders of [`add_order`], over its token orders of [`add_token_order`] and over its
//! customers of [`add_customer`], each on the local day the order or customer was created.
//! Every write that changes one of the counted fields calls one hook here, in its
//! transaction, which subtracts what the record counted before and adds what it counts
//! after:
//! - an order created ([`order_created`]: `Tx::create_order`, the order import), saved
//!   ([`order_saved`], from `orders::save_order`, which every move, moderation, assignment
//!   with a bid's price and field edit goes through; it returns at once unless the stage,
//!   price or budget changed) or deleted ([`order_deleted`]: `Tx::delete_order`);
//! - a token order written ([`token_order_written`]: placed with its charge, refunded,
//!   removed with its order; queue moves change nothing counted and return at once);
//! - a customer created ([`customer_created`]: the bot's upsert, `insert_customer`, an
//!   unknown caller) or merged away ([`customer_deleted`]);
//! - the organization's time zone changed: every local day moves, so [`rebuild`] recomputes
//!   the organization's entries from its records (one scan of its orders, token orders and
//!   customers, in the settings' transaction).
//!
//! The schema 8 migration builds the entries with [`build_all`] and `crm verify` compares
//! them with [`expected`] ([`problems`]). Revenue is kept both ways, in money (price or
//! budget) and in tokens, so switching the tokens module changes what the dashboard shows
//! without rewriting anything.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::token_order_key;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Result, Tx, View};

/// The length of an entry's key: org (8), metric (1), day (8), sub (8).
pub(crate) const KEY_LEN: usize = 25;

/// What an aggregate counts, stored as its code (never renumbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Metric {
    /// Orders created on the day.
    Orders = 1,
    /// Of them, those in a `Won` stage now (completed).
    Won = 2,
    /// Of them, those in a `Lost` stage now (cancelled, rejected).
    Lost = 3,
    /// The price, or the budget when there is no price, of those not in a `Lost` stage, in
    /// minor units of the organization's currency.
    MoneyRevenue = 4,
    /// How many orders [`Metric::MoneyRevenue`] counts (those with a price or a budget).
    MoneyCounted = 5,
    /// [`Metric::MoneyRevenue`] of the orders in a `Won` stage.
    MoneyWon = 6,
    /// Tokens charged for the token orders, net of refunds (a refunded order brings 0).
    TokenRevenue = 7,
    /// How many token orders [`Metric::TokenRevenue`] counts (charged and not refunded).
    TokenCounted = 8,
    /// [`Metric::TokenRevenue`] of the orders in a `Won` stage.
    TokenWon = 9,
    /// Token orders of the package `sub` (all of them, refunded or not: what was asked for).
    PackageOrders = 10,
    /// Customers created on the day.
    Customers = 11,
}

impl Metric {
    /// Every metric, by code.
    pub(crate) const ALL: [Metric; 11] = [
        Metric::Orders,
        Metric::Won,
        Metric::Lost,
        Metric::MoneyRevenue,
        Metric::MoneyCounted,
        Metric::MoneyWon,
        Metric::TokenRevenue,
        Metric::TokenCounted,
        Metric::TokenWon,
        Metric::PackageOrders,
        Metric::Customers,
    ];

    /// The metric of a stored code.
    pub(crate) fn from_code(code: u8) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| *metric as u8 == code)
    }

    /// How verify's sentences name it.
    fn noun(self) -> &'static str {
        match self {
            Metric::Orders => "orders created",
            Metric::Won => "completed orders",
            Metric::Lost => "cancelled orders",
            Metric::MoneyRevenue => "money revenue",
            Metric::MoneyCounted => "orders with money revenue",
            Metric::MoneyWon => "money revenue of completed orders",
            Metric::TokenRevenue => "token revenue",
            Metric::TokenCounted => "orders with token revenue",
            Metric::TokenWon => "token revenue of completed orders",
            Metric::PackageOrders => "orders of package",
            Metric::Customers => "customers created",
        }
    }
}

/// One entry's place: metric, local day, sub.
pub(crate) type Slot = (Metric, i64, u64);

/// Changes (or whole figures) by slot.
pub(crate) type Figures = BTreeMap<Slot, i64>;

/// The key of an entry.
pub(crate) fn entry_key(org: OrgId, (metric, day, sub): Slot) -> Key {
    Key::org(org).u8(metric as u8).i64(day).u64(sub)
}

/// The slot of a key, when it is well formed.
pub(crate) fn slot_of(key: &[u8]) -> Option<Slot> {
    if key.len() != KEY_LEN {
        return None;
    }
    let metric = Metric::from_code(key[8])?;
    Some((metric, keys::read_i64(key, 9), keys::read_u64(key, 17)))
}

/// The stored value of an entry.
pub(crate) fn value_of(bytes: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(bytes).ok().map(i64::from_be_bytes)
}

/// What the aggregates need of an organization: its clock and which stages are won or lost.
pub(crate) struct Context {
    zone: Zone,
    kinds: Vec<(StageId, StageKind)>,
}

impl Context {
    /// The context of `org`.
    pub(crate) fn of(org: &Organization) -> Self {
        Context {
            zone: Zone::of(org),
            kinds: org
                .pipeline
                .stages
                .iter()
                .map(|stage| (stage.id, stage.kind))
                .collect(),
        }
    }

    fn kind(&self, stage: StageId) -> Option<StageKind> {
        self.kinds
            .iter()
            .find(|(id, _)| *id == stage)
            .map(|(_, kind)| *kind)
    }

    /// The local day (days since 1970-01-01) `at` falls on.
    pub(crate) fn day(&self, at: Timestamp) -> i64 {
        i64::from(self.zone.date_of(at).days)
    }
}

fn add(out: &mut Figures, slot: Slot, delta: i64) {
    if delta != 0 {
        *out.entry(slot).or_insert(0) += delta;
    }
}

/// What `order` counts (times `sign`, 1 or -1), without its token side.
pub(crate) fn add_order(context: &Context, order: &Order, sign: i64, out: &mut Figures) {
    let day = context.day(order.created_at);
    let kind = context.kind(order.stage);
    add(out, (Metric::Orders, day, 0), sign);
    match kind {
        Some(StageKind::Won) => add(out, (Metric::Won, day, 0), sign),
        Some(StageKind::Lost) => add(out, (Metric::Lost, day, 0), sign),
        _ => {}
    }
    if kind != Some(StageKind::Lost)
        && let Some(amount) = order.price.or(order.budget)
    {
        add(out, (Metric::MoneyRevenue, day, 0), sign * amount.minor());
        add(out, (Metric::MoneyCounted, day, 0), sign);
        if kind == Some(StageKind::Won) {
            add(out, (Metric::MoneyWon, day, 0), sign * amount.minor());
        }
    }
}

/// What the token side `token` of `order` counts (times `sign`): its package, and the
/// tokens it brought in (its cost, 0 once refunded) on the order's day.
pub(crate) fn add_token_order(
    context: &Context,
    order: &Order,
    token: &TokenOrder,
    sign: i64,
    out: &mut Figures,
) {
    let day = context.day(order.created_at);
    add(out, (Metric::PackageOrders, day, token.package), sign);
    let net = net_tokens(token);
    if net > 0 {
        add(out, (Metric::TokenRevenue, day, 0), sign * net);
        add(out, (Metric::TokenCounted, day, 0), sign);
        if context.kind(order.stage) == Some(StageKind::Won) {
            add(out, (Metric::TokenWon, day, 0), sign * net);
        }
    }
}

/// The tokens an order brought in: its cost while it is not refunded.
fn net_tokens(token: &TokenOrder) -> i64 {
    match token.refund {
        Some(_) => 0,
        None => i64::try_from(token.cost).unwrap_or(i64::MAX),
    }
}

/// What `customer` counts (times `sign`).
pub(crate) fn add_customer(context: &Context, customer: &Customer, sign: i64, out: &mut Figures) {
    add(
        out,
        (Metric::Customers, context.day(customer.created_at), 0),
        sign,
    );
}

/// Adds `changes` to the stored entries of `org`, removing those that reach 0.
fn apply(tx: &Tx<'_>, org: OrgId, changes: &Figures) -> Result<()> {
    for (slot, delta) in changes {
        if *delta == 0 {
            continue;
        }
        let key = entry_key(org, *slot);
        let current = tx
            .get_raw(tables::ANALYTICS_DAYS, key.as_slice(), |bytes| {
                Ok(value_of(bytes).unwrap_or(0))
            })?
            .unwrap_or(0);
        let next = current.saturating_add(*delta);
        if next == 0 {
            tx.remove(tables::ANALYTICS_DAYS, &key)?;
        } else {
            tx.put_raw(tables::ANALYTICS_DAYS, key.as_slice(), &next.to_be_bytes())?;
        }
    }
    Ok(())
}

/// Hook: `order` was just created (no token side yet).
pub(crate) fn order_created(tx: &Tx<'_>, org: &Organization, order: &Order) -> Result<()> {
    let mut changes = Figures::new();
    add_order(&Context::of(org), order, 1, &mut changes);
    apply(tx, org.id, &changes)
}

/// Hook: `order` was deleted (its token side goes through [`token_order_written`]).
pub(crate) fn order_deleted(tx: &Tx<'_>, org: &Organization, order: &Order) -> Result<()> {
    let mut changes = Figures::new();
    add_order(&Context::of(org), order, -1, &mut changes);
    apply(tx, org.id, &changes)
}

/// Hook: the stored `before` was replaced by `after`. Nothing is read unless the creation
/// moment, stage, price or budget changed; then the organization and the order's token side
/// are, and both parts move.
pub(crate) fn order_saved(tx: &Tx<'_>, org: OrgId, before: &Order, after: &Order) -> Result<()> {
    if before.created_at == after.created_at
        && before.stage == after.stage
        && before.price == after.price
        && before.budget == after.budget
    {
        return Ok(());
    }
    let context = Context::of(&crate::services::load_org(tx, org)?);
    let token: Option<TokenOrder> =
        tx.get(tables::TOKEN_ORDERS, &token_order_key(org, after.id))?;
    let mut changes = Figures::new();
    add_order(&context, before, -1, &mut changes);
    add_order(&context, after, 1, &mut changes);
    if let Some(token) = &token {
        add_token_order(&context, before, token, -1, &mut changes);
        add_token_order(&context, after, token, 1, &mut changes);
    }
    apply(tx, org, &changes)
}

/// Hook: the token side of `order` was written, `before` (`None`: placed) replaced by
/// `after` (`None`: removed with its order). A change of its queue rank alone counts
/// nothing and reads nothing.
pub(crate) fn token_order_written(
    tx: &Tx<'_>,
    org: OrgId,
    order: &Order,
    before: Option<&TokenOrder>,
    after: Option<&TokenOrder>,
) -> Result<()> {
    let counted = |token: &TokenOrder| (token.package, net_tokens(token));
    if let (Some(before), Some(after)) = (before, after)
        && counted(before) == counted(after)
    {
        return Ok(());
    }
    let context = Context::of(&crate::services::load_org(tx, org)?);
    let mut changes = Figures::new();
    if let Some(before) = before {
        add_token_order(&context, order, before, -1, &mut changes);
    }
    if let Some(after) = after {
        add_token_order(&context, order, after, 1, &mut changes);
    }
    apply(tx, org, &changes)
}

/// Hook: `customer` was just created.
pub(crate) fn customer_created(tx: &Tx<'_>, org: OrgId, customer: &Customer) -> Result<()> {
    customer_counted(tx, org, customer, 1)
}

/// Hook: `customer` was deleted (merged into another).
pub(crate) fn customer_deleted(tx: &Tx<'_>, org: OrgId, customer: &Customer) -> Result<()> {
    customer_counted(tx, org, customer, -1)
}

fn customer_counted(tx: &Tx<'_>, org: OrgId, customer: &Customer, sign: i64) -> Result<()> {
    let context = Context::of(&crate::services::load_org(tx, org)?);
    let mut changes = Figures::new();
    add_customer(&context, customer, sign, &mut changes);
    apply(tx, org, &changes)
}

/// What the entries of `org` must be, computed from its records: one scan of its orders,
/// token orders (each with a point read of its order) and customers.
pub(crate) fn expected(view: &impl View, org: &Organization) -> Result<Figures> {
    let context = Context::of(org);
    let mut figures = Figures::new();
    view.for_each_prefix(tables::ORDERS, &Key::org(org.id), |_, value| {
        add_order(&context, &codec::decode::<Order>(value)?, 1, &mut figures);
        Ok(true)
    })?;
    // Streamed, each with a point read of its order, so memory stays flat however many.
    view.for_each_prefix(tables::TOKEN_ORDERS, &Key::org(org.id), |_, value| {
        let token: TokenOrder = codec::decode(value)?;
        // A token order without its order counts nothing: verify reports it by its
        // declaration's reference.
        if let Some(order) =
            view.get::<Order>(tables::ORDERS, &Key::org(org.id).u64(token.order.0))?
        {
            add_token_order(&context, &order, &token, 1, &mut figures);
        }
        Ok(true)
    })?;
    view.for_each_prefix(tables::CUSTOMERS, &Key::org(org.id), |_, value| {
        add_customer(
            &context,
            &codec::decode::<Customer>(value)?,
            1,
            &mut figures,
        );
        Ok(true)
    })?;
    figures.retain(|_, value| *value != 0);
    Ok(figures)
}

/// The stored entries of `org`, by slot (malformed ones left out: [`problems`] names them).
pub(crate) fn stored(view: &impl View, org: OrgId) -> Result<Figures> {
    let mut figures = Figures::new();
    view.for_each_prefix(tables::ANALYTICS_DAYS, &Key::org(org), |key, value| {
        if let (Some(slot), Some(value)) = (slot_of(key), value_of(value)) {
            figures.insert(slot, value);
        }
        Ok(true)
    })?;
    Ok(figures)
}

/// Replaces the entries of `org` by those its records call for (a time zone change moves
/// every local day).
pub(crate) fn rebuild(tx: &Tx<'_>, org: &Organization) -> Result<()> {
    let old = tx.keys_with_prefix(
        tables::ANALYTICS_DAYS,
        &Key::org(org.id),
        None,
        false,
        usize::MAX,
    )?;
    for key in old {
        tx.remove(tables::ANALYTICS_DAYS, &Key::empty().bytes(&key))?;
    }
    write(tx, org.id, &expected(tx, org)?)
}

fn write(tx: &Tx<'_>, org: OrgId, figures: &Figures) -> Result<()> {
    for (slot, value) in figures {
        tx.put_raw(
            tables::ANALYTICS_DAYS,
            entry_key(org, *slot).as_slice(),
            &value.to_be_bytes(),
        )?;
    }
    Ok(())
}

/// Builds the entries of every organization (the schema 8 migration).
pub(crate) fn build_all(tx: &Tx<'_>) -> Result<()> {
    let mut orgs: Vec<Organization> = Vec::new();
    tx.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
        orgs.push(codec::decode(value)?);
        Ok(true)
    })?;
    for org in &orgs {
        write(tx, org.id, &expected(tx, org)?)?;
    }
    Ok(())
}

/// What disagrees between the stored entries of `org` and its records, one sentence each.
pub(crate) fn problems(view: &impl View, org: &Organization) -> Result<Vec<String>> {
    let expected = expected(view, org)?;
    let mut stored = stored(view, org.id)?;
    let zone = Zone::of(org);
    let describe = |(metric, day, sub): Slot| {
        let date =
            i32::try_from(day).map_or_else(|_| day.to_string(), |days| Date { days }.to_string());
        let what = match metric {
            Metric::PackageOrders => format!("{} {sub}", metric.noun()),
            _ => metric.noun().to_string(),
        };
        format!(
            "analytics_days: {what} of organization {} on {date} ({})",
            org.id,
            zone.name()
        )
    };
    let mut out = Vec::new();
    for (slot, value) in &expected {
        match stored.remove(slot) {
            Some(found) if found == *value => {}
            Some(found) => out.push(format!(
                "{} is {found}, but the records give {value}",
                describe(*slot)
            )),
            None => out.push(format!(
                "{} is missing, but the records give {value}",
                describe(*slot)
            )),
        }
    }
    for (slot, found) in stored {
        out.push(format!(
            "{} is {found}, but the records give nothing",
            describe(slot)
        ));
    }
    Ok(out)
}
