//! This machine's addresses that other devices on the network can reach: what a wildcard listener is announced
//! at for phones, and what `cargo xtask up --lan` puts in the certificate.

use std::net::IpAddr;

/// The IPv4 addresses of this machine's interfaces that another device can reach, sorted.
pub fn lan_addresses() -> std::io::Result<Vec<IpAddr>> {
    let interfaces = if_addrs::get_if_addrs()?;
    Ok(reachable_ipv4(interfaces.iter().map(if_addrs::Interface::ip)))
}

/// The IPv4 addresses among `addrs` that are neither loopback nor link-local, sorted, each once.
pub fn reachable_ipv4(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = addrs
        .into_iter()
        .filter(|ip| matches!(ip, IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local()))
        .collect();
    found.sort();
    found.dedup();
    found
}
