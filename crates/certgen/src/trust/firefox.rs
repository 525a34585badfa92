//! Where Firefox keeps its profiles (deb, snap, flatpak, macOS), which of them have a certificate database
//! certgen can use, and which Firefox it finds but cannot cover.

use std::path::{Path, PathBuf};

use super::command::find_program;
use super::{Host, Os};

/// A Firefox profile with a `cert9.db`, which `certutil` can change.
pub struct Profile {
    pub dir: PathBuf,
    /// Who reads it, for people: `Firefox profile abc.default-release`.
    pub label: String,
}

/// A Firefox that certgen found but whose trust it cannot change; `reason` says why and what to do.
#[derive(Debug)]
pub struct Uncovered {
    /// Where it is, for people, e.g. `~/.config/mozilla/firefox (Firefox, /usr/bin/firefox-esr)`.
    pub location: String,
    pub reason: String,
}

/// What the search found: the profiles to use and the Firefox installations or profiles left out.
#[derive(Default)]
pub struct Found {
    pub profiles: Vec<Profile>,
    pub uncovered: Vec<Uncovered>,
}

/// One way Firefox is installed, with the folders it keeps profiles in.
struct Install {
    /// `Firefox`, `Firefox (snap)`, `Firefox (flatpak)`.
    browser: &'static str,
    /// The profile folders, in the order Firefox prefers them.
    roots: Vec<PathBuf>,
    /// What shows it is installed for this user, when it is (a program, an app folder).
    evidence: Option<PathBuf>,
}

/// Every Firefox profile folder of `host`'s user, and every Firefox found without a usable profile.
pub fn find(host: &Host, home: &Path) -> Found {
    let mut found = Found::default();
    for install in installs(host, home) {
        let mut any_profile = false;
        for root in &install.roots {
            let (profiles, uncovered) = profiles_in(root, install.browser, host);
            any_profile |= !profiles.is_empty() || !uncovered.is_empty();
            found.profiles.extend(profiles);
            found.uncovered.extend(uncovered);
        }
        if let (false, Some(evidence)) = (any_profile, &install.evidence) {
            let roots: Vec<String> = install.roots.iter().map(|r| host.show(r)).collect();
            found.uncovered.push(Uncovered {
                location: format!("{} ({}, {})", roots[0], install.browser, host.show(evidence)),
                reason: format!(
                    "installed, but no profile in {} yet: start Firefox once, then run `certgen trust install` again",
                    roots.join(" or ")
                ),
            });
        }
    }
    found.profiles.sort_by(|a, b| a.dir.cmp(&b.dir));
    found.profiles.dedup_by(|a, b| a.dir == b.dir);
    found
}

/// The ways Firefox can be installed on `host`, with their profile folders. Firefox 147+ (ESR 153) makes a new
/// HOME's profiles under `$XDG_CONFIG_HOME/mozilla/firefox` and keeps using `~/.mozilla/firefox` where that
/// exists; flatpak gives the app its own HOME (`~/.var/app/ID`) and XDG config folder (`~/.var/app/ID/config`).
fn installs(host: &Host, home: &Path) -> Vec<Install> {
    let installed = |paths: &[PathBuf]| paths.iter().find(|p| p.exists()).cloned();
    match host.os {
        Os::MacOs => vec![Install {
            browser: "Firefox",
            roots: vec![home.join("Library/Application Support/Firefox")],
            evidence: installed(&[
                PathBuf::from("/Applications/Firefox.app"),
                home.join("Applications/Firefox.app"),
            ]),
        }],
        Os::Linux => {
            let config = host
                .xdg_config_home
                .clone()
                .unwrap_or_else(|| home.join(".config"));
            let flatpak = home.join(".var/app/org.mozilla.firefox");
            vec![
                Install {
                    browser: "Firefox",
                    roots: vec![config.join("mozilla/firefox"), home.join(".mozilla/firefox")],
                    evidence: find_program("firefox", &[]).or_else(|| find_program("firefox-esr", &[])),
                },
                Install {
                    browser: "Firefox (snap)",
                    roots: vec![home.join("snap/firefox/common/.mozilla/firefox")],
                    evidence: installed(&[home.join("snap/firefox"), PathBuf::from("/snap/firefox")]),
                },
                Install {
                    browser: "Firefox (flatpak)",
                    roots: vec![
                        flatpak.join("config/mozilla/firefox"),
                        flatpak.join(".mozilla/firefox"),
                    ],
                    evidence: installed(&[
                        flatpak.clone(),
                        PathBuf::from("/var/lib/flatpak/app/org.mozilla.firefox"),
                        home.join(".local/share/flatpak/app/org.mozilla.firefox"),
                    ]),
                },
            ]
        }
        Os::Windows | Os::Other => Vec::new(),
    }
}

/// The profiles under `root`: those named in `profiles.ini` plus any folder (also under `Profiles/`, as on macOS)
/// holding a certificate database. Those with `cert9.db` are usable; a listed one without it, or one with only the
/// old `cert8.db`, is reported.
fn profiles_in(root: &Path, browser: &str, host: &Host) -> (Vec<Profile>, Vec<Uncovered>) {
    let listed = profiles_ini_paths(root);
    let mut dirs = listed.clone();
    for parent in [root.to_owned(), root.join("Profiles")] {
        if let Ok(entries) = std::fs::read_dir(&parent) {
            dirs.extend(entries.flatten().map(|e| e.path()));
        }
    }
    dirs.sort();
    dirs.dedup();
    let (mut profiles, mut uncovered) = (Vec::new(), Vec::new());
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let location = format!("{} ({browser} profile {name})", host.show(&dir));
        if dir.join("cert9.db").is_file() {
            profiles.push(Profile {
                dir,
                label: format!("{browser} profile {name}"),
            });
        } else if dir.join("cert8.db").is_file() {
            uncovered.push(Uncovered {
                location,
                reason: "only the old cert8.db (Firefox before 58): open this profile in a current Firefox, which \
                         converts it to cert9.db, then run `certgen trust install` again"
                    .into(),
            });
        } else if listed.contains(&dir) {
            uncovered.push(Uncovered {
                location,
                reason: format!(
                    "no cert9.db yet (Firefox has not opened this profile): start it once with `firefox -P {name}`, \
                     then run `certgen trust install` again"
                ),
            });
        }
    }
    (profiles, uncovered)
}

/// The `Path=` of every `[Profile*]` section of `root/profiles.ini`, made absolute when `IsRelative=1` (the default).
fn profiles_ini_paths(root: &Path) -> Vec<PathBuf> {
    let Ok(ini) = std::fs::read_to_string(root.join("profiles.ini")) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut section: Option<(Option<String>, bool)> = None;
    let mut finish = |section: Option<(Option<String>, bool)>| {
        if let Some((Some(path), relative)) = section {
            paths.push(if relative {
                root.join(path)
            } else {
                PathBuf::from(path)
            });
        }
    };
    for line in ini.lines().map(str::trim) {
        if line.starts_with('[') {
            finish(section.take());
            section = line.starts_with("[Profile").then_some((None, true));
        } else if let Some((path, relative)) = section.as_mut() {
            match line.split_once('=') {
                Some(("Path", value)) => *path = Some(value.to_owned()),
                Some(("IsRelative", value)) => *relative = value != "0",
                _ => {}
            }
        }
    }
    finish(section);
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_ini_relative_and_absolute_paths() {
        let root = tempfile::tempdir().expect("temp dir");
        let root = root.path();
        std::fs::write(
            root.join("profiles.ini"),
            "[Install4F96D1932A9F858E]\nDefault=abc.default-release\n\n[Profile1]\nName=default\nIsRelative=1\n\
             Path=abc.default\n\n[Profile0]\nName=work\nIsRelative=0\nPath=/srv/ff/work\nDefault=1\n\n[General]\n\
             StartWithLastProfile=1\n",
        )
        .unwrap();
        assert_eq!(
            profiles_ini_paths(root),
            vec![root.join("abc.default"), PathBuf::from("/srv/ff/work")]
        );
    }
}
