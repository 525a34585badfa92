//! The Linux system store: a CA file in the distribution's anchor directory, then its refresh command.

use std::path::PathBuf;

use crate::pem;

use super::ca_cert::CaCert;
use super::command::{Cmd, dir_is_writable, find_program};
use super::error::TrustError;
use super::host::Host;
use super::store::{Detected, Entry, Presence, TrustStore};
use super::store_kind::StoreKind;

/// One distribution family's way to add a system-wide CA.
struct Family {
    name: &'static str,
    anchors: &'static str,
    extension: &'static str,
    refresh: &'static [&'static str],
    /// Debian's tool drops the links of a removed local CA only with `--fresh`.
    refresh_after_removal: &'static [&'static str],
    /// Where the refresh command links each anchor, when it does (proves the refresh ran).
    linked_as: Option<&'static str>,
}

/// In the order they are tried. Arch's `trust anchor` does the same as writing the anchor file and running
/// `trust extract-compat`, but this way the file carries our name and removal touches nothing else.
const FAMILIES: [Family; 4] = [
    Family {
        name: "Debian/Ubuntu",
        anchors: "/usr/local/share/ca-certificates",
        extension: "crt",
        refresh: &["update-ca-certificates"],
        refresh_after_removal: &["update-ca-certificates", "--fresh"],
        linked_as: Some("/etc/ssl/certs/{name}.pem"),
    },
    Family {
        name: "Fedora/RHEL",
        anchors: "/etc/pki/ca-trust/source/anchors",
        extension: "pem",
        refresh: &["update-ca-trust", "extract"],
        refresh_after_removal: &["update-ca-trust", "extract"],
        linked_as: None,
    },
    Family {
        name: "Arch",
        anchors: "/etc/ca-certificates/trust-source/anchors",
        extension: "crt",
        refresh: &["trust", "extract-compat"],
        refresh_after_removal: &["trust", "extract-compat"],
        linked_as: None,
    },
    Family {
        name: "openSUSE",
        anchors: "/usr/share/pki/trust/anchors",
        extension: "pem",
        refresh: &["update-ca-certificates"],
        refresh_after_removal: &["update-ca-certificates"],
        linked_as: None,
    },
];

/// The system store of one distribution family.
pub struct AnchorDir {
    family: &'static Family,
    refresh_program: PathBuf,
}

pub(super) fn detect(_host: &Host) -> Detected {
    for family in &FAMILIES {
        if !std::path::Path::new(family.anchors).is_dir() {
            continue;
        }
        return match find_program(family.refresh[0], &["/usr/sbin", "/sbin", "/usr/bin"]) {
            Some(refresh_program) => Detected::Stores(vec![Box::new(AnchorDir {
                family,
                refresh_program,
            })]),
            None => Detected::Broken(TrustError::ToolMissing {
                tool: family.refresh[0],
                fix: format!(
                    "{} has {} but not its tool; install the ca-certificates package",
                    family.name, family.anchors
                ),
            }),
        };
    }
    Detected::NotHere(format!(
        "none of {} exists",
        FAMILIES.iter().map(|f| f.anchors).collect::<Vec<_>>().join(", ")
    ))
}

impl AnchorDir {
    /// The store of the family called `name` (as in [`FAMILIES`]) with its refresh tool at `program`.
    #[cfg(test)]
    pub(super) fn for_family(name: &str, program: &str) -> AnchorDir {
        let family = FAMILIES.iter().find(|f| f.name == name).expect("known family");
        AnchorDir {
            family,
            refresh_program: program.into(),
        }
    }

    fn file(&self, ca: &CaCert) -> PathBuf {
        PathBuf::from(self.family.anchors).join(format!("{}.{}", ca.name(), self.family.extension))
    }

    /// The family's refresh command (`words[0]` is the program found at detection).
    fn refresh(&self, words: &[&str]) -> Cmd {
        Cmd::new(&self.refresh_program).args(&words[1..])
    }
}

impl TrustStore for AnchorDir {
    fn kind(&self) -> StoreKind {
        StoreKind::System
    }

    fn location(&self) -> String {
        format!("{} ({})", self.family.anchors, self.family.name)
    }

    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError> {
        let file = self.file(ca);
        let copied = std::fs::read_to_string(&file).is_ok_and(|pem| ca.is_in_pem(&pem));
        let refreshed = self
            .family
            .linked_as
            .is_none_or(|link| std::path::Path::new(&link.replace("{name}", &ca.name())).exists());
        Ok(match (copied, refreshed) {
            (true, true) => Presence::Ours,
            (true, false) => Presence::Incomplete(format!(
                "{} is there but `{}` has not run",
                file.display(),
                self.refresh(self.family.refresh)
            )),
            (false, _) => Presence::Absent,
        })
    }

    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            Cmd::new("install")
                .args(["-m", "0644"])
                .arg(ca.path())
                .arg(self.file(ca)),
            self.refresh(self.family.refresh),
        ])
    }

    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            Cmd::new("rm").arg("-f").arg(self.file(ca)),
            self.refresh(self.family.refresh_after_removal),
        ])
    }

    fn needs_privilege(&self) -> bool {
        !dir_is_writable(std::path::Path::new(self.family.anchors))
    }

    fn certgen_entries(&self) -> Result<Vec<Entry>, TrustError> {
        let Ok(files) = std::fs::read_dir(self.family.anchors) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for file in files.flatten().map(|e| e.path()) {
            let Some(name) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(&format!(".{}", self.family.extension)))
                .filter(|n| n.starts_with(super::ca_cert::ENTRY_PREFIX))
                .map(str::to_owned)
            else {
                continue;
            };
            let Ok(pem) = std::fs::read(&file) else {
                continue;
            };
            let remove = vec![
                Cmd::new("rm").arg("-f").arg(&file),
                self.refresh(self.family.refresh_after_removal),
            ];
            found.extend(pem::certificates_skipping_broken(&pem).map(|der| Entry {
                name: name.clone(),
                der: der.to_vec(),
                remove: remove.clone(),
            }));
        }
        Ok(found)
    }
}
