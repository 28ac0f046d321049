//! The Telegram bot: dispatcher over the inbox, dialogues, keyboards, translations.
