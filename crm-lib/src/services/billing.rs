//! billing (being written).
