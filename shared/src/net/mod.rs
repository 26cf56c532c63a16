pub mod inbox;
pub mod mosquitto;
pub mod protocol;
pub mod replication;
