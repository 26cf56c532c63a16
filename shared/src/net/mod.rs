pub mod broker;
pub mod discovery;
pub mod finder;
pub mod protocol;
pub mod replication;
