//! Background jobs: outbox delivery, scheduled work.
