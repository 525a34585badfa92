//! `wsecho serve --acme NAME...`: the ACME flags (the same as `certgen acme`'s), turned into an [`AcmeConfig`]
//! by the conversion both front ends share (`certgen::acme::AcmeFlags`).

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use certgen::acme::{AcmeFlags, Challenge};
use clap::Args;
use wsecho::Error;
use wsecho::server::AcmeConfig;

#[derive(Args)]
pub(crate) struct AcmeArgs {
    /// Get the wss certificate for these public names or IPs from an ACME CA, answering its challenge on this
    /// server's own listeners; renewed in the background [default listeners: --wss [::]:443, and --ws [::]:80
    /// for http-01]
    #[arg(long, value_name = "NAME", num_args = 1.., conflicts_with_all = ["cert", "key"])]
    acme: Vec<String>,
    /// Folder keeping the ACME account and certificate, so a restart reuses them
    #[arg(long, value_name = "DIR", default_value = "certs", requires = "acme")]
    acme_dir: PathBuf,
    /// ACME directory: letsencrypt, letsencrypt-staging (try it first) or a URL
    #[arg(
        long,
        value_name = "PRESET|URL",
        default_value = "letsencrypt",
        requires = "acme"
    )]
    directory: String,
    /// tls-alpn-01 (on the wss listener, port 443 for a public CA), http-01 (on the ws listener, port 80) or
    /// dns-01 (--dns-hook)
    #[arg(long, value_name = "KIND", default_value = "tls-alpn-01", requires = "acme")]
    challenge: String,
    /// dns-01: command run as `CMD set|clear NAME VALUE` for the _acme-challenge TXT record
    #[arg(long, value_name = "CMD", requires = "acme")]
    dns_hook: Option<String>,
    /// ACME profile [default: `shortlived` for IP addresses when the CA offers it]
    #[arg(long, value_name = "NAME", requires = "acme")]
    profile: Option<String>,
    /// Contact e-mail for the new ACME account; optional
    #[arg(long, value_name = "ADDRESS", requires = "acme")]
    email: Option<String>,
    /// Accept the ACME CA's terms of service (needed once, to create the account)
    #[arg(long, requires = "acme")]
    agree_tos: bool,
    /// External account binding key id, for CAs that require one
    #[arg(long, value_name = "KID", requires = "eab_hmac_key")]
    eab_kid: Option<String>,
    /// External account binding HMAC key, base64url as the CA shows it
    #[arg(
        long,
        value_name = "KEY",
        requires = "eab_kid",
        env = "CERTGEN_EAB_HMAC_KEY",
        hide_env_values = true
    )]
    eab_hmac_key: Option<String>,
    /// Trust this PEM root for the ACME server's own TLS certificate (a private ACME server)
    #[arg(long, value_name = "FILE", requires = "acme")]
    acme_ca: Option<PathBuf>,
}

impl AcmeArgs {
    /// The ACME settings, with the listeners `--acme` needs added when none were given.
    pub(crate) fn config(
        self,
        ws: &mut Vec<SocketAddr>,
        wss: &mut Vec<SocketAddr>,
    ) -> Result<Option<AcmeConfig>, Error> {
        if self.acme.is_empty() {
            return Ok(None);
        }
        let mut request = AcmeFlags {
            names: self.acme,
            directory: self.directory,
            challenge: self.challenge,
            dns_hook: self.dns_hook,
            profile: self.profile,
            email: self.email,
            agree_tos: self.agree_tos,
            eab_kid: self.eab_kid,
            eab_hmac_key: self.eab_hmac_key,
            acme_ca: self.acme_ca,
            force: true,
            ..AcmeFlags::default()
        }
        .request()?;
        if wss.is_empty() {
            wss.push(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 443)));
        }
        if request.challenge == Challenge::Http01 && ws.is_empty() {
            ws.push(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 80)));
        }
        request.http_port = ws.first().map_or(80, SocketAddr::port);
        request.tls_port = wss.first().map_or(443, SocketAddr::port);
        Ok(Some(AcmeConfig {
            request,
            dir: self.acme_dir,
        }))
    }
}
