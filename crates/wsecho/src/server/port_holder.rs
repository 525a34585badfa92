//! Who holds a TCP port we failed to listen on, when Linux lets us see it: the listening socket's inode from
//! `/proc/net/tcp` or `tcp6`, then the process with that socket among its `/proc/PID/fd` links.

use std::net::SocketAddr;

/// TCP state `0A` in `/proc/net/tcp*`: LISTEN.
const LISTEN: &str = "0A";

/// `pid N (command)` of the process listening on `addr`'s port, or `None` when it cannot be known (not Linux,
/// another user's process, a container boundary).
pub(crate) fn port_holder(addr: SocketAddr) -> Option<String> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .find_map(|table| listening_inode(&table, addr.port()))?;
    let socket = format!("socket:[{inode}]");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let holds = std::fs::read_dir(entry.path().join("fd"))
            .ok()?
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == socket.as_str())
            });
        holds.then(|| {
            let command = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            format!("pid {pid} ({})", command.trim())
        })
    })
}

/// The inode of a listening socket on `port` in a `/proc/net/tcp*` table (any local address: a wildcard
/// listener holds the port for loopback too).
fn listening_inode(table: &str, port: u16) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = fields.get(1)?;
        let (_, hex_port) = local.rsplit_once(':')?;
        let listening = u16::from_str_radix(hex_port, 16).ok()? == port && *fields.get(3)? == LISTEN;
        let inode: u64 = fields.get(9)?.parse().ok()?;
        (listening && inode != 0).then_some(inode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1
";

    #[test]
    fn finds_the_listening_socket_of_a_port_only() {
        assert_eq!(listening_inode(TABLE, 8080), Some(4242));
        assert_eq!(listening_inode(TABLE, 8443), None);
    }

    #[test]
    fn names_this_process_for_a_port_it_listens_on() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let holder = port_holder(addr).expect("this process's own socket is readable");
        assert!(
            holder.starts_with(&format!("pid {} (", std::process::id())),
            "{holder}"
        );
    }
}
