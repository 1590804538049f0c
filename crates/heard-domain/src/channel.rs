//! Channels, exactly A-11's list, so that quarterly reports need no mapping.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! channels {
    ($($variant:ident => $key:literal, $label:literal;)*) => {
        /// Where a customer met the service (A-11 §280 channel values).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Channel { $($variant),* }

        impl Channel {
            pub const ALL: &'static [Channel] = &[$(Channel::$variant),*];
            /// The value A-11 uses.
            pub fn key(self) -> &'static str {
                match self { $(Channel::$variant => $key),* }
            }
            /// A label for people.
            pub fn label(self) -> &'static str {
                match self { $(Channel::$variant => $label),* }
            }
        }

        impl FromStr for Channel {
            type Err = crate::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($key => Ok(Channel::$variant),)*
                    _ => Err(crate::FieldError::new("channel", "unknown_channel",
                        format!("'{}' is not an A-11 channel; use one of: {}", s.chars().take(40).collect::<String>(),
                            [$($key),*].join(", ")))),
                }
            }
        }
    };
}

channels! {
    Computer => "computer", "Computer";
    Mobile => "mobile", "Mobile";
    Email => "email", "Email";
    Chatbot => "chatbot", "Chatbot";
    Phone => "phone", "Phone";
    AutomatedPhone => "automated_phone", "Automated phone";
    InPerson => "in_person", "In person";
    Paper => "paper", "Paper";
    PostalMail => "postal_mail", "Postal mail";
    Fax => "fax", "Fax";
    SelfServiceKiosk => "self_service_kiosk", "Self-service kiosk";
    OtherNonDigital => "other_non_digital", "Other (non-digital)";
    Website => "website", "Website";
    MobileApp => "mobile_app", "Mobile app";
    LiveChat => "live_chat", "Live chat";
    SmsTextMessages => "sms_text_messages", "SMS text messages";
    SocialMedia => "social_media", "Social media";
    OtherDigital => "other_digital", "Other (digital)";
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_key() {
        for c in Channel::ALL {
            assert_eq!(c.key().parse::<Channel>().unwrap(), *c);
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.key())
            );
        }
        assert_eq!(Channel::ALL.len(), 18);
        let e = "telegraph".parse::<Channel>().unwrap_err();
        assert_eq!(e.field, "channel");
    }
}
