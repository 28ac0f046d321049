//! The public test vectors of `initData` validation (the project's fixtures
//! `fixtures/mini_app/initdata-vectors.toml`, copied from init-data-golang,
//! @telegram-apps/init-data-node and aiogram's tests), and a property: any single-byte
//! change of a signed `initData` fails.

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Vectors {
    vector: Vec<Vector>,
}

/// One vector: the token, the text, the moment it is checked at, the age limit and the
/// expected outcome (`valid`, or an [`InitDataError::as_str`]).
#[derive(Deserialize)]
struct Vector {
    name: String,
    token: String,
    init_data: String,
    now: i64,
    max_age: u64,
    expected: String,
    user_id: Option<i64>,
    language_code: Option<String>,
}

const VECTORS: &str = include_str!("../../../../../fixtures/mini_app/initdata-vectors.toml");

fn vectors() -> Vec<Vector> {
    toml::from_str::<Vectors>(VECTORS)
        .expect("the vectors file parses")
        .vector
}

#[test]
fn every_public_vector_gives_its_expected_outcome() {
    let vectors = vectors();
    assert!(vectors.len() >= 20, "{} vectors", vectors.len());
    for vector in vectors {
        let outcome = validate_init_data(
            &vector.init_data,
            &WebAppKey::of_token(&vector.token),
            Timestamp::from_millis(vector.now * 1_000),
            vector.max_age,
        );
        match outcome {
            Ok(data) => {
                assert_eq!(vector.expected, "valid", "{}: passed", vector.name);
                if let Some(id) = vector.user_id {
                    assert_eq!(
                        data.user().map(|user| user.id.get()),
                        Some(id),
                        "{}",
                        vector.name
                    );
                }
                if let Some(code) = &vector.language_code {
                    assert_eq!(
                        data.user()
                            .and_then(|user| user.language_code.clone())
                            .as_ref(),
                        Some(code),
                        "{}",
                        vector.name
                    );
                }
            }
            Err(error) => assert_eq!(error.as_str(), vector.expected, "{}: {error}", vector.name),
        }
    }
}

#[test]
fn the_first_vector_is_valid_up_to_the_age_limit_and_expired_one_second_past_it() {
    let vector = vectors()
        .into_iter()
        .find(|vector| vector.name == "golang valid")
        .expect("the golang vector");
    let key = WebAppKey::of_token(&vector.token);
    let auth_date = 1_662_771_648_i64;
    let at = |seconds: i64| Timestamp::from_millis(seconds * 1_000);
    let limit = DEFAULT_MAX_AGE_SECONDS;
    let limit_seconds = i64::try_from(limit).unwrap();
    assert!(
        validate_init_data(
            &vector.init_data,
            &key,
            at(auth_date + limit_seconds),
            limit
        )
        .is_ok()
    );
    assert_eq!(
        validate_init_data(
            &vector.init_data,
            &key,
            at(auth_date + limit_seconds + 1),
            limit
        ),
        Err(InitDataError::Expired)
    );
    assert!(
        validate_init_data(
            &vector.init_data,
            &key,
            at(auth_date - FUTURE_SKEW_SECONDS),
            limit
        )
        .is_ok()
    );
    assert_eq!(
        validate_init_data(
            &vector.init_data,
            &key,
            at(auth_date - FUTURE_SKEW_SECONDS - 1),
            limit
        ),
        Err(InitDataError::FromTheFuture)
    );
}

#[test]
fn signing_gives_the_hash_of_the_public_vector() {
    let key = WebAppKey::of_token("5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8");
    let user = r#"{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true}"#;
    let signed = sign_init_data(
        &key,
        [
            ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
            ("user", user),
            ("auth_date", "1662771648"),
        ],
    );
    assert!(
        signed.ends_with("hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"),
        "{signed}"
    );
    let data =
        validate_init_data(&signed, &key, Timestamp::from_millis(1_662_771_649_000), 60).unwrap();
    assert_eq!(data.query_id(), Some("AAHdF6IQAAAAAN0XohDhrOrc"));
    assert_eq!(data.user().unwrap().language(), Some(Language::RU));
}

#[test]
fn a_signed_user_round_trips_with_names_that_need_escaping() {
    let key = WebAppKey::of_token("42:TEST");
    let user = WebAppUser {
        id: TelegramUserId::new(7),
        first_name: "Анна & + = % \\/ \"x\"".into(),
        last_name: Some("O'Brien".into()),
        username: None,
        language_code: Some("ru".into()),
    };
    let signed = sign_init_data(&key, [("auth_date", "100"), ("user", &user_json(&user))]);
    let data = validate_init_data(&signed, &key, Timestamp::from_millis(100_000), 10).unwrap();
    assert_eq!(data.user(), Some(&user));
    assert_eq!(data.auth_date(), 100);
}

#[test]
fn text_over_the_byte_limit_is_refused_and_at_the_limit_is_read() {
    let key = WebAppKey::of_token("42:TEST");
    let base = sign_init_data(&key, [("auth_date", "100"), ("pad", "")]);
    let at_limit = sign_init_data(
        &key,
        [
            ("auth_date", "100"),
            ("pad", &"a".repeat(INIT_DATA_MAX_BYTES - base.len())),
        ],
    );
    assert_eq!(at_limit.len(), INIT_DATA_MAX_BYTES);
    let now = Timestamp::from_millis(100_000);
    assert!(validate_init_data(&at_limit, &key, now, 10).is_ok());
    let past = sign_init_data(
        &key,
        [
            ("auth_date", "100"),
            ("pad", &"a".repeat(INIT_DATA_MAX_BYTES - base.len() + 1)),
        ],
    );
    assert_eq!(
        validate_init_data(&past, &key, now, 10),
        Err(InitDataError::TooLong)
    );
}

#[test]
fn a_key_given_twice_and_a_bad_escape_are_malformed() {
    let key = WebAppKey::of_token("42:TEST");
    let now = Timestamp::from_millis(100_000);
    for text in [
        "auth_date=100&auth_date=100&hash=00",
        "auth_date=100&x=%zz&hash=00",
        "auth_date=100&x=%e&hash=00",
        "auth_date=100&x=%ff&hash=00",
        "=1&auth_date=100&hash=00",
    ] {
        assert_eq!(
            validate_init_data(text, &key, now, 10),
            Err(InitDataError::Malformed),
            "{text}"
        );
    }
}

#[test]
fn a_user_without_a_positive_id_or_a_first_name_is_refused() {
    let key = WebAppKey::of_token("42:TEST");
    let now = Timestamp::from_millis(100_000);
    for user in [
        r#"{"id":0,"first_name":"A"}"#,
        r#"{"id":-5,"first_name":"A"}"#,
        r#"{"id":"x","first_name":"A"}"#,
        r#"{"id":5}"#,
        "not json",
    ] {
        let signed = sign_init_data(&key, [("auth_date", "100"), ("user", user)]);
        assert_eq!(
            validate_init_data(&signed, &key, now, 10),
            Err(InitDataError::UserInvalid),
            "{user}"
        );
    }
}

#[test]
fn the_key_shows_nothing_when_printed() {
    assert_eq!(
        format!("{:?}", WebAppKey::of_token("42:TEST")),
        "WebAppKey(***)"
    );
}

proptest! {
    /// Any one byte changed, anywhere in a signed `initData`, makes it fail.
    #[test]
    fn any_single_byte_change_of_signed_init_data_fails(
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let key = WebAppKey::of_token("5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8");
        let user = r#"{"id":279058397,"first_name":"Vladislav","language_code":"ru"}"#;
        let signed = sign_init_data(
            &key,
            [("query_id", "AAHdF6IQ"), ("user", user), ("auth_date", "1662771648")],
        );
        let mut bytes = signed.clone().into_bytes();
        let index = position.index(bytes.len());
        prop_assume!(bytes[index] != replacement);
        bytes[index] = replacement;
        // Changing a hex digit's case or an escape's case says the same thing: skip those.
        let same = |a: u8, b: u8| a.eq_ignore_ascii_case(&b) && a.is_ascii_hexdigit();
        prop_assume!(!same(signed.as_bytes()[index], replacement));
        let now = Timestamp::from_millis(1_662_771_650_000);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(validate_init_data(&text, &key, now, 60).is_err(), "{text}");
    }
}
