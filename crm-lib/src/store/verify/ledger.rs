//! `crm verify`'s check of the token ledger (issue 13): every customer's entries, in the
//! order written, each carry the balance after them (the running sum of the amounts, never
//! negative), and the customer's account holds that sum as its balance, their count and the
//! latest entry's id; an account with a balance or entries has the entries to show for it.
//! The entries and accounts themselves (keys, organizations, customers, the by-customer
//! index, the subscription index) are checked with every declared table.

use std::collections::BTreeMap;

use super::{Checker, EVERYTHING};
use crate::Result;
use crate::model::{CustomerId, LedgerEntry, OrgId, TokenAccount};
use crate::store::codec;
use crate::store::keys;
use crate::store::{View, tables};

/// What a customer's entries add up to.
#[derive(Default)]
struct Sum {
    balance: i64,
    entries: u64,
    last: Option<u64>,
}

impl Checker<'_> {
    pub(super) fn check_ledger(&mut self) -> Result<()> {
        let view = self.view;
        let mut sums: BTreeMap<(OrgId, CustomerId), Sum> = BTreeMap::new();
        let mut problems = Vec::new();
        view.scan(tables::LEDGER, EVERYTHING, false, |key, value| {
            if key.len() != 16 {
                return Ok(true);
            }
            let Ok(entry) = codec::decode::<LedgerEntry>(value) else {
                return Ok(true);
            };
            let org = OrgId(keys::read_u64(key, 0));
            let sum = sums.entry((org, entry.customer)).or_default();
            sum.balance += entry.amount;
            sum.entries += 1;
            sum.last = Some(entry.id);
            if entry.amount == 0 {
                problems.push(format!(
                    "ledger: entry {} of organization {org} moves no tokens",
                    entry.id
                ));
            }
            if entry.balance_after != sum.balance {
                problems.push(format!(
                    "ledger: entry {} of organization {org} says the balance of customer {} is {} after it, but the entries up to it add up to {}",
                    entry.id, entry.customer, entry.balance_after, sum.balance
                ));
            }
            if sum.balance < 0 {
                problems.push(format!(
                    "ledger: entry {} of organization {org} takes the balance of customer {} below 0 ({})",
                    entry.id, entry.customer, sum.balance
                ));
            }
            Ok(true)
        })?;
        let mut accounts: BTreeMap<(OrgId, CustomerId), TokenAccount> = BTreeMap::new();
        view.scan(tables::TOKEN_ACCOUNTS, EVERYTHING, false, |key, value| {
            if key.len() == 16
                && let Ok(account) = codec::decode::<TokenAccount>(value)
            {
                accounts.insert((OrgId(keys::read_u64(key, 0)), account.customer), account);
            }
            Ok(true)
        })?;
        for ((org, customer), sum) in &sums {
            match accounts.get(&(*org, *customer)) {
                None => problems.push(format!(
                    "token_accounts: customer {customer} of organization {org} has ledger entries but no account"
                )),
                Some(account) => {
                    if account.balance != sum.balance
                        || account.entries != sum.entries
                        || account.last_entry != sum.last
                    {
                        problems.push(format!(
                            "token_accounts: the account of customer {customer} of organization {org} holds {} tokens in {} entries (last {:?}), but the ledger adds up to {} in {} (last {:?})",
                            account.balance,
                            account.entries,
                            account.last_entry,
                            sum.balance,
                            sum.entries,
                            sum.last
                        ));
                    }
                }
            }
        }
        for ((org, customer), account) in &accounts {
            if !sums.contains_key(&(*org, *customer))
                && (account.balance != 0 || account.entries != 0 || account.last_entry.is_some())
            {
                problems.push(format!(
                    "token_accounts: the account of customer {customer} of organization {org} holds {} tokens in {} entries, but the ledger has none of theirs",
                    account.balance, account.entries
                ));
            }
        }
        for problem in problems {
            self.problem(problem);
        }
        Ok(())
    }
}
