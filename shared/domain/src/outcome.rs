//! Outcome events as the admin API and CSV imports submit them (being written).
