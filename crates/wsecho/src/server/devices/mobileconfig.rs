//! `/ca.mobileconfig`: the CA as an Apple configuration profile (a property list with one
//! `com.apple.security.root` payload holding the CA's DER). iOS Safari installs a profile from a download, which
//! it does not do for a bare `.cer`; macOS installs it too. The same CA always gives the same profile: its UUIDs
//! and identifiers are derived from the certificate, so installing it again replaces the old one.

use data_encoding::{BASE64, HEXLOWER};
use sha2::{Digest, Sha256};

/// What browsers need to hand the download to the profile installer.
pub(crate) const CONTENT_TYPE: &str = "application/x-apple-aspen-config";

/// The profile for the CA `der`, named `name`, whose SHA-256 fingerprint is `sha256` (colon hex).
pub(crate) fn profile(der: &[u8], name: &str, sha256: &str) -> String {
    let name = escape(name);
    let id = &HEXLOWER.encode(&Sha256::digest(der))[..16];
    let description = format!(
        "Installs the local development CA &quot;{name}&quot; (SHA-256 {sha256}). Compare the fingerprint with \
         the one the server's /trust page and `certgen inspect certs/ca.cer` show. On iPhone and iPad, after installing turn \
         on full trust in Settings &gt; General &gt; About &gt; Certificate Trust Settings."
    );
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>ca.cer</string>
			<key>PayloadContent</key>
			<data>{content}</data>
			<key>PayloadDescription</key>
			<string>Adds the CA certificate &quot;{name}&quot;</string>
			<key>PayloadDisplayName</key>
			<string>{name}</string>
			<key>PayloadIdentifier</key>
			<string>localtls.ca.{id}.root</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>{root_uuid}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>{description}</string>
	<key>PayloadDisplayName</key>
	<string>localtls CA: {name}</string>
	<key>PayloadIdentifier</key>
	<string>localtls.ca.{id}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{profile_uuid}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#,
        content = BASE64.encode(der),
        root_uuid = uuid_for("root payload", der),
        profile_uuid = uuid_for("profile", der),
    )
}

/// A UUID (RFC 9562 version 8, "custom") from the SHA-256 of `label` and `der`: stable for one CA, different
/// for another, and different between the profile and its payload.
fn uuid_for(label: &str, der: &[u8]) -> String {
    let mut bytes: [u8; 16] = Sha256::new()
        .chain_update(label.as_bytes())
        .chain_update(der)
        .finalize()[..16]
        .try_into()
        .expect("16 of 32 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = data_encoding::HEXUPPER.encode(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `text` safe inside XML character data.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_per_ca_and_distinct_between_cas_and_payloads() {
        let (a, b) = (b"first CA".as_slice(), b"second CA".as_slice());
        assert_eq!(uuid_for("profile", a), uuid_for("profile", a));
        assert_ne!(uuid_for("profile", a), uuid_for("profile", b));
        assert_ne!(uuid_for("profile", a), uuid_for("root payload", a));
        let uuid = uuid_for("profile", a);
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "8", "version 8: {uuid}");
        assert!(
            matches!(&uuid[19..20], "8" | "9" | "A" | "B"),
            "RFC variant: {uuid}"
        );
    }

    #[test]
    fn names_are_escaped() {
        let profile = profile(b"der", "A & <B>", "AB:CD");
        assert!(
            profile.contains("<string>A &amp; &lt;B&gt;</string>"),
            "{profile}"
        );
    }
}
