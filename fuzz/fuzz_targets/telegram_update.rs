//! Arbitrary bytes as Telegram updates, through the appliance's own path: the webhook's
//! checks and `inbox_put`, the processor's grouping key and teloxide's parse, then the real
//! customer and staff flows in one write transaction with `finish_update`
//! (`crm_appliance::fuzzing::handle_update`).
//!
//! An input is up to twelve updates separated by NUL bytes (JSON never holds a raw NUL), handled
//! in order on a fresh copy of a template store, so a fuzzer can walk a conversation: a new
//! order form step by step, a staff user approving or rejecting with a reason. The template
//! knows the senders of `fixtures/telegram/`: Tom (734001122) is a customer chatting about
//! his order 1 (order 2 is approved), Olga (5312345678) is at the attachments step of an
//! order form, and 734001123 is the administrator's linked Telegram account; anyone else is a
//! stranger. A file a message carries is handled as downloaded and stored, as the processor
//! would after getFile.
//!
//! Checked: no panic; every update either is refused as the webhook refuses it or is handled
//! without error (a business error escaping a flow is a bug); afterwards `crm verify` finds
//! the store clean.

#![no_main]

use std::sync::{LazyLock, Mutex};

use crm_appliance::fuzzing::{Handled, handle_update};
use crm_fuzz::{Reusable, Scratch};
use crm_lib::{customers::TelegramProfile, model::{Actor, ChatId, Media, OrderId, OrgId, TelegramUserId}, orders::NewOrder};
use libfuzzer_sys::fuzz_target;

/// Updates handled per input at most.
const MAX_UPDATES: usize = 12;

/// The bot's username, as getMe would report it.
const BOT_USERNAME: &str = "crm_sandbox_bot";

/// Tom, a customer of the fixtures.
const TOM: i64 = 734001122;
/// Olga, a customer of the fixtures.
const OLGA: i64 = 5312345678;
/// The administrator's Telegram account.
const STAFF: i64 = 734001123;

struct State {
    org: OrgId,
    media: Media,
    copy: Reusable,
    _scratch: Scratch,
}

fn profile(id: i64, first_name: &str, language: &str) -> TelegramProfile {
    TelegramProfile {
        telegram_id: TelegramUserId::new(id),
        username: None,
        first_name: first_name.into(),
        last_name: None,
        language_code: Some(language.into()),
    }
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(|| {
    let scratch = Scratch::new("telegram_update");
    let template = scratch.path("template.redb");
    let (crm, org, admin) = crm_fuzz::studio(&template);

    let tom = crm
        .system()
        .upsert_telegram_customer(org, profile(TOM, "Tom", "en"))
        .expect("Tom");
    let first = crm
        .create_order(
            &Actor::customer(org, tom.id),
            NewOrder {
                title: "Landing page for a bakery".into(),
                description: "One page with the menu and a map".into(),
                budget: Some(crm_lib::model::Money::parse("budget", "250").expect("a budget")),
                ..NewOrder::default()
            },
        )
        .expect("Tom's first order");
    let second = crm
        .create_order(
            &Actor::customer(org, tom.id),
            NewOrder {
                title: "Telegram bot for orders".into(),
                description: "Orders and delivery slots".into(),
                ..NewOrder::default()
            },
        )
        .expect("Tom's second order");
    assert_eq!((first.id, second.id), (OrderId::new(1), OrderId::new(2)));
    crm.approve_order(&Actor::system(org), second.id)
        .expect("approving order 2");
    let chatting = format!(r#"{{"state":"chatting","order":{}}}"#, first.id.get());
    crm.system().set_dialogue(org, ChatId::new(TOM), Some(chatting.into_bytes()))
        .expect("Tom's dialogue");

    crm.system().upsert_telegram_customer(org, profile(OLGA, "Ольга", "ru"))
        .expect("Olga");
    let wizard = r#"{"state":"wizard","id":1,"step":"attachments","title":"Витрина","description":"Фото витрины","budget":null,"deadline":null,"attachments":[]}"#;
    crm.system().set_dialogue(org, ChatId::new(OLGA), Some(wizard.as_bytes().to_vec()))
        .expect("Olga's dialogue");

    let code = crm
        .create_link_code(&Actor::staff(org, admin.id))
        .expect("a link code");
    crm.system().redeem_link_code(org, &code.code, TelegramUserId::new(STAFF))
        .expect("linking the administrator");

    let media = crm
        .system()
        .store_media(
            org,
            b"\xff\xd8\xff\xe0 fuzz photo".to_vec(),
            "image/jpeg".into(),
        )
        .expect("a stored photo");
    crm_fuzz::close(crm);

    Mutex::new(State {
        org,
        media,
        copy: Reusable::new(template, scratch.path("work.redb")),
        _scratch: scratch,
    })
});

fuzz_target!(|bytes: &[u8]| {
    let mut state = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (org, media) = (state.org, state.media.clone());
    let crm = state.copy.crm();
    let mut wrote = false;
    for (index, payload) in bytes.split(|byte| *byte == 0).take(MAX_UPDATES).enumerate() {
        match handle_update(crm, org, payload, Some(BOT_USERNAME), Some(&media)) {
            Ok(Handled::Refused | Handled::Duplicate) => {}
            Ok(Handled::Unparsed | Handled::Handled) => wrote = true,
            Err(error) => panic!("update {index} failed ({:?}): {error}", error.kind()),
        }
    }
    if wrote {
        let verify = crm.system().verify().expect("verify runs");
        assert!(
            verify.is_clean(),
            "the updates left problems: {:#?}",
            verify.problems
        );
        state.copy.discard();
    }
});
