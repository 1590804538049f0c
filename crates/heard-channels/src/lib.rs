//! Channel adapters: what arrives from outside (files, CloudEvents, contact-centre records) turned into the domain's
//! items (`heard_domain::{signal, event}` inputs and survey answers), before the pipeline protects and enriches them.
//! Parsers only: no I/O, no clock (callers pass `now`), so they can be fuzzed and tested on their own.
pub mod amazon_connect;
pub mod contacts;
pub mod dsn;
pub mod import;
pub mod sms;
