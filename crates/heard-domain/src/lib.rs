//! Heard's domain: the words of PRODUCT.md as types, and the rules that need no I/O.
//!
//! Everything here is pure and synchronous: no HTTP, no SQL, no clock reads except where a caller passes the time in.
//! Inputs from the outside world become domain values through `parse` functions that return typed errors naming the
//! field, so that code past the edge never re-checks ("parse, don't validate").

pub mod callback;
pub mod case;
pub mod channel;
pub mod chart;
pub mod error;
pub mod event;
pub mod fiscal;
pub mod flow_chart;
pub mod i18n;
pub mod idempotency;
pub mod identity;
pub mod ids;
pub mod intake;
pub mod invitation_rules;
pub mod logic;
pub mod outreach;
pub mod pra;
pub mod report;
pub mod response;
pub mod role;
pub mod rollup;
pub mod rules;
pub mod signal;
pub mod sketch;
pub mod sla;
pub mod stats;
pub mod survey;
pub mod templates;
pub mod voice;
pub mod webhook;
pub mod zone;

pub use channel::{Arrival, Channel};
pub use error::{FieldError, FieldErrors};
pub use i18n::{Lang, LocalizedText};
pub use ids::*;
pub use role::Role;
pub use zone::Zone;
