pub mod protocol;
pub mod replication;
