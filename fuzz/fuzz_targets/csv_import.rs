//! Arbitrary bytes as a CSV file for each import `crm import` offers, through the same
//! `Crm::import_customers` / `Crm::import_orders` the command calls, as the system actor (as
//! the command does). Customers go into a store with an empty organization; orders into one
//! holding the 25 customers of `fixtures/csv/customers.csv`, so that order rows can name them.
//!
//! Checked for every input and kind: no panic; a rejected file is an input error (never a
//! storage or permission error) and commits no write (so the store is exactly as it was);
//! an accepted file imports every row it read and
//! leaves a store that `crm verify` finds clean; progress never goes back nor past the end.

#![no_main]

use std::cell::Cell;
use std::sync::{LazyLock, Mutex};

use crm_fuzz::{Reusable, Scratch, fixture};
use crm_lib::{Crm, ErrorKind, import::{ImportError, ImportReport}, model::{Actor, OrgId}};
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Customers,
    Orders,
}

struct State {
    org: OrgId,
    customers: Reusable,
    orders: Reusable,
    _scratch: Scratch,
}

fn no_progress(_: u64) {}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(|| {
    let scratch = Scratch::new("csv_import");
    let customers_template = scratch.path("customers-template.redb");
    let (crm, org, _) = crm_fuzz::studio(&customers_template);
    crm_fuzz::close(crm);

    let orders_template = scratch.path("orders-template.redb");
    let (crm, org_again, _) = crm_fuzz::studio(&orders_template);
    assert_eq!(org, org_again, "both templates have the same organization");
    let file = std::fs::File::open(fixture("csv/customers.csv")).expect("customers fixture");
    crm.import_customers(&Actor::system(org), file, "customers.csv", &no_progress)
        .expect("importing the customers fixture");
    crm_fuzz::close(crm);

    Mutex::new(State {
        org,
        customers: Reusable::new(customers_template, scratch.path("customers.redb")),
        orders: Reusable::new(orders_template, scratch.path("orders.redb")),
        _scratch: scratch,
    })
});

fn import(crm: &Crm, org: OrgId, kind: Kind, bytes: &[u8]) -> Result<ImportReport, ImportError> {
    let last = Cell::new(0u64);
    let progress = |read: u64| {
        assert!(
            read >= last.get(),
            "progress went back from {} to {read}",
            last.get()
        );
        assert!(
            read <= bytes.len() as u64,
            "progress {read} is past the end ({})",
            bytes.len()
        );
        last.set(read);
    };
    let actor = Actor::system(org);
    match kind {
        Kind::Customers => crm.import_customers(&actor, bytes, "fuzz.csv", &progress),
        Kind::Orders => crm.import_orders(&actor, bytes, "fuzz.csv", &progress),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let mut state = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let org = state.org;
    for kind in [Kind::Customers, Kind::Orders] {
        let store = match kind {
            Kind::Customers => &mut state.customers,
            Kind::Orders => &mut state.orders,
        };
        let result = import(store.crm(), org, kind, bytes);
        match result {
            Ok(report) => {
                assert_eq!(
                    report.imported, report.rows,
                    "{kind:?}: an accepted file imports every row it read"
                );
                let verify = store.crm().system().verify().expect("verify runs");
                assert!(
                    verify.is_clean(),
                    "{kind:?}: the import left problems: {:#?}",
                    verify.problems
                );
                store.discard();
            }
            Err(error) => {
                assert!(
                    matches!(
                        error.kind(),
                        ErrorKind::InvalidInput | ErrorKind::Conflict | ErrorKind::NotFound
                    ),
                    "{kind:?}: a rejected file is an input error, not {:?}: {error}",
                    error.kind()
                );
                assert!(
                    !store.committed(),
                    "{kind:?}: a rejected file committed a write: {error}"
                );
            }
        }
    }
});
