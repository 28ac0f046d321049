//! telegram (being written).
