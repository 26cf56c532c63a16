pub mod broker;
pub mod discovery;
pub mod finder;
pub mod inbox;
pub mod mosquitto;
pub mod protocol;
pub mod replication;
