//! Writes the seed inputs of the fuzz targets into `fuzz/seeds/<target>/`:
//!
//! - `record_codec`: values of every table of a store the product wrote (an organization
//!   with the demo data, a session, an API token, a link code, a payment method, a file and a
//!   dialogue state);
//! - `telegram_update`: conversations (updates separated by NUL bytes) that walk the flows
//!   from the template `telegram_update` builds: a new customer's order form, Tom chatting and
//!   managing his orders, Olga attaching a photo, the administrator approving and rejecting;
//! - `form_parsing`: one valid-looking body per route (selector byte, line break, body).
//!
//! `csv_import` needs no seeds of its own: its runs read `fixtures/csv/` directly, as the
//! `telegram_update` runs also read `fixtures/telegram/`. Run from `fuzz/`:
//! `cargo +nightly run --release --example seeds`.

use std::path::{Path, PathBuf};

use crm_fuzz::Scratch;
use crm_lib::{model::{Actor, ChatId}};
use serde_json::{Value, json};

fn seeds_dir(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the seeds directory");
    dir
}

fn record_seeds() {
    let scratch = Scratch::new("seeds");
    let (crm, org, admin) = crm_fuzz::studio(&scratch.path("store.redb"));
    let actor = Actor::staff(org, admin.id);
    crm.system().load_demo(org).expect("loading the demo data");
    crm.create_payment_method(&actor, "Card", "Card 4000 0000 0000 0000")
        .expect("a payment method");
    crm.create_api_token(&actor, admin.id, "seed")
        .expect("an API token");
    crm.create_link_code(&actor).expect("a link code");
    crm.login(
        org,
        "admin",
        crm_fuzz::ADMIN_PASSWORD,
        &crm_lib::model::Origin::default(),
    )
    .expect("a session");
    crm.system().store_media(org, b"seed file".to_vec(), "text/plain".into())
        .expect("a file");
    let dialogue = r#"{"state":"wizard","id":7,"step":"budget","title":"Site","description":"A bakery","budget":null,"deadline":null,"attachments":[{"media":"00","kind":"photo"}]}"#;
    crm.system().set_dialogue(org, ChatId::new(42), Some(dialogue.as_bytes().to_vec()))
        .expect("a dialogue state");
    let dir = seeds_dir("record_codec");
    let mut written = 0;
    for (index, (table, value)) in crm_lib::fuzzing::stored_values(&crm, 2)
        .expect("reading the store")
        .into_iter()
        .enumerate()
    {
        std::fs::write(dir.join(format!("{table}-{index}")), value).expect("writing a seed");
        written += 1;
    }
    crm_fuzz::close(crm);
    println!("record_codec: {written} seeds");
}

/// A private chat message from `from`.
fn message(update_id: u64, from: i64, name: &str, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000,
            "from": {"id": from, "is_bot": false, "first_name": name, "language_code": "ru"},
            "chat": {"id": from, "first_name": name, "type": "private"},
            "date": 1735689600 + update_id % 1000,
            "text": text,
        }
    })
}

/// A press of a button with `data` on message 10 of `from`'s private chat.
fn press(update_id: u64, from: i64, name: &str, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("{update_id}0"),
            "from": {"id": from, "is_bot": false, "first_name": name, "language_code": "en"},
            "message": {
                "message_id": 10,
                "from": {"id": 1000000, "is_bot": true, "first_name": "CRM Sandbox Bot", "username": "crm_sandbox_bot"},
                "chat": {"id": from, "first_name": name, "type": "private"},
                "date": 1735689600,
                "text": "What would you like to do?",
            },
            "chat_instance": "-8412309123456789012",
            "data": data,
        }
    })
}

fn photo(update_id: u64, from: i64, name: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000,
            "from": {"id": from, "is_bot": false, "first_name": name, "language_code": "ru"},
            "chat": {"id": from, "first_name": name, "type": "private"},
            "date": 1735689600,
            "photo": [{"file_id": "seed-photo", "file_unique_id": "seed", "file_size": 1503, "width": 90, "height": 67}],
            "caption": "Фото витрины",
        }
    })
}

fn conversation(updates: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, update) in updates.iter().enumerate() {
        if index > 0 {
            out.push(0);
        }
        out.extend_from_slice(update.to_string().as_bytes());
    }
    out
}

fn telegram_seeds() {
    const STRANGER: i64 = 6100200300;
    const TOM: i64 = 734001122;
    const OLGA: i64 = 5312345678;
    const STAFF: i64 = 734001123;
    let seeds = [
        (
            "new-customer-order-form",
            conversation(&[
                message(900001, STRANGER, "Мария", "/start"),
                press(900002, STRANGER, "Мария", "lang:ru"),
                message(900003, STRANGER, "Мария", "/neworder"),
                message(900004, STRANGER, "Мария", "Сайт для пекарни"),
                message(900005, STRANGER, "Мария", "Меню, адрес и форма заказа"),
                message(900006, STRANGER, "Мария", "1500"),
                press(900007, STRANGER, "Мария", "w:900003:l:s"),
                press(900008, STRANGER, "Мария", "w:900003:a:d"),
                press(900009, STRANGER, "Мария", "w:900003:c:y"),
            ]),
        ),
        (
            "new-customer-menu-form-cancelled",
            conversation(&[
                press(900011, STRANGER, "Maria", "m:new"),
                message(900012, STRANGER, "Maria", "Landing page"),
                message(900013, STRANGER, "Maria", "One page"),
                press(900014, STRANGER, "Maria", "w:900011:b:s"),
                message(900015, STRANGER, "Maria", "2027-03-01"),
                press(900016, STRANGER, "Maria", "w:900011:a:n"),
                message(900017, STRANGER, "Maria", "/cancel"),
            ]),
        ),
        (
            "tom-chats-and-manages-orders",
            conversation(&[
                message(900021, TOM, "Tom", "When will it be ready?"),
                press(900022, TOM, "Tom", "m:orders"),
                press(900023, TOM, "Tom", "o:v:1"),
                press(900024, TOM, "Tom", "o:c:2"),
                message(900025, TOM, "Tom", "About the bot: can it take payments?"),
                press(900026, TOM, "Tom", "o:d:1"),
                press(900027, TOM, "Tom", "o:x:1"),
                message(900028, TOM, "Tom", "/orders"),
            ]),
        ),
        (
            "tom-menu-language-help",
            conversation(&[
                message(900031, TOM, "Tom", "/cancel"),
                press(900032, TOM, "Tom", "m:lang"),
                press(900033, TOM, "Tom", "lang:en"),
                press(900034, TOM, "Tom", "m:help"),
                press(900035, TOM, "Tom", "m:chat"),
                message(900036, TOM, "Tom", "/language"),
                message(900037, TOM, "Tom", "/help@crm_sandbox_bot"),
            ]),
        ),
        (
            "olga-attaches-a-photo-and-confirms",
            conversation(&[
                photo(900041, OLGA, "Ольга"),
                press(900042, OLGA, "Ольга", "w:1:a:d"),
                press(900043, OLGA, "Ольга", "w:1:c:y"),
            ]),
        ),
        (
            "staff-approves-and-rejects",
            conversation(&[
                message(900051, STAFF, "Admin", "/start"),
                press(900052, STAFF, "Admin", "mod:r:1"),
                message(900053, STAFF, "Admin", "Please describe the menu first"),
                press(900054, STAFF, "Admin", "mod:a:1"),
                press(900055, STAFF, "Admin", "mod:d:2"),
                press(900056, STAFF, "Admin", "o:v:1"),
                message(900057, STAFF, "Admin", "/orders"),
            ]),
        ),
        (
            "stranger-links-with-a-code",
            conversation(&[
                message(900061, STRANGER, "Ivan", "/link ABCD2345"),
                message(900062, STRANGER, "Ivan", "/start link-ABCD2345"),
                message(900063, STRANGER, "Ivan", "/link"),
            ]),
        ),
    ];
    let dir = seeds_dir("telegram_update");
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
    }
    println!("telegram_update: {} seeds", seeds.len());
}

fn form_seeds() {
    // (route index in form_parsing's ROUTES, body)
    let seeds: &[(u8, &str, &str)] = &[
        (
            0,
            "new-order",
            "customer=1&title=Landing+page&description=One+page+with+a+map&budget=1500.00&deadline=2027-01-31",
        ),
        (
            1,
            "new-customer",
            "first_name=Anna&last_name=Lee&username=anna_lee&telegram_id=7001002003&phone=%2B79161234567&email=anna%40example.com&language=en",
        ),
        (2, "approve", ""),
        (3, "reject", "reason=Not+enough+detail"),
        (4, "bid", "price=1200.50&comment=Two+weeks"),
        (5, "assign", "user=2"),
        (6, "move", "stage=3"),
        (7, "payment", "method=1&amount=100.00"),
        (8, "markers", "marker=1&marker=2"),
        (
            9,
            "new-user",
            "username=ivan&display_name=Ivan+Petrov&role=worker",
        ),
        (10, "disable-user", ""),
        (11, "enable-user", ""),
        (12, "user-roles", "role=manager&role=worker"),
        (
            13,
            "new-role",
            "name=reviewer&permission=view_orders&permission=chat_customers",
        ),
        (
            14,
            "role-permissions",
            "permission=view_orders&permission=moderate_orders",
        ),
        (15, "new-marker", "name=Kotlin&color=%23a97bff"),
        (
            16,
            "new-method",
            "name=Card&template=Card+4000+0000+0000+0000",
        ),
        (17, "method-active", "active=false"),
        (
            18,
            "settings",
            "name=Acme&locale=ru&currency=EUR&open_order_limit=3&commission_percent=10&commission_fixed=5.00",
        ),
        (
            19,
            "stage",
            "name_en=Approved&name_ru=%D0%9E%D0%B4%D0%BE%D0%B1%D1%80%D0%B5%D0%BD&color=%2322c55e",
        ),
        (20, "profile", "display_name=Admin&language=ru"),
        (21, "link-code", ""),
        (22, "new-token", "name=ci"),
        (23, "revoke-token", ""),
    ];
    let dir = seeds_dir("form_parsing");
    for (route, name, body) in seeds {
        let mut bytes = vec![*route, b'\n'];
        bytes.extend_from_slice(body.as_bytes());
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
    }
    // An id in the path, given before the line break.
    std::fs::write(dir.join("bid-on-order-7"), b"\x047\nprice=10&comment=").expect("a seed");
    println!("form_parsing: {} seeds", seeds.len() + 1);
}

fn main() {
    record_seeds();
    telegram_seeds();
    form_seeds();
}
