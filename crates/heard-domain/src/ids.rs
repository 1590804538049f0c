//! Typed identifiers. Every id is a UUIDv7 (time-ordered, so inserts append to the primary-key index) wrapped in a
//! newtype, so an organization id can never be passed where a survey id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
            pub const fn from_uuid(u: Uuid) -> Self {
                $name(u)
            }
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
            /// What this id names, for error messages.
            pub const WHAT: &'static str = $what;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name).map_err(|_| {
                    crate::FieldError::new($what, "invalid_id", format!("'{}' is not a valid {} id", s.chars().take(40).collect::<String>(), $what))
                })
            }
        }
    };
}

id_type!(/// An organization: an agency or bureau, the tenant.
    OrgId, "organization");
id_type!(/// A service the public gets ("Unemployment insurance claims").
    ServiceId, "service");
id_type!(/// One place of contact: a page, a phone line, an office, an SMS number.
    TouchpointId, "touchpoint");
id_type!(/// A survey; its definitions are versioned.
    SurveyId, "survey");
id_type!(/// One submitted response.
    ResponseId, "response");
id_type!(/// A staff account.
    UserId, "user");
id_type!(/// An invitation to join an organization.
    InvitationId, "invitation");
id_type!(/// A job in the durable queue (`heard_store::jobs`).
    JobId, "job");
id_type!(/// One piece of unsolicited feedback (a signal).
    SignalId, "signal");
id_type!(/// One operational event.
    EventId, "event");
id_type!(/// An organization's API key for ingesting signals and events.
    ApiKeyId, "api key");
