//! When an ACME certificate is due again: inside the CA's suggested window when it publishes one (ACME Renewal
//! Information, RFC 9773), otherwise when a third of the certificate's lifetime is left (so a 90-day certificate
//! renews after 60 days and a 160-hour one after about 107 hours, leaving time to retry).

use instant_acme::{Account, CertificateIdentifier, RenewalInfo};
use time::OffsetDateTime;

use crate::Cert;

/// When to renew, and why then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewAt {
    /// A time the CA suggested (chosen at random inside its window, as RFC 9773 asks, to spread the load).
    Ari {
        at: OffsetDateTime,
        window_start: OffsetDateTime,
        window_end: OffsetDateTime,
    },
    /// Two thirds into the certificate's validity; the CA offered no renewal information.
    ThirdOfLifetime { at: OffsetDateTime },
}

impl RenewAt {
    pub fn at(&self) -> OffsetDateTime {
        match self {
            RenewAt::Ari { at, .. } | RenewAt::ThirdOfLifetime { at } => *at,
        }
    }

    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        now >= self.at()
    }

    /// `the CA's renewal window (ARI)` or `a third of the lifetime left`, for messages.
    pub fn reason(&self) -> &'static str {
        match self {
            RenewAt::Ari { .. } => "inside the CA's renewal window (ARI)",
            RenewAt::ThirdOfLifetime { .. } => "a third of the lifetime left",
        }
    }

    /// The fallback rule alone, for a certificate whose CA is not asked.
    pub fn third_of_lifetime(cert: &Cert) -> RenewAt {
        let lifetime = cert.not_after() - cert.not_before();
        let at: OffsetDateTime = cert.not_after() - lifetime / 3;
        RenewAt::ThirdOfLifetime {
            at: at.replace_nanosecond(0).unwrap_or(at),
        }
    }

    /// A time inside `[start, end]`, uniformly at random; `end` before `start` means `start`.
    fn in_window(window_start: OffsetDateTime, window_end: OffsetDateTime) -> RenewAt {
        let span = (window_end - window_start).whole_seconds().max(0);
        let offset = if span == 0 {
            0
        } else {
            rand::random_range(0..=span)
        };
        RenewAt::Ari {
            at: window_start + time::Duration::seconds(offset),
            window_start,
            window_end,
        }
    }
}

/// Asks the CA for `cert`'s renewal window; falls back to a third of the lifetime when the CA has no ARI, does not
/// know the certificate, or cannot be reached.
pub async fn renew_at(account: &Account, cert: &Cert) -> RenewAt {
    let Ok(id) = CertificateIdentifier::try_from(cert.der()) else {
        return RenewAt::third_of_lifetime(cert);
    };
    match account.renewal_info(&id).await {
        Ok((info, _)) => RenewAt::from_renewal_info(&info),
        Err(_) => RenewAt::third_of_lifetime(cert),
    }
}

impl RenewAt {
    /// A time inside the window of a renewalInfo document the CA sent.
    fn from_renewal_info(info: &RenewalInfo) -> RenewAt {
        RenewAt::in_window(info.suggested_window.start, info.suggested_window.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_ari_time_falls_inside_the_window() {
        let (start, end) = (datetime!(2026-03-01 00:00 UTC), datetime!(2026-03-03 00:00 UTC));
        for _ in 0..100 {
            let at = RenewAt::in_window(start, end).at();
            assert!(start <= at && at <= end, "{at} outside {start}..{end}");
        }
        assert_eq!(RenewAt::in_window(end, start).at(), end);
    }

    /// The renewalInfo response of RFC 9773 section 4.2, as a CA sends it.
    const RFC_9773_RENEWAL_INFO: &str = r#"{
        "suggestedWindow": {
            "start": "2025-01-02T04:00:00Z",
            "end": "2025-01-03T04:00:00Z"
        },
        "explanationURL": "https://acme.example.com/docs/ari"
    }"#;

    #[test]
    fn a_renewal_info_document_gives_a_time_in_its_window() {
        let info: RenewalInfo = serde_json::from_str(RFC_9773_RENEWAL_INFO).unwrap();
        let (start, end) = (datetime!(2025-01-02 04:00 UTC), datetime!(2025-01-03 04:00 UTC));
        for _ in 0..100 {
            let renew_at = RenewAt::from_renewal_info(&info);
            assert_eq!(
                renew_at,
                RenewAt::Ari {
                    at: renew_at.at(),
                    window_start: start,
                    window_end: end
                }
            );
            assert!(start <= renew_at.at() && renew_at.at() <= end, "{renew_at:?}");
            assert_eq!(renew_at.reason(), "inside the CA's renewal window (ARI)");
        }
        assert!(!RenewAt::from_renewal_info(&info).is_due(start - time::Duration::seconds(1)));
        assert!(RenewAt::from_renewal_info(&info).is_due(end));
    }

    #[test]
    fn without_ari_a_third_of_the_lifetime_is_left() {
        let names = crate::SubjectName::parse_all(["a.test"]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let certs = crate::CertsDir::new(dir.path());
        let opts = crate::LeafOptions {
            days: 90,
            ..Default::default()
        };
        let cert = certs.self_signed(&names, &opts).unwrap().cert;
        let at = RenewAt::third_of_lifetime(&cert);
        assert_eq!(at.at(), cert.not_before() + time::Duration::days(60));
        assert!(!at.is_due(cert.not_before() + time::Duration::days(59)));
        assert!(at.is_due(cert.not_before() + time::Duration::days(60)));
    }
}
