//! Channels, exactly A-11's list, so that quarterly reports need no mapping.
//!
//! A response's channel is where the response *arrived* (`Arrival`): a widget or a hosted page on the web, an SMS, a
//! phone line, a kiosk's QR code. It is never taken from the touchpoint the response is about: a survey about an
//! office visit answered on the web arrived on the web. The touchpoint is kept beside it, and a touchpoint's own
//! channel says only how the public meets the service there.

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

/// The door a response (or a display of a survey) came through, which decides its channel. Every channel adapter
/// names its door here, so the rule "channel = where it arrived" lives in one place (SMS, phone, imports and events
/// will add theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The hosted survey page opened from a link (email, website, a person's own device).
    HostedPage,
    /// The hosted survey page opened from the QR code printed for a kiosk or poster at the place of service.
    KioskQr,
    /// The widget embedded in an agency's web page.
    Widget,
    /// The JSON API, with the channel the client stated (checked against A-11's list), if any: web by default.
    Api(Option<Channel>),
    /// A text message.
    Sms,
    /// A phone call (a person or an automated line).
    Phone,
}

impl Arrival {
    /// The A-11 channel of what came through this door.
    pub fn channel(self) -> Channel {
        match self {
            Arrival::HostedPage | Arrival::Widget | Arrival::Api(None) => Channel::Website,
            Arrival::KioskQr => Channel::SelfServiceKiosk,
            Arrival::Api(Some(c)) => c,
            Arrival::Sms => Channel::SmsTextMessages,
            Arrival::Phone => Channel::Phone,
        }
    }

    /// The hosted page's door from the `via` query or form field: `qr` for the kiosk QR code, anything else a link.
    pub fn hosted_page(via: Option<&str>) -> Arrival {
        match via {
            Some("qr") => Arrival::KioskQr,
            _ => Arrival::HostedPage,
        }
    }
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

    #[test]
    fn the_channel_is_where_a_response_arrived() {
        assert_eq!(Arrival::Widget.channel(), Channel::Website);
        assert_eq!(Arrival::hosted_page(None).channel(), Channel::Website);
        assert_eq!(
            Arrival::hosted_page(Some("qr")).channel(),
            Channel::SelfServiceKiosk
        );
        assert_eq!(Arrival::Api(None).channel(), Channel::Website);
        assert_eq!(Arrival::Api(Some(Channel::Phone)).channel(), Channel::Phone);
        assert_eq!(Arrival::Sms.channel(), Channel::SmsTextMessages);
    }
}
