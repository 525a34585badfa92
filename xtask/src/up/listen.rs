//! Where the server listens: loopback, or with `--lan` every interface; and the LAN addresses `--lan` adds to the
//! certificate and the banner announces.

use super::args::Ports;
use anyhow::{Context, bail};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The (ws, wss) listeners: loopback on IPv4 and IPv6, or with `lan` every interface, IPv4 and IPv6 (the server
/// keeps `[::]` to IPv6 beside `0.0.0.0`).
pub(super) fn listen_addresses(lan: bool, ports: Ports) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    let on = |port: u16| -> Vec<SocketAddr> {
        if lan {
            vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            ]
        } else {
            vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            ]
        }
    };
    (on(ports.ws_port), on(ports.wss_port))
}

/// This machine's IPv4 addresses other devices can reach: what `--lan` serves on.
pub(super) fn lan_addresses() -> anyhow::Result<Vec<IpAddr>> {
    let interfaces = if_addrs::get_if_addrs().context("cannot list network interfaces")?;
    reachable_ipv4(interfaces.iter().map(if_addrs::Interface::ip))
}

/// The addresses among `addrs` other devices can reach (see [`wsecho::server::reachable_ipv4`]); none is an error.
pub(super) fn reachable_ipv4(addrs: impl IntoIterator<Item = IpAddr>) -> anyhow::Result<Vec<IpAddr>> {
    let found = wsecho::server::reachable_ipv4(addrs);
    if found.is_empty() {
        bail!("--lan: this machine has no IPv4 LAN address (only loopback)");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::up::testing::ip;

    #[test]
    fn lan_keeps_reachable_ipv4_addresses_sorted_once() {
        let found = reachable_ipv4(
            [
                "127.0.0.1",
                "192.168.1.20",
                "169.254.7.1",
                "10.0.0.5",
                "::1",
                "fe80::1",
                "2001:db8::5",
                "192.168.1.20",
            ]
            .map(ip),
        )
        .unwrap();
        assert_eq!(found, vec![ip("10.0.0.5"), ip("192.168.1.20")]);
    }

    #[test]
    fn lan_without_an_ipv4_address_is_an_error_that_says_so() {
        let err = reachable_ipv4(["127.0.0.1", "::1", "169.254.0.9"].map(ip)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--lan: this machine has no IPv4 LAN address (only loopback)"
        );
    }

    #[test]
    fn serve_listens_on_loopback_unless_lan() {
        let default = Ports {
            ws_port: 8080,
            wss_port: 8443,
        };
        let (ws, wss) = listen_addresses(false, default);
        assert_eq!(
            ws,
            ["127.0.0.1:8080".parse().unwrap(), "[::1]:8080".parse().unwrap()]
        );
        assert_eq!(
            wss,
            ["127.0.0.1:8443".parse().unwrap(), "[::1]:8443".parse().unwrap()]
        );
        let (ws, wss) = listen_addresses(true, default);
        assert_eq!(
            ws,
            [
                "0.0.0.0:8080".parse().unwrap(),
                "[::]:8080".parse::<SocketAddr>().unwrap()
            ]
        );
        assert_eq!(
            wss,
            [
                "0.0.0.0:8443".parse().unwrap(),
                "[::]:8443".parse::<SocketAddr>().unwrap()
            ]
        );
    }
}
