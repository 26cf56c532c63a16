//! Pass's shared crate: the domain rules, the store journal and (in later modules) networking and
//! payments. Both apps and the `pass` command line are thin shells around it.

#[cfg(feature = "app")]
pub mod app;
pub mod clock;
pub mod device;
pub mod domain;
pub mod event;
pub mod journal;
pub mod kitchen;
pub mod net;
pub mod payments;
pub mod projection;
pub mod reports;
pub mod rush;
pub mod terminal;
