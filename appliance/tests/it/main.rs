//! The appliance's integration tests: one binary.

mod pipeline;
mod site;
