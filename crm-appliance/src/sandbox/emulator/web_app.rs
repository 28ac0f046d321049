//! Mini App `initData` the emulator signs itself, as Telegram would for a web_app button: the
//! simulated user's profile, `auth_date` now (or as a test asks), signed with the emulated
//! bot's token by Telegram's rule (`crm_lib::mini_app::sign_init_data`).

use std::time::{SystemTime, UNIX_EPOCH};

use crm_lib::mini_app::{WebAppKey, WebAppUser, sign_init_data, user_json};
use crm_lib::model::TelegramUserId;

use super::Emulator;

impl Emulator {
    /// Signed `initData` for simulated user `user_id` (their profile when they have a chat,
    /// else `Customer <id>`), at `auth_date` seconds (now when `None`); `language_code`
    /// overrides the profile's. `None` before the bot has its token.
    pub(crate) fn web_app_init_data(
        &self,
        user_id: i64,
        language_code: Option<String>,
        auth_date: Option<i64>,
    ) -> Option<String> {
        let token = self.token.get()?;
        let profile = self
            .lock()
            .chats
            .get(&user_id)
            .map(|chat| chat.user.clone());
        let user = WebAppUser {
            id: TelegramUserId::new(user_id),
            first_name: profile.as_ref().map_or_else(
                || format!("Customer {user_id}"),
                |user| user.first_name.clone(),
            ),
            last_name: profile.as_ref().and_then(|user| user.last_name.clone()),
            username: profile.as_ref().and_then(|user| user.username.clone()),
            language_code: language_code
                .or_else(|| profile.as_ref().and_then(|user| user.language_code.clone())),
        };
        let auth_date = auth_date.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                })
        });
        let query_id = format!("sandbox-{user_id}-{auth_date}");
        let auth_date = auth_date.to_string();
        let user = user_json(&user);
        Some(sign_init_data(
            &WebAppKey::of_token(token),
            [
                ("query_id", query_id.as_str()),
                ("user", user.as_str()),
                ("auth_date", auth_date.as_str()),
            ],
        ))
    }
}
