//! The group-commit writer: concurrent callers share commits, a failing job rolls back alone,
//! and acknowledged writes survive a reopen.

use std::sync::Arc;

use crm_lib::{
    Crm, Error, ErrorKind, Result,
    model::{Actor, TelegramUserId},
    orders::NewOrder,
    org::SettingsUpdate,
};

use crate::support::profile;

#[test]
fn concurrent_writes_all_land_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let org = {
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Busy", "busy")
            .unwrap();
        crm.update_settings(
            &Actor::system(org.id),
            SettingsUpdate {
                open_order_limit: Some(0),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
        let crm = Arc::new(crm);
        let threads: Vec<_> = (0..8)
            .map(|thread| {
                let crm = crm.clone();
                std::thread::spawn(move || {
                    let customer = crm
                        .system()
                        .upsert_telegram_customer(
                            org.id,
                            profile(100 + thread, &format!("T{thread}")),
                        )
                        .unwrap();
                    for index in 0..40 {
                        crm.create_order(
                            &Actor::customer(org.id, customer.id),
                            NewOrder {
                                title: format!("t{thread} #{index}"),
                                description: "d".into(),
                                ..NewOrder::default()
                            },
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        crm.close();
        org
    };
    let crm = Crm::open(&path).unwrap();
    let orders = crm.system().all_orders(org.id).unwrap();
    assert_eq!(orders.len(), 320);
    let mut ids: Vec<u64> = orders.iter().map(|order| order.id.get()).collect();
    ids.dedup();
    assert_eq!(
        ids,
        (1..=320).collect::<Vec<_>>(),
        "ids are unique and without gaps"
    );
}

#[test]
fn a_failing_write_in_a_busy_batch_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let crm = Arc::new(Crm::open(dir.path().join("crm.redb")).unwrap());
    let org = crm
        .system()
        .create_organization("studio", "Limits", "limits")
        .unwrap();
    // Each thread's customer may hold 2 open orders and tries 5: exactly 2 succeed each.
    let threads: Vec<_> = (0..6)
        .map(|thread| {
            let crm = crm.clone();
            std::thread::spawn(move || {
                let customer = crm
                    .system()
                    .upsert_telegram_customer(org.id, profile(200 + thread, "L"))
                    .unwrap();
                (0..5)
                    .map(|index| {
                        crm.create_order(
                            &Actor::customer(org.id, customer.id),
                            NewOrder {
                                title: format!("try {index}"),
                                description: "d".into(),
                                ..NewOrder::default()
                            },
                        )
                    })
                    .filter(|result| result.is_ok())
                    .count()
            })
        })
        .collect();
    let successes: usize = threads
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .sum();
    assert_eq!(successes, 12);
    assert_eq!(crm.system().all_orders(org.id).unwrap().len(), 12);
}

#[test]
fn an_error_inside_a_transaction_keeps_nothing_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Atomic", "atomic")
        .unwrap();
    let result: Result<()> = crm.write(move |tx| {
        let customer = tx
            .system()
            .upsert_telegram_customer(org.id, profile(7, "A"))?;
        tx.create_order(
            &Actor::customer(org.id, customer.id),
            NewOrder {
                title: "kept?".into(),
                description: "d".into(),
                ..NewOrder::default()
            },
        )?;
        Err(Error::conflict("changed my mind"))
    });
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Conflict);
    assert!(crm.system().all_orders(org.id).unwrap().is_empty());
    assert!(crm.system().all_customers(org.id).unwrap().is_empty());
}

#[test]
fn a_second_process_is_told_the_file_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let _first = Crm::open(&path).unwrap();
    let error = Crm::open(&path).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Busy);
    assert!(error.to_string().contains("in use"), "{error}");
}

#[test]
fn jobs_that_fail_after_writing_are_undone_alone_while_their_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let crm = Arc::new(Crm::open(dir.path().join("crm.redb")).unwrap());
    let org = crm
        .system()
        .create_organization("studio", "Undo", "undo")
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let crm = crm.clone();
            std::thread::spawn(move || {
                for index in 0..30i64 {
                    let telegram_id = TelegramUserId::new(1_000 + thread * 100 + index);
                    let fail = index % 2 == 1;
                    let result: Result<()> = crm.write(move |tx| {
                        let customer = tx
                            .system()
                            .upsert_telegram_customer(org.id, profile(telegram_id.get(), "U"))?;
                        tx.create_order(
                            &Actor::customer(org.id, customer.id),
                            NewOrder {
                                title: format!("order {}", telegram_id.get()),
                                description: "d".into(),
                                ..NewOrder::default()
                            },
                        )?;
                        if fail {
                            Err(Error::conflict("fails after writing"))
                        } else {
                            Ok(())
                        }
                    });
                    assert_eq!(result.is_err(), fail);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let customers = crm.system().all_customers(org.id).unwrap();
    assert_eq!(customers.len(), 8 * 15);
    assert!(
        customers
            .iter()
            .all(|customer| (customer.telegram_id.unwrap().get() - 1_000) % 100 % 2 == 0)
    );
    let orders = crm.system().all_orders(org.id).unwrap();
    assert_eq!(orders.len(), 8 * 15);
    let report = crm.system().verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// Polls `future` to completion on this thread, parking between wake-ups (no runtime needed,
/// which is the point of `write_async`'s plain-std future).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}

#[test]
fn async_writes_resolve_after_their_commit_and_carry_errors() {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Async", "async")
        .unwrap();
    // Many futures in flight at once share commits; each resolves with its own customer.
    let pending: Vec<_> = (0..50)
        .map(|index| {
            crm.write_async(move |tx| {
                tx.system()
                    .upsert_telegram_customer(org.id, profile(9_000 + index, "Ann"))
            })
        })
        .collect();
    let ids: Vec<_> = pending
        .into_iter()
        .map(|future| block_on(future).unwrap().id)
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 50);
    // What a resolved future reports is visible to readers.
    for id in &ids {
        crm.customer(&Actor::system(org.id), *id).unwrap();
    }
    // A failing job resolves with its error and keeps nothing.
    let failed = block_on(crm.write_async(move |tx| {
        tx.system()
            .upsert_telegram_customer(org.id, profile(9_999, "Bob"))?;
        Err::<(), _>(Error::invalid("test", "refused on purpose"))
    }));
    assert_eq!(failed.unwrap_err().kind(), ErrorKind::InvalidInput);
    // After close, a write is refused at once instead of waiting forever.
    crm.close();
    let closed = block_on(crm.write_async(|_tx| Ok(())));
    assert!(closed.is_err());
}
