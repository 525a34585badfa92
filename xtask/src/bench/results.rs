//! Every figure of one benchmark run, and the command lines that produced them; medians are taken when the
//! report is written.

use super::cert_setup::CertTool;
use super::measure::{Bomb, Echo, Idle, Negotiated};
use super::peer::Peer;
use super::plan::{Case, IdleCase};
use super::provider_report::ProviderReport;
use super::servers::Server;

pub struct Results {
    /// The echo servers compared, in report order.
    pub peers: Vec<Peer>,
    /// (peer, case) -> one sample per round.
    pub echo: Vec<((Peer, Case), Vec<Echo>)>,
    /// Empty when bomb did not run (`--smoke`).
    pub bomb: Vec<(Peer, Vec<Bomb>)>,
    /// (peer, rate, samples) at half of that peer's median saturation rate.
    pub half_rate: Vec<(Peer, f64, Vec<Echo>)>,
    pub idle: Vec<(IdleCase, Idle)>,
    /// Each server's permessage-deflate answers in the compressed cases, as the load generator reported them.
    pub extensions: Vec<(Peer, String)>,
    /// The load generator's permessage-deflate offer, once a compressed run reported it.
    pub deflate_offer: Option<String>,
    /// Per round: the share of its echoes' payload bytes `wsecho serve` kept off the wire with permessage-deflate.
    pub deflate_saving: Vec<f64>,
    pub certs: Vec<(CertTool, Vec<f64>)>,
    /// ring against aws-lc-rs (`xtask/providers`' JSON report); `None` when it did not run (`--smoke`).
    pub providers: Option<ProviderReport>,
    /// Server command lines as run, for the report.
    pub commands: Vec<(String, String)>,
}

impl Results {
    pub fn new(peers: Vec<Peer>) -> Results {
        Results {
            peers,
            echo: Vec::new(),
            bomb: Vec::new(),
            half_rate: Vec::new(),
            idle: Vec::new(),
            extensions: Vec::new(),
            deflate_offer: None,
            deflate_saving: Vec::new(),
            certs: Vec::new(),
            providers: None,
            commands: Vec::new(),
        }
    }

    pub fn echo_samples(&self, peer: Peer, case: Case) -> Vec<Echo> {
        self.echo
            .iter()
            .filter(|(key, _)| *key == (peer, case))
            .flat_map(|(_, samples)| samples.iter().copied())
            .collect()
    }

    pub fn bomb_samples(&self, peer: Peer) -> Vec<Bomb> {
        self.bomb
            .iter()
            .filter(|(p, _)| *p == peer)
            .flat_map(|(_, samples)| samples.iter().copied())
            .collect()
    }

    /// Notes the offer and `peer`'s permessage-deflate answer, if the run offered it; an answer that differs from an
    /// earlier one (another round, the idle measurement) is listed too, so a changing answer shows in the report.
    pub fn note_extension(&mut self, peer: Peer, negotiated: Option<Negotiated>) {
        if let Some(Negotiated { offer, answer }) = negotiated {
            self.deflate_offer.get_or_insert(offer);
            let entry = (peer, answer);
            if !self.extensions.contains(&entry) {
                self.extensions.push(entry);
            }
        }
    }

    pub fn idle_of(&self, case: IdleCase) -> Option<&Idle> {
        self.idle.iter().find(|(c, _)| *c == case).map(|(_, idle)| idle)
    }

    /// Notes the server's command line and the `wsecho bench` one run against it.
    pub fn remember(&mut self, server: &Server, bench_args: &[String]) {
        let scheme = if server.url.starts_with("wss") {
            "wss"
        } else {
            "ws"
        };
        let bench = format!(
            "wsecho bench {scheme}://127.0.0.1:PORT/ {} --server-pid PID",
            bench_args.join(" ")
        );
        let bench = if scheme == "wss" {
            bench + " --ca ca.pem"
        } else {
            bench
        };
        self.note((server.shown.clone(), bench));
    }

    pub fn remember_bomb(&mut self, bomb_args: &[String]) {
        let shown: Vec<String> = bomb_args
            .iter()
            .map(|arg| {
                if arg.contains('{') {
                    format!("'{arg}'")
                } else {
                    arg.clone()
                }
            })
            .collect();
        self.note((
            "(each server above)".to_string(),
            format!("bomb -t ws://127.0.0.1:PORT/ {}", shown.join(" ")),
        ));
    }

    fn note(&mut self, entry: (String, String)) {
        if !self.commands.contains(&entry) {
            self.commands.push(entry);
        }
    }
}

/// Appends `value` to the samples under `key`.
pub fn push<K: PartialEq, V>(list: &mut Vec<(K, Vec<V>)>, key: K, value: V) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => list.push((key, vec![value])),
    }
}
