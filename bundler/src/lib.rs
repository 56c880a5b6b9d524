//! Airlock's archive format, publisher keys and the staff CLI's building blocks.
