//! One echo workload of `wsecho bench` (connections, message size and kind, load shape, compression) and the
//! arguments that run it.

/// How `wsecho bench` drives the connections of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One message in flight per connection.
    ClosedLoop,
    /// This many messages in flight per connection, echoes checked in order (`--pipeline`).
    Pipelined(usize),
    /// Connect, one echo, close, in a loop (`--churn`); over wss with or without TLS session resumption.
    Churn { resume: bool },
}

/// One echo workload.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub connections: usize,
    pub size: usize,
    pub binary: bool,
    pub shape: Shape,
    /// Offer permessage-deflate on every connection (`--deflate`).
    pub deflate: bool,
}

impl Workload {
    pub fn kind(&self) -> &'static str {
        if self.binary { "binary" } else { "text" }
    }

    pub fn label(&self) -> String {
        let size = if self.size.is_multiple_of(1024) {
            format!("{} KiB", self.size / 1024)
        } else {
            format!("{} B", self.size)
        };
        let shape = match self.shape {
            Shape::ClosedLoop => String::new(),
            Shape::Pipelined(depth) => format!(", {depth} in flight"),
            Shape::Churn { resume: true } => ", churn".into(),
            Shape::Churn { resume: false } => ", churn, no TLS resumption".into(),
        };
        let deflate = if self.deflate { ", permessage-deflate" } else { "" };
        format!(
            "{} conns x {size} {}{shape}{deflate}",
            self.connections,
            self.kind()
        )
    }
}

/// `wsecho bench` arguments after the URL, as run and as shown in the report.
pub fn bench_args(work: &Workload, rate: Option<f64>, warmup: f64, duration: f64) -> Vec<String> {
    let mut args = vec![
        "-c".to_string(),
        work.connections.to_string(),
        "--size".into(),
        work.size.to_string(),
        "--kind".into(),
        work.kind().into(),
        "--warmup".into(),
        format!("{warmup}"),
        "--duration".into(),
        format!("{duration}"),
    ];
    if let Some(rate) = rate {
        args.extend(["--rate".into(), format!("{rate:.0}")]);
    }
    match work.shape {
        Shape::ClosedLoop => {}
        Shape::Pipelined(depth) => args.extend(["--pipeline".into(), depth.to_string()]),
        Shape::Churn { resume } => {
            args.push("--churn".into());
            if !resume {
                args.push("--no-tls-resumption".into());
            }
        }
    }
    if work.deflate {
        args.push("--deflate".into());
    }
    args.push("--json".into());
    args
}
