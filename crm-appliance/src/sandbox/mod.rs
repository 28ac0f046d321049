//! The built-in Telegram Bot API emulator and its browser page (SPEC section 6).
