//! The analytics dashboard (TeleKpr PRD 3.4.1, issue 13): totals, revenue, completion rate,
//! average order value, active subscribers and the series of four charts, read on one
//! snapshot by [`analytics_in`] (`view_analytics`).
//!
//! The figures never scan orders: they come from the per-day aggregates `analytics_days`
//! (`analytics/aggregates.rs`, kept in the transactions that create and move orders, charge and refund
//! tokens and create customers; built by the schema 8 migration; checked by `crm verify`),
//! the stage counters (`order_counts`), the staff list and, for active subscribers, the
//! `premium_by_end` index. A read is one prefix scan of the organization's aggregates (a few
//! entries per local day with activity) plus a handful of point reads.
//!
//! Definitions (every figure counts the local days of the organization's time zone,
//! [`Zone`]; an order counts on the day it was created):
//! - **revenue** is what orders brought in. With the tokens module: the tokens charged for
//!   orders, net of refunds (a cancelled order, refunded, brings 0). Otherwise: each order's
//!   price, or its budget when it has no price, in minor units of the organization's
//!   currency, for every order not in a `Lost` stage (a cancelled or rejected order brings
//!   nothing, as a refunded token order does); orders with neither bring nothing;
//! - **monthly revenue** is the revenue of the orders created in the current local calendar
//!   month; **completed revenue** that of the orders in a `Won` stage now;
//! - **completion rate** is completed (`Won`) orders / all orders (PRD 3.4.1's metric table:
//!   Completed / Total), in basis points;
//! - **average order value** is revenue / the orders counted in it (token orders charged and
//!   not refunded; orders with a price or budget not in a `Lost` stage);
//! - **active subscribers** are customers whose Premium ends after now (tokens module);
//! - the totals are customers, orders and staff users (every account, disabled ones too).

pub(crate) mod aggregates;

use std::collections::BTreeMap;
use std::ops::Bound;

use aggregates::{Metric, slot_of, value_of};

use crate::model::*;
use crate::services::{load_org, require};
use crate::store::declarations::order_count_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, View};

/// How many months the trend charts show, the current one last.
pub const TREND_MONTHS: usize = 12;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// The year.
    pub year: i32,
    /// The month, 1-12.
    pub month: u8,
}

impl Month {
    /// The month `date` is in.
    pub fn of(date: Date) -> Self {
        let date = date.to_time();
        Month {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }

    /// The month before.
    pub fn previous(self) -> Self {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            month => Month {
                year: self.year,
                month: month - 1,
            },
        }
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        i16::try_from(self.year)
            .ok()
            .and_then(|year| Date::from_ymd(year, i8::try_from(self.month).unwrap_or(1), 1))
            .unwrap_or(Date { days: 0 })
    }
}

impl std::fmt::Display for Month {
    /// `2026-03`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What revenue is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevenueUnit {
    /// Minor units of the organization's currency (price or budget of orders).
    Money {
        /// The ISO 4217 code.
        currency: String,
    },
    /// Tokens charged for orders, net of refunds (the tokens module).
    Tokens,
}

/// The revenue of one month (of the orders created in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRevenue {
    /// The month.
    pub month: Month,
    /// Revenue, in [`Analytics::revenue_unit`].
    pub revenue: i64,
    /// Of it, the revenue of orders completed now.
    pub completed: i64,
    /// Orders created in the month.
    pub orders: u64,
}

/// How many orders one stage holds.
#[derive(Debug, Clone, PartialEq)]
pub struct StageShare {
    /// The stage (its names in every language).
    pub stage: Stage,
    /// Its orders now.
    pub orders: u64,
}

/// New customers of one month and the total at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthCustomers {
    /// The month.
    pub month: Month,
    /// Customers created in it.
    pub new: u64,
    /// Customers at its end (today for the current month).
    pub total: u64,
}

/// How many orders one package had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageShare {
    /// The package's id.
    pub package: u64,
    /// Its key (`sites_100`).
    pub key: String,
    /// Its name per language.
    pub name: Localized,
    /// Its orders, refunded ones too.
    pub orders: u64,
}

/// The dashboard's figures, from one snapshot (see the module's definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct Analytics {
    /// The organization's time zone, whose days and months these are.
    pub zone: Zone,
    /// Today on the organization's clock.
    pub today: Date,
    /// What the revenue figures count.
    pub revenue_unit: RevenueUnit,
    /// Customers.
    pub customers: u64,
    /// Orders.
    pub orders: u64,
    /// Staff users (every account).
    pub staff_users: u64,
    /// Revenue of every order.
    pub revenue: i64,
    /// Revenue of the orders created this local calendar month.
    pub monthly_revenue: i64,
    /// Revenue of the orders in a `Won` stage.
    pub completed_revenue: i64,
    /// Orders in a `Won` stage.
    pub completed_orders: u64,
    /// Orders in a `Lost` stage.
    pub cancelled_orders: u64,
    /// Completed / all orders in basis points (`4550` is 45.50%); `None` without orders.
    pub completion_rate: Option<u32>,
    /// Revenue / the orders counted in it, rounded half up; `None` when none is counted.
    pub average_order_value: Option<i64>,
    /// Customers with Premium after now; `None` without the tokens module.
    pub active_subscribers: Option<u64>,
    /// The last [`TREND_MONTHS`] months' revenue, oldest first, this month last.
    pub revenue_trend: Vec<MonthRevenue>,
    /// Orders per stage, in pipeline order.
    pub status_distribution: Vec<StageShare>,
    /// The last [`TREND_MONTHS`] months' new customers and running total, oldest first.
    pub customer_growth: Vec<MonthCustomers>,
    /// Orders per package, most first; `None` without the tokens module.
    pub package_popularity: Option<Vec<PackageShare>>,
}

impl Analytics {
    /// The completion rate as text with two decimals and `%` (`45.50%`), or `–`.
    pub fn completion_rate_text(&self) -> String {
        match self.completion_rate {
            Some(rate) => format!("{}.{:02}%", rate / 100, rate % 100),
            None => "–".to_string(),
        }
    }
}

/// One of the dashboard's charts (each also a CSV download and an API series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chart {
    /// Revenue per month (a line chart).
    RevenueTrend,
    /// Orders per stage (a doughnut).
    StatusDistribution,
    /// New customers per month and the running total (two lines).
    CustomerGrowth,
    /// Orders per package (bars; the tokens module).
    PackagePopularity,
}

impl Chart {
    /// Every chart, in the page's order.
    pub const ALL: [Chart; 4] = [
        Chart::RevenueTrend,
        Chart::StatusDistribution,
        Chart::CustomerGrowth,
        Chart::PackagePopularity,
    ];

    /// The name in URLs and commands: `revenue`, `status`, `customers`, `packages`.
    pub fn as_str(self) -> &'static str {
        match self {
            Chart::RevenueTrend => "revenue",
            Chart::StatusDistribution => "status",
            Chart::CustomerGrowth => "customers",
            Chart::PackagePopularity => "packages",
        }
    }

    /// Parses [`Chart::as_str`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `chart` for another name, naming the choices.
    pub fn parse(text: &str) -> Result<Self> {
        Chart::ALL
            .into_iter()
            .find(|chart| chart.as_str() == text.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "chart",
                    format!(
                        "{text:?} is not a chart (one of: revenue, status, customers, packages)"
                    ),
                )
            })
    }
}

impl std::fmt::Display for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sums of the aggregates: over every day, per month of the window, and before it.
#[derive(Default)]
struct Sums {
    total: BTreeMap<Metric, i64>,
    by_month: BTreeMap<(Month, Metric), i64>,
    packages: BTreeMap<u64, i64>,
    customers_before: i64,
}

impl Sums {
    fn total(&self, metric: Metric) -> i64 {
        self.total.get(&metric).copied().unwrap_or(0)
    }

    fn month(&self, month: Month, metric: Metric) -> i64 {
        self.by_month.get(&(month, metric)).copied().unwrap_or(0)
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The dashboard of the actor's organization (see the module's definitions), read on one
/// snapshot: one prefix scan of its aggregates, the stage counters, the staff list's keys,
/// the packages and, with the tokens module, the subscriptions that end after now. Needs
/// `view_analytics`.
///
/// # Errors
/// Permission denied without `view_analytics` (customers and disabled users included).
pub fn analytics_in(view: &impl View, actor: &Actor) -> Result<Analytics> {
    require(view, actor, Permission::ViewAnalytics)?;
    let org = load_org(view, actor.org)?;
    let zone = Zone::of(&org);
    let today = zone.date_of(view.now());
    let this_month = Month::of(today);
    let mut months = vec![this_month];
    while months.len() < TREND_MONTHS {
        let earliest = months[months.len() - 1];
        months.push(earliest.previous());
    }
    months.reverse();
    let window_start = i64::from(months[0].first_day().days);

    let mut sums = Sums::default();
    // Each day's month, computed once per day met (entries come day by day per metric).
    let mut month_of_day: BTreeMap<i64, Month> = BTreeMap::new();
    view.for_each_prefix(
        tables::ANALYTICS_DAYS,
        &Key::org(actor.org),
        |key, value| {
            let (Some((metric, day, sub)), Some(value)) = (slot_of(key), value_of(value)) else {
                return Ok(true);
            };
            *sums.total.entry(metric).or_insert(0) += value;
            if metric == Metric::PackageOrders {
                *sums.packages.entry(sub).or_insert(0) += value;
            }
            if day < window_start {
                if metric == Metric::Customers {
                    sums.customers_before += value;
                }
            } else {
                let month = *month_of_day.entry(day).or_insert_with(|| {
                    Month::of(i32::try_from(day).map_or(today, |days| Date { days }))
                });
                *sums.by_month.entry((month, metric)).or_insert(0) += value;
            }
            Ok(true)
        },
    )?;

    let tokens = crate::services::tokens::module_on(&org);
    let (revenue, counted, won) = if tokens {
        (Metric::TokenRevenue, Metric::TokenCounted, Metric::TokenWon)
    } else {
        (Metric::MoneyRevenue, Metric::MoneyCounted, Metric::MoneyWon)
    };
    let orders = count(sums.total(Metric::Orders));
    let completed_orders = count(sums.total(Metric::Won));
    let counted_orders = count(sums.total(counted));
    let revenue_total = sums.total(revenue);
    let completion_rate = (orders > 0).then(|| {
        u32::try_from((completed_orders * 20_000 + orders) / (2 * orders)).unwrap_or(10_000)
    });
    let average_order_value = (counted_orders > 0).then(|| {
        let counted = i64::try_from(counted_orders).unwrap_or(i64::MAX);
        (revenue_total * 2 + counted) / (2 * counted)
    });

    let revenue_trend = months
        .iter()
        .map(|month| MonthRevenue {
            month: *month,
            revenue: sums.month(*month, revenue),
            completed: sums.month(*month, won),
            orders: count(sums.month(*month, Metric::Orders)),
        })
        .collect();
    let mut running = sums.customers_before;
    let customer_growth = months
        .iter()
        .map(|month| {
            let new = sums.month(*month, Metric::Customers);
            running += new;
            MonthCustomers {
                month: *month,
                new: count(new),
                total: count(running),
            }
        })
        .collect();
    let mut status_distribution = Vec::with_capacity(org.pipeline.stages.len());
    for stage in &org.pipeline.stages {
        let orders = view.counter(tables::ORDER_COUNTS, &order_count_key(org.id, stage.id))?;
        status_distribution.push(StageShare {
            stage: stage.clone(),
            orders,
        });
    }
    let (active_subscribers, package_popularity) = if tokens {
        (
            Some(active_subscribers(view, org.id)?),
            Some(package_popularity(view, org.id, &sums.packages)?),
        )
    } else {
        (None, None)
    };
    Ok(Analytics {
        zone,
        today,
        revenue_unit: if tokens {
            RevenueUnit::Tokens
        } else {
            RevenueUnit::Money {
                currency: org.settings.currency.clone(),
            }
        },
        customers: count(sums.total(Metric::Customers)),
        orders,
        staff_users: view.count_prefix(tables::USERS, &Key::org(org.id))?,
        revenue: revenue_total,
        monthly_revenue: sums.month(this_month, revenue),
        completed_revenue: sums.total(won),
        completed_orders,
        cancelled_orders: count(sums.total(Metric::Lost)),
        completion_rate,
        average_order_value,
        active_subscribers,
        revenue_trend,
        status_distribution,
        customer_growth,
        package_popularity,
    })
}

/// Customers whose Premium ends after now: the entries of `premium_by_end` past now.
fn active_subscribers(view: &impl View, org: OrgId) -> Result<u64> {
    let from = Key::org(org).i64(view.now().millis().saturating_add(1));
    let end = keys::prefix_end(Key::org(org).as_slice());
    let mut active = 0;
    view.scan(
        tables::PREMIUM_BY_END,
        (
            Bound::Included(from.as_slice()),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        ),
        false,
        |_, _| {
            active += 1;
            Ok(true)
        },
    )?;
    Ok(active)
}

/// Every package with its orders (those without orders too), most first, then in the
/// catalogue's order.
fn package_popularity(
    view: &impl View,
    org: OrgId,
    orders: &BTreeMap<u64, i64>,
) -> Result<Vec<PackageShare>> {
    let mut packages: Vec<Package> = view.records_with_prefix(tables::PACKAGES, &Key::org(org))?;
    packages.sort_by_key(|package| (package.position, package.id));
    let mut shares: Vec<PackageShare> = packages
        .into_iter()
        .map(|package| PackageShare {
            orders: count(orders.get(&package.id).copied().unwrap_or(0)),
            package: package.id,
            key: package.key,
            name: package.name,
        })
        .collect();
    shares.sort_by_key(|share| std::cmp::Reverse(share.orders));
    Ok(shares)
}

impl Crm {
    /// See [`analytics_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`analytics_in`].
    pub fn analytics(&self, actor: &Actor) -> Result<Analytics> {
        self.read(|view| analytics_in(view, actor))
    }
}
