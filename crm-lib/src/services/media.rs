//! media (being written).
